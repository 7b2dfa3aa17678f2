package latchkeytest

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// DNS is an in-process DNS server answering TXT queries from a table the
// test fills, for SSO domain proofs: point Config.DNSResolver (or
// LATCHKEY_DNS_RESOLVER) at Addr. Unknown names answer NXDOMAIN.
type DNS struct {
	Addr string // host:port, UDP and TCP

	mu  sync.Mutex
	txt map[string][]string // fully qualified, lower case
}

// NewDNS starts a DNS server on 127.0.0.1 and stops it when the test ends.
func NewDNS(t testing.TB) *DNS {
	t.Helper()
	d := &DNS{txt: map[string][]string{}}
	// The same port on UDP and TCP: the UDP port the kernel picks may be
	// taken on TCP (by any outgoing connection), so try a few.
	var pc net.PacketConn
	var ln net.Listener
	for try := 0; ; try++ {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		if try == 20 {
			t.Fatal(err)
		}
	}
	d.Addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: d}
	tcp := &dns.Server{Listener: ln, Handler: d}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	t.Cleanup(func() {
		udp.Shutdown()
		tcp.Shutdown()
	})
	return d
}

// SetTXT publishes the TXT records of name (replacing earlier ones); no
// values removes the name.
func (d *DNS) SetTXT(name string, values ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := dns.Fqdn(strings.ToLower(name))
	if len(values) == 0 {
		delete(d.txt, key)
		return
	}
	d.txt[key] = values
}

// ServeDNS answers from the table.
func (d *DNS) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	d.mu.Lock()
	found := false
	for _, q := range req.Question {
		values, ok := d.txt[strings.ToLower(q.Name)]
		if !ok {
			continue
		}
		found = true
		if q.Qtype != dns.TypeTXT && q.Qtype != dns.TypeANY {
			continue
		}
		for _, v := range values {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: []string{v}})
		}
	}
	d.mu.Unlock()
	if !found {
		m.Rcode = dns.RcodeNameError
	}
	w.WriteMsg(m)
}
