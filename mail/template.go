package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	texttemplate "text/template"
)

// The embedded templates: for each kind, NAME.txt (the plain-text body and
// a "subject" definition) and NAME.html (the HTML body, which fills the
// "body" of layout.html). A key the template uses but the data lacks is an
// error; optional keys are read with `index . "Key"`.
//
//go:embed templates/*.txt templates/*.html
var templateFS embed.FS

// Template names and the data each one needs.
const (
	TemplateVerifyEmail   = "verify_email"   // Code; optional Expires
	TemplatePasswordReset = "password_reset" // Link; optional Expires
	TemplateInvitation    = "invitation"     // Link, OrgName, InviterName, Role; optional Expires
	// TemplateWebhookDisabled tells operators an endpoint failed for 3 days.
	TemplateWebhookDisabled = "webhook_disabled" // URL, WebhookID, Since, Error
	// TemplateMFAReset tells a user an operator reset their second factors.
	TemplateMFAReset = "mfa_reset" // optional Name
)

// ErrUnknownTemplate is returned for a template name that does not exist.
var ErrUnknownTemplate = errors.New("mail: unknown template")

type templatePair struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

var templates = mustParseTemplates()

func mustParseTemplates() map[string]templatePair {
	sub, err := fs.Sub(templateFS, "templates")
	if err != nil {
		panic(err)
	}
	names, err := fs.Glob(sub, "*.txt")
	if err != nil {
		panic(err)
	}
	pairs := make(map[string]templatePair, len(names))
	for _, file := range names {
		kind := strings.TrimSuffix(file, ".txt")
		text := texttemplate.Must(texttemplate.New(file).Option("missingkey=error").ParseFS(sub, file))
		html := htmltemplate.Must(htmltemplate.New(kind+".html").Option("missingkey=error").
			ParseFS(sub, "layout.html", kind+".html"))
		pairs[kind] = templatePair{text: text, html: html}
	}
	return pairs
}

// Render builds the message of the named template for to.
func Render(to, name string, data map[string]string) (Message, error) {
	pair, ok := templates[name]
	if !ok {
		return Message{}, fmt.Errorf("%w %q", ErrUnknownTemplate, name)
	}
	if data == nil {
		data = map[string]string{}
	}
	var subject, text, html bytes.Buffer
	if err := pair.text.ExecuteTemplate(&subject, "subject", data); err != nil {
		return Message{}, fmt.Errorf("mail: template %s subject: %w", name, err)
	}
	if err := pair.text.ExecuteTemplate(&text, name+".txt", data); err != nil {
		return Message{}, fmt.Errorf("mail: template %s text: %w", name, err)
	}
	if err := pair.html.ExecuteTemplate(&html, name+".html", data); err != nil {
		return Message{}, fmt.Errorf("mail: template %s html: %w", name, err)
	}
	return Message{
		To:      to,
		Subject: oneLine(subject.String()),
		Text:    text.String(),
		HTML:    html.String(),
	}, nil
}

// oneLine collapses all whitespace, line breaks included, to single
// spaces, so data that reaches the Subject header cannot add headers.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
