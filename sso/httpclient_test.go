package sso_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/sso"
)

func TestPublicAddr(t *testing.T) {
	for _, tt := range []struct {
		addr   string
		public bool
	}{
		{"93.184.215.14", true},
		{"8.8.8.8", true},
		{"2606:4700::1111", true},
		{"64:ff9b::808:808", true}, // NAT64 of 8.8.8.8
		{"127.0.0.1", false},
		{"127.1.2.3", false},
		{"::1", false},
		{"::ffff:127.0.0.1", false},
		{"10.0.0.1", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.1.1", false},
		{"fc00::1", false},
		{"fd00:ec2::254", false}, // AWS IPv6 instance metadata
		{"169.254.169.254", false},
		{"fe80::1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"0.1.2.3", false},
		{"100.100.100.200", false}, // CGNAT range, Alibaba Cloud metadata
		{"224.0.0.1", false},
		{"255.255.255.255", false},
		{"ff02::1", false},
		{"64:ff9b::a00:1", false}, // NAT64 of 10.0.0.1
		{"2002:7f00:1::", false},  // 6to4 of 127.0.0.1
		{"::127.0.0.1", false},
	} {
		if got := sso.PublicAddr(netip.MustParseAddr(tt.addr)); got != tt.public {
			t.Errorf("PublicAddr(%s) = %v, want %v", tt.addr, got, tt.public)
		}
	}
}

// TestHTTPClientRefusesBeforeConnecting: the guard runs on the dialed
// address, so loopback (by IP or by a name), private and link-local
// targets fail with ErrNonPublicAddress and nothing reaches the server.
func TestHTTPClientRefusesBeforeConnecting(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	port := srv.URL[len("http://127.0.0.1:"):]
	guarded := sso.NewHTTPClient(false)
	for _, u := range []string{
		srv.URL,
		"http://localhost:" + port,
		"http://[::1]:" + port,
		"http://10.0.0.1:1/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[fe80::1]:1/",
	} {
		t.Run(u, func(t *testing.T) {
			// A connection attempt to 10.0.0.1 could hang; the deadline
			// only keeps a broken guard from stalling the run.
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			resp, err := guarded.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			if !errors.Is(err, sso.ErrNonPublicAddress) {
				t.Errorf("got %v, want ErrNonPublicAddress", err)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
	resp, err := sso.NewHTTPClient(true).Get(srv.URL)
	if err != nil {
		t.Fatalf("allowing private networks: %v", err)
	}
	resp.Body.Close()
	if hits.Load() != 1 {
		t.Errorf("allowed client: %d requests reached the server, want 1", hits.Load())
	}
}

func TestHTTPClientRefusesOtherSchemes(t *testing.T) {
	srv := httptest.NewServer(http.RedirectHandler("file:///etc/passwd", http.StatusFound))
	t.Cleanup(srv.Close)
	resp, err := sso.NewHTTPClient(true).Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("followed a redirect to a file URL")
	}
}
