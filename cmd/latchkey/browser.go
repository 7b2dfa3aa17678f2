package main

import (
	"fmt"
	"io"
	"os/exec"
	"runtime"
)

// openBrowser tries to open url in the user's browser. It never fails the
// command: a machine without a desktop (no xdg-open) still has the URL
// printed above.
func openBrowser(url string, stderr io.Writer) {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "(could not open a browser: %v; open the URL yourself)\n", err)
		return
	}
	go cmd.Wait() // reap it; its exit status does not matter
}
