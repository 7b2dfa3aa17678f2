package server

import (
	"fmt"
	"strings"

	qrcode "github.com/yeqown/go-qrcode/v2"
)

// qrSVG renders text as a QR code in SVG: one path of unit squares with a
// quiet zone of four modules, scaled by the page. The library computes the
// matrix; this writer only draws it.
func qrSVG(text string) (string, error) {
	qr, err := qrcode.New(text)
	if err != nil {
		return "", err
	}
	w := &svgWriter{}
	if err := qr.Save(w); err != nil {
		return "", err
	}
	return w.out, nil
}

type svgWriter struct{ out string }

func (w *svgWriter) Write(m qrcode.Matrix) error {
	const quiet = 4
	size := m.Width() + 2*quiet
	var d strings.Builder
	m.Iterate(qrcode.IterDirection_ROW, func(x, y int, v qrcode.QRValue) {
		if v.IsSet() {
			fmt.Fprintf(&d, "M%d %dh1v1h-1z", x+quiet, y+quiet)
		}
	})
	w.out = fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img" aria-label="QR code for your authenticator app"><rect width="100%%" height="100%%" fill="#fff"/><path fill="#000" d="%s"/></svg>`, size, size, d.String())
	return nil
}

func (w *svgWriter) Close() error { return nil }
