package mailtest_test

import (
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/latchkey/latchkey/mail/mailtest"
)

// A message written by hand, in encodings go-mail does not use by default.
const raw = "From: a@example.com\r\n" +
	"To: b@example.com\r\n" +
	"Subject: =?utf-8?q?Caf=C3=A9_code?=\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=outer\r\n" +
	"\r\n" +
	"--outer\r\n" +
	"Content-Type: multipart/alternative; boundary=inner\r\n" +
	"\r\n" +
	"--inner\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"WW91ciBjb2RlIGlz\r\nIDEyMzQ1Ng==\r\n" +
	"--inner\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"<p class=3D\"code\">123456</p>\r\n" +
	"--inner--\r\n" +
	"--outer--\r\n"

func TestServerDecodesAndHandsOutInOrder(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	for range 2 {
		c, err := smtp.Dial(srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(raw)); err != nil {
			t.Fatalf("SendMail: %v", err)
		}
		_ = c.Quit()
	}
	srv.NoMessage(t, "c@example.com")
	for range 2 {
		m := srv.Next(t, "B@example.com")
		if m.Subject != "Café code" {
			t.Errorf("Subject = %q", m.Subject)
		}
		if m.Text != "Your code is 123456" {
			t.Errorf("Text = %q", m.Text)
		}
		if m.HTML != `<p class="code">123456</p>` {
			t.Errorf("HTML = %q", m.HTML)
		}
		if m.From != "a@example.com" || len(m.To) != 1 || m.To[0] != "b@example.com" {
			t.Errorf("envelope = %q -> %q", m.From, m.To)
		}
	}
	srv.NoMessage(t, "b@example.com")
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("Messages() has %d, want 2", n)
	}
}
