package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's Chromium, headless, against the shared
// test broker (main_test.go). One browser serves every test; each test
// gets a browser context of its own (its own cookies), like a separate
// person. Without Chromium they skip, saying how to run them; with CI=true
// a missing Chromium fails them.

// chrome is the one browser of the test binary, started on first use.
var chrome struct {
	once    sync.Once
	browser context.Context
	cancel  []context.CancelFunc
	dir     string // the fresh user data directory
	skip    string
	err     error
	shots   []string
}

const howToRun = "Chromium not found: install it (apt-get install -y chromium) or set FOLKEKOMMUNE_CHROMIUM to its path to run the browser tests"

func chromiumPath() string {
	if p := os.Getenv("FOLKEKOMMUNE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func startChrome() {
	path := chromiumPath()
	if path == "" {
		chrome.skip = howToRun
		return
	}
	if _, err := os.Stat(path); err != nil {
		chrome.skip = howToRun + " (" + err.Error() + ")"
		return
	}
	dir, err := os.MkdirTemp("", "web-chromium-")
	if err != nil {
		chrome.err = err
		return
	}
	chrome.dir = dir
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b, cancelBrowser := chromedp.NewContext(alloc)
	chrome.cancel = []context.CancelFunc{cancelBrowser, cancelAlloc}
	// The first action starts the browser, which lives as long as the
	// context it ran on: b, not one with a time limit.
	if err := chromedp.Do(b); err != nil {
		chrome.err = fmt.Errorf("start Chromium %s: %w", path, err)
		return
	}
	chrome.browser = b
}

// closeBrowser stops the browser after the tests and says where the
// screenshots went.
func closeBrowser() {
	for _, c := range chrome.cancel {
		c()
	}
	if chrome.dir != "" {
		for range 50 {
			if err := os.RemoveAll(chrome.dir); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if len(chrome.shots) > 0 {
		fmt.Printf("web browser tests: %d screenshots in %s\n", len(chrome.shots), artefactDir())
	}
}

// tab is a fresh browser context in the shared browser, with a time limit.
func tab(t *testing.T) context.Context {
	t.Helper()
	chrome.once.Do(startChrome)
	if chrome.skip != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(chrome.skip + " (CI=true: a skipped browser test is a failure)")
		}
		t.Skip(chrome.skip)
	}
	if chrome.err != nil {
		t.Fatal(chrome.err)
	}
	ctx, cancel := context.WithTimeout(chrome.browser, 60*time.Second)
	t.Cleanup(cancel)
	ctx, cancelTab := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelTab)
	watchConsole(t, ctx)
	return ctx
}

// watchConsole fails the test, at its end, for every error the pages wrote
// to the browser's console: a script error, a failed load, or a
// Content-Security-Policy violation (an inline script or style would be
// one).
func watchConsole(t *testing.T, ctx context.Context) {
	var mu sync.Mutex
	var problems []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || strings.Contains(m.Text, "Content Security Policy") {
				mu.Lock()
				problems = append(problems, string(m.Type)+": "+m.Text+" ("+m.URL+")")
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("browser console: %s", p)
		}
	})
}

// artefactDir is where screenshots go: $FOLKEKOMMUNE_ARTEFACTS, else
// testdata/artefacts (ignored by git).
func artefactDir() string {
	dir := os.Getenv("FOLKEKOMMUNE_ARTEFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "artefacts")
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return dir
}

// screenshot saves the whole page as name.png among the artefacts.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	dir := artefactDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	chrome.shots = append(chrome.shots, path)
	t.Logf("screenshot: %s", path)
}

// open navigates to path on the test broker.
func open(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(site.http.URL+path)); err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
}

// clickAndLoad clicks sel and waits for the page it loads.
func clickAndLoad[S chromedp.Selectable](t *testing.T, ctx context.Context, sel S) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(cdppage.LoadEventFired, nil, chromedp.Click(sel))); err != nil {
		t.Fatalf("click %v: %v", sel, err)
	}
}

// text is the text of the first element sel matches.
func text[S chromedp.Selectable](t *testing.T, ctx context.Context, sel S) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("read %v: %v", sel, err)
	}
	return s
}

// signIn signs in through the login form as role's demo user.
func signIn(t *testing.T, ctx context.Context, role string) {
	t.Helper()
	open(t, ctx, "/logg-inn")
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("token"), site.tokens[role])); err != nil {
		t.Fatalf("type the token: %v", err)
	}
	clickAndLoad(t, ctx, chromedp.CSS(`form button[type=submit]`))
	if who := text(t, ctx, chromedp.CSS(".who")); !strings.Contains(who, "(") {
		t.Fatalf("not signed in as %s: %q", role, who)
	}
}

func TestBrowserResearcherSubmitsARequestAndDownloadsTheRelease(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "researcher")
	screenshot(t, ctx, "home-researcher")

	open(t, ctx, "/foresporsler/ny")
	// Picking a dataset reloads the form with its fields (app.js).
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(cdppage.LoadEventFired, nil,
		chromedp.Evaluate[chromedp.Void](`(function(){var s=document.getElementById("dataset"); s.value="population"; s.dispatchEvent(new Event("change")); })()`))); err != nil {
		t.Fatalf("choose the dataset: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`input[name=dim][value=municipality]`)),
		chromedp.Click(chromedp.CSS(`input[name=dim][value=sex]`)),
		chromedp.SetValue(chromedp.ID("from"), "2022"),
		chromedp.SendKeys(chromedp.ID("purpose"), "Befolkning etter kommune og kjønn til FolkeKommune"),
	); err != nil {
		t.Fatalf("fill in the form: %v", err)
	}
	clickAndLoad(t, ctx, chromedp.ID("preview"))
	if got := text(t, ctx, chromedp.CSS("#decision h2")); !strings.Contains(got, "tillater") {
		t.Fatalf("the preview says %q, want the policy allowing the request", got)
	}
	// The focus moves to the decision, so a keyboard or screen-reader user
	// lands on the answer.
	if id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`)); err != nil || id != "decision" {
		t.Errorf("after the preview the focus is on %q (%v), want the decision", id, err)
	}
	screenshot(t, ctx, "request-form-preview")

	clickAndLoad(t, ctx, chromedp.ID("submit"))
	if got := text(t, ctx, chromedp.ID("request-state")); got != "utlevert" {
		t.Fatalf("the request's state is %q, want utlevert", got)
	}
	screenshot(t, ctx, "request")
	clickAndLoad(t, ctx, chromedp.ID("release-link"))
	if got := text(t, ctx, chromedp.CSS("#protected-table caption")); !strings.Contains(got, "Beskyttet tabell") {
		t.Fatalf("the release page shows no protected table: %q", got)
	}
	screenshot(t, ctx, "release")

	// Download the CSV through the browser's own download path.
	dir := t.TempDir()
	bctx := chromedp.FromContext(ctx).BrowserContextID
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: bctx,
		DownloadPath: dir, EventsEnabled: ptr(true),
	}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	progress := chromedp.BrowserEvents(ctx, cdpbrowser.DownloadProgress)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#downloads a[href$="format=csv"]`))); err != nil {
		t.Fatalf("click the CSV download: %v", err)
	}
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("wait for the download: %v", err)
		}
		if ev.State != cdpbrowser.DownloadProgressStateCompleted {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, ev.GUID))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "municipality,municipality_label,sex,sex_label,count,status") || !strings.Contains(string(b), "Bergen") {
			t.Fatalf("the downloaded CSV is not the release:\n%.300s", b)
		}
		break
	}
	open(t, ctx, "/foresporsler")
	if got := text(t, ctx, chromedp.CSS("#request-list tbody .state")); got != "utlevert" {
		t.Errorf("the newest request in the list is %q, want utlevert", got)
	}
	screenshot(t, ctx, "requests")
}

func ptr[T any](v T) *T { return &v }

func TestBrowserCoordinatorOpensAnIndicatorAndSeesTheChartAndASuppressedValue(t *testing.T) {
	// Find, over plain HTTP, an indicator page of a small municipality
	// with a withheld value; then walk there as the coordinator would.
	path, _ := suppressedIndicator(t, func() *browser { b := newBrowser(t); b.login("coordinator"); return b }())
	ctx := tab(t)
	open(t, ctx, "/logg-inn")
	screenshot(t, ctx, "login")
	signIn(t, ctx, "coordinator")
	open(t, ctx, "/indikatorer")
	// From the keyboard: the first Tab reaches the skip link, and Enter on
	// it moves the focus to the content.
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
		t.Fatal(err)
	}
	if cls, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.className`)); err != nil || cls != "skip" {
		t.Errorf("the first Tab focuses %q (%v), want the skip link", cls, err)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	if id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`)); err != nil || id != "main" {
		t.Errorf("the skip link leads to %q (%v), want main", id, err)
	}
	screenshot(t, ctx, "barometer")
	open(t, ctx, path)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("svg#trend")), chromedp.WaitVisible(chromedp.CSS("svg#compare"))); err != nil {
		t.Fatalf("the charts are not visible: %v", err)
	}
	if got := text(t, ctx, chromedp.CSS(`td.suppressed[data-status="primary"]`)); got != "skjult" {
		t.Fatalf("a suppressed value shows %q, want skjult", got)
	}
	// The trend chart draws the municipality's line and a hollow mark
	// for a suppressed period or its band; the comparison chart a bar per
	// shown area.
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg#compare rect.bar").length`))
	if err != nil || n == 0 {
		t.Fatalf("the comparison chart has %d bars (%v)", n, err)
	}
	screenshot(t, ctx, "indicator")
	// And in English.
	open(t, ctx, path+"&lang=en")
	if got := text(t, ctx, chromedp.CSS(`td.suppressed[data-status="primary"]`)); got != "suppressed" {
		t.Fatalf("in English a suppressed value shows %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "indicator-phone-en")
}

func TestBrowserAnonymousVisitorOpensTheBarometerAndAnIndicator(t *testing.T) {
	// The same small-municipality page with a withheld value, found over
	// plain HTTP without signing in.
	path, _ := suppressedIndicator(t, newBrowser(t))
	ctx := tab(t) // a fresh browser context: no session, no sign-in
	open(t, ctx, "/")
	clickAndLoad(t, ctx, chromedp.CSS(`nav a[href="/indikatorer"]`))
	if got := text(t, ctx, chromedp.CSS("h1")); !strings.Contains(got, "Folkehelsebarometer for Bergen") {
		t.Fatalf("the anonymous barometer's heading is %q", got)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".who").length`)); err != nil || n != 0 {
		t.Errorf("the anonymous visitor shows as signed in (%d, %v)", n, err)
	}
	screenshot(t, ctx, "barometer-public")
	clickAndLoad(t, ctx, chromedp.CSS(`table a[href^="/indikatorer/"]`))
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("svg#trend")), chromedp.WaitVisible(chromedp.CSS("svg#compare"))); err != nil {
		t.Fatalf("the anonymous indicator page shows no charts: %v", err)
	}
	open(t, ctx, path)
	if got := text(t, ctx, chromedp.CSS(`td.suppressed[data-status="primary"]`)); got != "skjult" {
		t.Fatalf("for an anonymous visitor a suppressed value shows %q, want skjult", got)
	}
	screenshot(t, ctx, "indicator-public")
	// Everything else still asks for a sign-in.
	open(t, ctx, "/foresporsler/ny")
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.Contains(loc, "/logg-inn?neste=") {
		t.Errorf("anonymous /foresporsler/ny ends at %q (%v), want the login page", loc, err)
	}
}
