package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers"
	"github.com/cityeye/cityeye/workers/plan"
)

// raise stores an alert as a worker does (snapshot with the box drawn).
func (f *fixture) raise(t *testing.T, st store.Stream, dept, kind string) {
	t.Helper()
	mat := gocv.NewMatWithSize(240, 320, gocv.MatTypeCV8UC3)
	defer mat.Close()
	rec := workers.NewRecorder(f.db, f.objs, nil)
	a := algorithms.Alert{Kind: kind, Level: 3, Time: time.Now(), Frame: mat.Clone(),
		Boxes: []algorithms.Box{{Label: "fire", Score: 0.9, Box: decode.Box{X1: 40, Y1: 40, X2: 120, Y2: 100}}}}
	defer a.Frame.Close()
	tp := plan.TaskPlan{Task: store.Task{ID: "task-" + dept, DeptID: dept}}
	if err := rec.SaveAlert(context.Background(), st, tp, a); err != nil {
		t.Fatal(err)
	}
}

type sseEvent struct{ name, data string }

// feed opens the live alert feed as user (query: its filters) and delivers its
// events until ctx ends.
func (f *fixture) feed(ctx context.Context, user, query string) <-chan sseEvent {
	f.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.url+"/api/v1/alerts/stream?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+f.tok[user])
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		f.t.Fatalf("stream: %v %v", err, resp)
	}
	events := make(chan sseEvent, 10)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				ev.name = v
			} else if v, ok := strings.CutPrefix(line, "data: "); ok {
				ev.data = v
			} else if line == "" && ev.data != "" {
				events <- ev
				ev = sseEvent{}
			}
		}
	}()
	return events
}

// The Minqing map's feeds: a webhook subscription for alert kinds in an area
// receives them with location, level and snapshot URL; the SSE stream shows them
// live; neither shows another department's alerts or other kinds/areas.
func TestAlertWebhookAndStream(t *testing.T) {
	f := newFixture(t)
	for _, c := range cameras[:2] {
		f.must("POST", "/api/v1/streams", "police_op", c.body(), 201)
	}
	st, _ := f.db.GetStream(context.Background(), cameras[1].id)
	var mu sync.Mutex
	var got []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Alerts []map[string]any }
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		got = append(got, body.Alerts...)
		mu.Unlock()
	}))
	defer hook.Close()
	f.must("POST", "/api/v1/alert-subscriptions", "police_op", `{"kinds":["fire.fire"],"area":"441502","receive_url":"`+hook.URL+`","report_interval_s":1}`, 201)
	f.must("POST", "/api/v1/alert-subscriptions", "police_op", `{"receive_url":"ftp://x"}`, 400)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.srv.RunNotifier(ctx, 100*time.Millisecond)

	// the live stream, opened before the alerts
	events := f.feed(ctx, "police_op", "kinds=fire.fire")
	time.Sleep(400 * time.Millisecond)
	f.raise(t, st, "police", "fire.fire")
	f.raise(t, st, "police", "fire.smoke") // another kind: not subscribed
	f.raise(t, st, "market", "fire.fire")  // another department's task
	select {
	case ev := <-events:
		var a map[string]any
		json.Unmarshal([]byte(ev.data), &a)
		if ev.name != "alert" || a["kind"] != "fire.fire" || a["longitude"] != 115.3 || a["level"] != 3.0 || !strings.HasPrefix(a["image"].(string), "alerts/") {
			t.Errorf("stream event: %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no alert on the stream")
	}
	select {
	case ev := <-events:
		t.Errorf("unexpected second event: %+v", ev)
	case <-time.After(700 * time.Millisecond):
	}
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0]["kind"] != "fire.fire" || got[0]["latitude"] != 22.7 || got[0]["device_id"] != cameras[1].id {
		t.Fatalf("webhook got %v", got)
	}
	// the alert image is served watermarked, with the box drawn in red
	key := got[0]["image"].(string)
	if code, _ := f.do("GET", "/api/v1/objects/"+key, "police_op", ""); code != 200 {
		t.Errorf("alert snapshot: %d", code)
	}
	if code, _ := f.do("GET", "/api/v1/objects/"+key, "market_analyst", ""); code != 404 {
		t.Errorf("another department's alert snapshot: %d", code)
	}
	raw, _ := f.objs.Get(context.Background(), key)
	m, _ := gocv.IMDecode(raw, gocv.IMReadColor)
	defer m.Close()
	if px := m.GetVecbAt(40, 80); px[2] < 200 || px[0] > 80 { // BGR: the top edge of the box is red
		t.Errorf("box edge pixel %v is not red", px)
	}
}
