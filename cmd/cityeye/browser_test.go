package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cityeye/cityeye/testdata"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browser is headless Chromium driven over the DevTools protocol: the console's
// end-to-end tests use a real browser against a real `cityeye serve`.
type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string // where screenshots go: CITYEYE_CONSOLE_SHOTS (docs/console), else a temp dir
}

// newBrowser starts Chromium (testdata.Tool: make setup installs Debian's chromium
// and make test fails without it).
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path := testdata.Tool(t, "chromium", "chromium-browser", "google-chrome")
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1366, 768), chromedp.Flag("lang", "zh-CN"))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { cancelB(); cancelA() })
	shots := os.Getenv("CITYEYE_CONSOLE_SHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ctx: ctx, base: base, shots: shots}
}

// tab is one browser tab (its own sessionStorage, so its own login).
type tab struct {
	b      *browser
	ctx    context.Context
	mu     sync.Mutex
	errors []string // uncaught exceptions in the page
}

func (tb *tab) jsErrors() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return slices.Clone(tb.errors)
}

// open opens a tab on the console at 1366×768 and logs in with token through the
// login form (no token: stays on the login page).
func (b *browser) open(token string) *tab {
	b.t.Helper()
	tb := &tab{b: b}
	ctx, _ := chromedp.NewContext(b.ctx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			msg := e.ExceptionDetails.Text
			if x := e.ExceptionDetails.Exception; x != nil && x.Description != "" {
				msg += " " + x.Description
			}
			tb.mu.Lock()
			tb.errors = append(tb.errors, msg)
			tb.mu.Unlock()
		}
	}))
	if err := chromedp.Do(ctx); err != nil { // opens the tab: it lives as long as the context of this first call
		b.t.Fatalf("open a tab: %v", err)
	}
	tb.ctx = ctx
	b.t.Cleanup(func() { // a console that throws is broken even if the test got what it wanted
		if errs := tb.jsErrors(); len(errs) > 0 {
			b.t.Errorf("uncaught errors in the page: %v", errs)
		}
	})
	zh := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error { // the browser's own widgets in Chinese, times in China
		if _, err := cdp.Call(ctx, t, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: "zh_CN"}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Shanghai"})
		return err
	})
	tb.do(chromedp.EmulateViewport(1366, 768), zh, chromedp.Navigate(b.base+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=token]`)))
	if token != "" {
		tb.do(chromedp.SendKeys(chromedp.CSS(`[data-testid=token]`), token), clickQ(`[data-testid=login]`))
		tb.wait(`document.querySelector('[data-testid=who]')`, 10*time.Second, "logged in")
	}
	return tb
}

func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.b.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.b.t.Fatalf("browser: %v\npage errors: %v\npage: %.2000s", err, tb.jsErrors(), tb.text())
	}
}

// eval runs JavaScript in the page and decodes its result into out.
func (tb *tab) eval(js string, out any) {
	tb.b.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](js))
	if err == nil {
		err = json.Unmarshal(raw, out)
	}
	if err != nil {
		tb.b.t.Fatalf("eval %s: %v", js, err)
	}
}

// wait polls a JavaScript condition until it is truthy.
func (tb *tab) wait(cond string, timeout time.Duration, what string) {
	tb.b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+cond+")"))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			tb.b.t.Fatalf("waited %v for %s (%v)\npage errors: %v\npage: %.2000s", timeout, what, err, tb.jsErrors(), tb.text())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// goTo follows a console route (#/cameras …) and waits for selector.
func (tb *tab) goTo(route, selector string) {
	tb.b.t.Helper()
	tb.eval(fmt.Sprintf(`(() => { location.hash = %s; return true })()`, jsString("#/"+route)), new(bool)) // a same-document navigation: no load event to wait for
	tb.wait(fmt.Sprintf(`document.querySelector(%q)`, selector), 20*time.Second, route+" showing "+selector)
}

// text is everything the page shows.
func (tb *tab) text() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
	return s
}

// testids lists the data-testid values of the elements matching selector.
func (tb *tab) testids(selector string) []string {
	var out []string
	tb.eval(fmt.Sprintf(`[...document.querySelectorAll(%q)].map(e => e.dataset.testid)`, selector), &out)
	return out
}

// untranslated lists the texts of the elements matching selector that are written in
// the other language: in the Chinese UI (zh) Latin letters without any Chinese
// character, in the English UI Chinese characters.
func (tb *tab) untranslated(selector string, zh bool) []string {
	re := `/[\u4e00-\u9fff]/`
	if zh {
		re = `/^[^\u4e00-\u9fff]*[A-Za-z][^\u4e00-\u9fff]*$/`
	}
	var out []string
	tb.eval(fmt.Sprintf(`(() => { const all = [...document.querySelectorAll(%q)].map(e => e.textContent.trim());
		return all.length ? all.filter(s => %s.test(s)) : ['(nothing matches the selector)'] })()`, selector, re), &out)
	return out
}

// shot saves a 1366×768 screenshot of what the tab shows now.
func (tb *tab) shot(name string) {
	tb.b.t.Helper()
	time.Sleep(300 * time.Millisecond) // let images decode and transitions finish
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	// a tab in the background paints nothing: bring it to the front first
	front := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.BringToFront, cdp.Empty{})
		return err
	})
	if err := chromedp.Do(ctx, front); err != nil {
		tb.b.t.Fatalf("screenshot %s: bring to front: %v", name, err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(tb.b.shots, name+".png"), png, 0o644); err != nil {
		tb.b.t.Fatal(err)
	}
}

// clickCanvas clicks at fractions (x, y) of an element's box.
func (tb *tab) clickCanvas(selector string, pts ...[2]float64) {
	tb.b.t.Helper()
	var r struct{ X, Y, W, H float64 }
	tb.eval(fmt.Sprintf(`(() => { const b = document.querySelector(%q).getBoundingClientRect(); return {X: b.left, Y: b.top, W: b.width, H: b.height}; })()`, selector), &r)
	for _, p := range pts {
		tb.do(chromedp.MouseClickXY(r.X+p[0]*r.W, r.Y+p[1]*r.H))
	}
}

// setFile points a file input at a file on disk.
func (tb *tab) setFile(selector, path string) {
	tb.b.t.Helper()
	tb.do(chromedp.SetUploadFiles(chromedp.CSS(selector), []string{path}))
}

func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }

// clickQ clicks the first element matching a CSS selector.
func clickQ(selector string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(selector))
}
