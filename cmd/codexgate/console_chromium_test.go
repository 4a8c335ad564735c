package main

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/console"
)

// chromium finds Debian's chromium (scripts/tools.sh installs it); without
// it the test is skipped, or fails with CI=true.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	missingClient(t, "chromium not installed: run `make tools`")
	return ""
}

// TestConsole_Chromium opens the console URL `make dev` prints (demo mode:
// two simulated accounts) in headless Chromium after three requests with
// the printed curl line, and checks that the page renders both accounts
// with their quota windows and the key's usage, that the admin key has left
// the address bar, and that the page fits a phone's width.
// CODEXGATE_CONSOLE_SCREENSHOT=docs/console.png (a path from the repository
// root) also saves screenshots: that one, and docs/console-phone.png.
func TestConsole_Chromium(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	browser := chromium(t)
	d := startDev(t, nil)
	var consoleURL string
	for _, line := range strings.Split(d.out.String(), "\n") {
		if strings.Contains(line, "/status#key=cgk_") {
			consoleURL = strings.TrimSpace(line)
		}
	}
	if !strings.HasPrefix(consoleURL, "http://"+d.addr+"/status#key=") {
		t.Fatalf("dev.sh printed no console URL:\n%s", d.out.String())
	}
	adminKey := strings.TrimPrefix(consoleURL, "http://"+d.addr+"/status#key=")
	clientKey := regexp.MustCompile(`Bearer (cgk_[A-Za-z0-9_-]+)`).FindStringSubmatch(d.curl)
	if clientKey == nil {
		t.Fatalf("no key in the printed curl line %q", d.curl)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for range 3 { // usage to show: a few requests, as printed
		if out, err := exec.CommandContext(ctx, "bash", "-c", d.curl).CombinedOutput(); err != nil {
			t.Fatalf("curl: %v\n%s", err, out)
		}
	}
	// The quota poll (at serve's start) and the usage flush (every second)
	// have written by the time the status shows them.
	waitStatus(t, "http://"+d.addr, adminKey, func(st console.Status) bool {
		ok := len(st.Accounts) == 2 && len(st.Keys) == 1 && st.Keys[0].Today.Requests == 3
		for _, a := range st.Accounts {
			ok = ok && a.FiveHour != nil && a.Weekly != nil
		}
		return ok
	})

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox, // root in CI; the page is our own
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("user-data-dir", t.TempDir()),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	if err := chromedp.Do(bctx,
		chromedp.Navigate(consoleURL),
		chromedp.WaitVisible(chromedp.CSS(`body[data-loaded] tr[data-account="demo2"] .winweek .bar`)),
	); err != nil {
		t.Fatalf("chromium: %v\ndev.sh stderr:\n%s", err, d.logs)
	}
	href := browserRun(t, bctx, chromedp.Location())
	accounts := browserRun(t, bctx, chromedp.Text(chromedp.CSS(`#accounts`)))
	keys := browserRun(t, bctx, chromedp.Text(chromedp.CSS(`#keys`)))
	windows := browserRun(t, bctx, chromedp.Evaluate[int](`document.querySelectorAll("#accounts td.win5h .bar, #accounts td.winweek .bar").length`))
	if strings.Contains(href, "key=") || strings.Contains(href, "#") {
		t.Errorf("the admin key is still in the address bar: %s", href)
	}
	for _, want := range []string{"demo1", "demo2", "% used", "resets in"} {
		if !strings.Contains(accounts, want) {
			t.Errorf("accounts section lacks %q:\n%s", want, accounts)
		}
	}
	if windows != 4 {
		t.Errorf("%d quota bars, want 4 (two windows of two accounts)", windows)
	}
	if !strings.Contains(keys, "dev-") || !strings.Contains(keys, "3 req") {
		t.Errorf("usage section lacks the demo key's 3 requests:\n%s", keys)
	}

	if out := os.Getenv("CODEXGATE_CONSOLE_SCREENSHOT"); out != "" {
		screenshot(t, bctx, out)
	}

	// Forget the key: the page asks for one; a client key is refused with
	// the server's reason; the admin key, typed in, shows the status again.
	if err := chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(`#forget`)),
		chromedp.WaitVisible(chromedp.CSS(`#login`)),
		chromedp.SendKeys(chromedp.CSS(`#key`), clientKey[1]),
		chromedp.Click(chromedp.CSS(`#keyform button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#loginerr`)),
	); err != nil {
		t.Fatalf("chromium, the key form: %v", err)
	}
	if msg := browserRun(t, bctx, chromedp.Text(chromedp.CSS(`#loginerr`))); !strings.Contains(msg, "admin key") {
		t.Errorf("a client key in the form: message %q", msg)
	}
	if err := chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.CSS(`#key`), adminKey),
		chromedp.Click(chromedp.CSS(`#keyform button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-account="demo1"] .win5h .bar`)),
	); err != nil {
		t.Fatalf("chromium, the admin key typed in: %v", err)
	}

	// On a phone: the tables become one card per row, nothing scrolls
	// sideways.
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	if fits := browserRun(t, bctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`)); !fits {
		t.Error("the page scrolls sideways on a 390 px wide phone")
	}
	if head := browserRun(t, bctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("#accounts thead")).display`)); head != "none" {
		t.Errorf("on a phone the accounts table keeps its header row (display %q)", head)
	}
	if out := os.Getenv("CODEXGATE_CONSOLE_SCREENSHOT"); out != "" {
		screenshot(t, bctx, strings.TrimSuffix(out, ".png")+"-phone.png")
	}
	d.interrupt()
}

// browserRun runs one action in the browser and returns its result.
func browserRun[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return v
}

// screenshot saves the whole page as a PNG at out (relative to the
// repository root).
func screenshot(t *testing.T, ctx context.Context, out string) {
	t.Helper()
	testsupport.WriteRepoFile(t, out, browserRun(t, ctx, chromedp.FullScreenshot(100)))
}
