package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stratolab/stratolab/internal/controlpage/demo"
)

func TestControlServeWithoutDemoIsRefused(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"control", "serve"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "serve needs --demo") {
		t.Fatalf("code %d, stderr %q", code, errb.String())
	}
}

func TestControlServeListensOnLocalhostByDefault(t *testing.T) {
	if f := controlServeCmd.Flags().Lookup("addr"); f == nil || !strings.HasPrefix(f.DefValue, "127.0.0.1:") {
		t.Fatalf("--addr default %v; want 127.0.0.1:<port>", f)
	}
}

// TestControlServeServesTheDemoPageUntilCancelled: serve answers with the page and its headers, and
// returns when its context ends.
func TestControlServeServesTheDemoPageUntilCancelled(t *testing.T) {
	h, _, err := demo.Handler(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	urls := make(chan string, 1)
	go func() { done <- serve(ctx, ln, h, func(u string) { urls <- u }) }()
	resp, err := http.Get(<-urls + "config.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"demo":true`) || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("config.json: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after cancel")
	}
}
