package main

import (
	"bufio"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/cityeye/cityeye/testdata/testkit"
)

// The console's acceptance (issue 18): a new user runs the demo, opens the URL it
// prints, logs in with the token it prints and sees the demo's cameras, tasks,
// captures and alerts, with no other instructions.
func TestDemoConsoleAsNewUser(t *testing.T) {
	cmd := exec.Command(binary, "demo", "--duration", "120s", "--listen", testkit.FreeAddr(), "--data", t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	printed := regexp.MustCompile(`console: open (\S+)/ in a browser and log in with the token (\S+)`)
	sc := bufio.NewScanner(out)
	var url, token string
	for url == "" && sc.Scan() {
		if m := printed.FindStringSubmatch(sc.Text()); m != nil {
			url, token = m[1], m[2]
		}
	}
	if url == "" {
		t.Fatal("the demo printed no console URL and token")
	}
	go func() {
		for sc.Scan() { // keep the demo's output flowing
		}
	}()
	tb := newBrowser(t, url).open(token)
	tb.goTo("cameras", `[data-testid=cameras]`)
	tb.wait(`['演示 街景', '演示 人像', '演示 林区山坡'].every(n => document.body.innerText.includes(n))`, 10*time.Second, "the demo's three cameras")
	tb.goTo("tasks", `[data-testid=tasks]`)
	tb.wait(`document.querySelectorAll('[data-testid=tasks] tbody tr').length === 3 && ['人车抓拍', '人脸抓拍', '林火烟火识别'].every(n => document.body.innerText.includes(n))`,
		10*time.Second, "the demo's three tasks, named in Chinese")
	tb.goTo("captures", `[data-testid=search]`)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(2 * time.Second) { // the user searches again until the first captures are in
		var n int
		tb.eval(`document.querySelectorAll('[data-testid=capture] img[src^="blob:"]').length`, &n)
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no captures with thumbnails after a minute:\n%s", tb.text())
		}
		tb.do(clickQ(`[data-testid=search]`))
	}
	tb.goTo("map", `[data-testid=live].on`)
	tb.wait(`document.querySelector('[data-testid=alert-marker]')`, 90*time.Second, "the flame camera's alert on the map")
}
