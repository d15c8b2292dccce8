package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/testdata/testkit"
)

// Gap 3 of the HA work: the console's map resumes its alert feed with
// Last-Event-ID when the connection drops. The browser reaches the server through a
// loopback proxy that drops every connection and hangs new ones for 3 s; alerts
// raised before, during and after the cut (written to the database as a worker
// does) each show on the map exactly once.
func TestConsoleMapResumesAlertFeed(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	addr := strings.TrimPrefix(s.url, "http://")
	proxy := testkit.NewProxy(t, addr)
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(data, "cityeye.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	raise := func(k int) {
		for range k {
			a := &store.Alert{ID: "map-alert-" + strconv.Itoa(n), Kind: "fire.fire", Level: 3, TaskID: "gen", DeviceID: "44150200001310000009",
				DeptID: "platform", Division: "441502", Longitude: 115.37 + float64(n)/1000, Latitude: 22.78, Time: time.Now(),
				Image: "alerts/none.jpg", Boxes: json.RawMessage(`[]`), Details: json.RawMessage(`{}`)}
			// this test is a second process writing the server's SQLite file, which
			// OpenSQLite assumes nobody does: a write that meets the server's own
			// transaction gets SQLITE_BUSY at once, so it waits and tries again
			err := db.SaveAlert(ctx, a)
			for try := 0; err != nil && strings.Contains(err.Error(), "SQLITE_BUSY") && try < 100; try++ {
				time.Sleep(20 * time.Millisecond)
				err = db.SaveAlert(ctx, a)
			}
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	raise(2) // listed when the map opens
	b := newBrowser(t, "http://"+proxy.Addr)
	tab := b.open(s.token)
	tab.goTo("map", `[data-testid=live].on`)
	shown := func() map[string]int {
		var ids []string
		tab.eval(`[...document.querySelectorAll('[data-testid=alert-marker]')].map(e => e.dataset.id)`, &ids)
		m := map[string]int{}
		for _, id := range ids {
			m[id]++
		}
		return m
	}
	waitAll := func(what string) {
		t.Helper()
		testkit.WaitFor(t, 20*time.Second, what, func() bool { return len(shown()) == n })
	}
	raise(3)
	waitAll("the live alerts on the map")
	proxy.Cut()
	tab.wait(`!document.querySelector('[data-testid=live].on')`, 5*time.Second, "the map saying it is disconnected")
	raise(4) // while the map is away
	time.Sleep(3 * time.Second)
	proxy.Restore()
	tab.wait(`document.querySelector('[data-testid=live].on')`, 15*time.Second, "the map connected again")
	raise(2)
	waitAll("every alert on the map after the reconnection")
	time.Sleep(1500 * time.Millisecond) // anything sent twice would be shown by now
	got := shown()
	for i := range n {
		if id := "map-alert-" + strconv.Itoa(i); got[id] != 1 {
			t.Errorf("alert %s shown %d times, want once", id, got[id])
		}
	}
	if len(got) != n {
		t.Errorf("%d alerts shown, want %d: %v", len(got), n, got)
	}
}
