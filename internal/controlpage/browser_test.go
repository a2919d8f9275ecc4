package controlpage_test

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stratolab/stratolab/internal/controlpage/demo"
)

// chromiumPath finds a Chromium or Chrome binary: $CHROMIUM, then Debian's chromium and the usual names.
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser starts a headless Chromium with a phone-sized or desktop window and returns its context.
func browser(t *testing.T, width, height int) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("no Chromium binary found (install Debian's chromium: apt-get install chromium, or set $CHROMIUM); the browser test needs one")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox refuses to start
		chromedp.WindowSize(width, height),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	// chromedp logs DOM events it does not model (the dialog's top layer): noise, not failures.
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(func(format string, args ...any) {
		if !strings.HasPrefix(format, "unhandled") {
			t.Logf(format, args...)
		}
	}))
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

func demoLogin(url, user string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.Navigate(url),
		chromedp.WaitVisible("#demo-user", chromedp.ByID),
		chromedp.SetValue("#demo-user", user, chromedp.ByID),
		chromedp.Click("#demo-login", chromedp.ByID),
		chromedp.WaitVisible("#environments section.env", chromedp.ByQuery),
	}
}

// stageStatuses reads the status badge of each of staging's stages, and whether its start button is
// disabled.
const stageStatuses = `(() => {
  const env = document.getElementById("env-staging");
  const out = {};
  for (const s of env.querySelectorAll(".stage")) {
    const b = s.querySelector(".stage-status");
    out[s.dataset.stage] = b ? b.textContent : "";
  }
  const start = env.querySelector("button.start");
  out["start-disabled"] = start ? String(start.disabled) : "absent";
  return out;
})()`

// TestBrowserDemoStartTurnsStagesReadyOneByOne drives the demo in a real headless Chromium: alice logs
// in, sees staging's stages, presses Start, confirms in the page's dialog, and watches directory, data
// and app turn ready in that order while the buttons stay disabled; walter, who may only watch, sees
// the environments without any button.
func TestBrowserDemoStartTurnsStagesReadyOneByOne(t *testing.T) {
	ctx := browser(t, 1000, 1100)
	h, _, err := demo.Handler(2500 * time.Millisecond) // a stage-ready event every 5 s at least; the page refreshes every 3 s
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	var stages []string
	var startDisabled bool
	if err := chromedp.Run(ctx,
		demoLogin(srv.URL+"/", "alice"),
		chromedp.Evaluate(`[...document.querySelectorAll("#env-staging .stage")].map(s => s.dataset.stage)`, &stages),
		chromedp.Evaluate(`document.querySelector("#env-staging button.start").disabled`, &startDisabled),
	); err != nil {
		t.Fatal(err)
	}
	if strings.Join(stages, ",") != "directory,data,app" || startDisabled {
		t.Fatalf("before the run: stages %v (want directory,data,app), start disabled %v (want false)", stages, startDisabled)
	}
	var dialogOpen bool
	if err := chromedp.Run(ctx,
		chromedp.Click("#env-staging button.start", chromedp.ByQuery),
		chromedp.WaitVisible("#confirm-ok", chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("confirm").open`, &dialogOpen),
	); err != nil || !dialogOpen {
		t.Fatalf("pressing Start does not open the confirmation (open %v): %v", dialogOpen, err)
	}
	if err := chromedp.Run(ctx, chromedp.Click("#confirm-ok", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}

	// Poll the page (it refreshes itself every 3 s) and record the order in which stages turn ready.
	var readyOrder []string
	seen := map[string]bool{}
	var shot []byte
	deadline := time.Now().Add(40 * time.Second)
	for len(readyOrder) < 3 && time.Now().Before(deadline) {
		var st map[string]string
		if err := chromedp.Run(ctx, chromedp.Evaluate(stageStatuses, &st)); err != nil {
			t.Fatal(err)
		}
		newly := 0
		for _, name := range []string{"directory", "data", "app"} {
			if st[name] == "ready" && !seen[name] {
				seen[name] = true
				readyOrder = append(readyOrder, name)
				newly++
			}
		}
		if newly > 1 && len(readyOrder) < 3 {
			t.Errorf("stages %v turned ready in the same refresh; want one by one", readyOrder[len(readyOrder)-newly:])
		}
		if len(readyOrder) < 3 && len(readyOrder) > 0 && st["start-disabled"] != "true" {
			t.Errorf("while the run goes (%v), start disabled = %s; want true", st, st["start-disabled"])
		}
		if len(readyOrder) == 1 && shot == nil {
			if err := chromedp.Run(ctx, chromedp.FullScreenshot(&shot, 100)); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	if strings.Join(readyOrder, ",") != "directory,data,app" {
		t.Fatalf("stages turned ready in the order %v; want directory,data,app", readyOrder)
	}
	var after map[string]string
	if err := chromedp.Run(ctx,
		chromedp.Sleep(3500*time.Millisecond), // one more refresh after the run ended
		chromedp.Evaluate(stageStatuses, &after)); err != nil {
		t.Fatal(err)
	}
	if after["start-disabled"] != "false" {
		t.Errorf("after the run, start disabled = %s; want false", after["start-disabled"])
	}
	saveScreenshot(t, "control-page-running.png", shot)

	// walter only watches: environments shown, no button anywhere.
	wctx, cancel := chromedp.NewContext(ctx)
	defer cancel()
	var buttons, watchOnly int
	var watcherShot []byte
	if err := chromedp.Run(wctx,
		demoLogin(srv.URL+"/", "walter"),
		chromedp.WaitVisible("#env-staging .stage", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("button.start, button.stop").length`, &buttons),
		chromedp.Evaluate(`document.querySelectorAll(".watch-only").length`, &watchOnly),
		chromedp.FullScreenshot(&watcherShot, 100),
	); err != nil {
		t.Fatal(err)
	}
	if buttons != 0 || watchOnly != 2 {
		t.Errorf("the watcher sees %d start/stop buttons and %d 'watching only' marks; want 0 and 2", buttons, watchOnly)
	}
	saveScreenshot(t, "control-page-watcher.png", watcherShot)
	if os.Getenv("UPDATE_SCREENSHOT") != "" {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "control-page.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func saveScreenshot(t *testing.T, name string, png []byte) {
	t.Helper()
	p := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}
