package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cityeye/cityeye/gat1400"
)

// receiver is a subscriber's HTTP endpoint that can be taken down.
type receiver struct {
	down  atomic.Bool
	mu    sync.Mutex
	byID  map[string]int            // NotificationID → deliveries accepted
	infos map[string]int            // record ID → times received
	ops   map[string][]int          // record ID → ExecuteOperation of each receipt
	faces map[string][]gat1400.Face // FaceID → each version received
	*httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{byID: map[string]int{}, infos: map[string]int{}, ops: map[string][]int{}, faces: map[string][]gat1400.Face{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		var env struct {
			SubscribeNotificationListObject struct {
				SubscribeNotificationObject []gat1400.SubscribeNotification
			}
		}
		if err := json.NewDecoder(req.Body).Decode(&env); err != nil || req.Header.Get("User-Identify") == "" {
			http.Error(w, "bad notification", 400)
			return
		}
		r.mu.Lock()
		for _, n := range env.SubscribeNotificationListObject.SubscribeNotificationObject {
			r.byID[n.NotificationID]++
			for _, id := range strings.Split(n.InfoIDs, ",") {
				r.infos[id]++
				r.ops[id] = append(r.ops[id], int(n.ExecuteOperation))
			}
			if n.FaceObjectList != nil {
				for _, fc := range n.FaceObjectList.FaceObject {
					r.faces[fc.FaceID] = append(r.faces[fc.FaceID], fc)
				}
			}
		}
		r.mu.Unlock()
		// answer as platform A does: StatusCode as a string
		w.Write([]byte(`{"ResponseStatusListObject":{"ResponseStatusObject":[{"RequestURL":"/VIID/SubscribeNotifications","StatusCode":"0","StatusString":"OK"}]}}`))
	}))
	t.Cleanup(r.Close)
	return r
}

// A subscriber that is down for a while gets every notification once it is back:
// each NotificationID accepted exactly once, each record in exactly one of them.
// A subscriber that never comes back ends in the dead-letter view, and a retry
// re-queues it.
func TestSubscriptionDeliveredExactlyOnceAfterOutage(t *testing.T) {
	f := newFixture(t)
	f.srv.MaxDeliveryAttempts = 1000
	v := f.viidPeer(t)
	v.register("s3cret-pass", false)
	rcv := newReceiver(t)
	rcv.down.Store(true)
	const dev = "44150200001190000007"
	subID := gat1400.BusinessID("441502000000", gat1400.BusinessSubscribe, time.Now().In(gat1400.Location), 1)
	sub := map[string]any{"SubscribeListObject": map[string]any{"SubscribeObject": []any{map[string]any{
		"SubscribeID": subID, "Title": "faces at the checkpoint", "SubscribeDetail": "12", "ResourceURI": dev,
		"ReceiveAddr": rcv.URL + "/VIID/SubscribeNotifications", "ReportInterval": 1, "OperateType": 0}}}}
	if code, out := v.do("POST", "/VIID/Subscribes", sub); code != 200 || statuses(t, out)[0]["StatusCode"] != 0.0 {
		t.Fatalf("subscribe: %d %v", code, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := f.srv.RunNotifier(ctx, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	var want []string
	shot := time.Date(2026, 11, 22, 9, 0, 0, 0, gat1400.Location)
	for batch := range 3 { // three pushes while the subscriber is down
		var faces []any
		for i := range 2 {
			fc := viidFace(t, dev, shot.Add(time.Duration(batch*2+i)*time.Minute), batch*2+i+1)
			faces = append(faces, fc)
			want = append(want, fc.FaceID)
		}
		v.do("POST", "/VIID/Faces", map[string]any{"FaceListObject": map[string]any{"FaceObject": faces}})
		time.Sleep(700 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond)
	if n := len(f.must("GET", "/api/v1/notifications?state=pending", "market_op", "", 200)["notifications"].([]any)); n == 0 {
		t.Fatalf("no notification pending while the subscriber is down")
	}
	rcv.down.Store(false)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		rcv.mu.Lock()
		got := len(rcv.infos)
		rcv.mu.Unlock()
		if got >= len(want) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // a duplicate would show up now
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for id, n := range rcv.byID {
		if n != 1 {
			t.Errorf("notification %s accepted %d times", id, n)
		}
	}
	for _, id := range want {
		if rcv.infos[id] != 1 {
			t.Errorf("record %s delivered %d times", id, rcv.infos[id])
		}
	}
	ns := f.must("GET", "/api/v1/notifications", "market_op", "", 200)["notifications"].([]any)
	attempts := 0
	for _, x := range ns {
		n := x.(map[string]any)
		attempts += int(n["attempts"].(float64))
		if n["state"] != "delivered" {
			t.Errorf("notification %v is %v", n["id"], n["state"])
		}
	}
	t.Logf("%d records in %d notifications, %d delivery attempts across the outage", len(want), len(rcv.byID), attempts)
	if attempts <= len(ns) {
		t.Errorf("no retries happened: %d attempts for %d notifications", attempts, len(ns))
	}
	// every attempt to push data out is in the audit trail (issue 14 item 8)
	pushes := f.auditEntries("limit=1000&action=subscription.push&target=" + subID)
	if len(pushes) != attempts || pushes[0]["department"] != "market" || !strings.Contains(fmt.Sprint(pushes[0]["detail"]), rcv.URL) {
		t.Errorf("%d pushes in the audit trail for %d delivery attempts: %v", len(pushes), attempts, pushes)
	}
}

func TestDeadLetterAndRetry(t *testing.T) {
	f := newFixture(t)
	f.srv.MaxDeliveryAttempts = 3
	v := f.viidPeer(t)
	v.register("s3cret-pass", false)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	gone := "http://" + l.Addr().String() + "/VIID/SubscribeNotifications"
	l.Close() // nobody listens there
	subID := gat1400.BusinessID("441502000000", gat1400.BusinessSubscribe, time.Now().In(gat1400.Location), 2)
	v.do("POST", "/VIID/Subscribes", map[string]any{"SubscribeListObject": map[string]any{"SubscribeObject": []any{map[string]any{
		"SubscribeID": subID, "Title": "t", "SubscribeDetail": "12", "ResourceURI": "44150200001190000007", "ReceiveAddr": gone, "ReportInterval": 1, "OperateType": 0}}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.srv.RunNotifier(ctx, 100*time.Millisecond)
	v.do("POST", "/VIID/Faces", map[string]any{"FaceListObject": map[string]any{"FaceObject": []any{viidFace(t, "44150200001190000007", f.now, 9)}}})
	var dead []any
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && len(dead) == 0; time.Sleep(100 * time.Millisecond) {
		dead = f.must("GET", "/api/v1/notifications?state=dead", "market_op", "", 200)["notifications"].([]any)
	}
	if len(dead) != 1 || !strings.Contains(dead[0].(map[string]any)["last_error"].(string), l.Addr().String()) || dead[0].(map[string]any)["attempts"] != 3.0 {
		t.Fatalf("dead letters: %v", dead)
	}
	if got := f.must("GET", "/api/v1/notifications?state=dead", "police_op", "", 200)["notifications"].([]any); len(got) != 0 {
		t.Errorf("another department sees market's dead letters")
	}
	id := dead[0].(map[string]any)["id"].(string)
	f.must("POST", "/api/v1/notifications/"+id+"/retry", "market_op", "", 202)
	f.must("POST", "/api/v1/notifications/"+id+"/retry", "police_op", "", 404)
	// cancelling stops new notifications
	if code, out := v.do("PUT", "/VIID/Subscribes/"+subID, map[string]any{"SubscribeObject": map[string]any{"CancelReason": "test over"}}); code != 200 || statusCode(out) != 0.0 {
		t.Fatalf("cancel: %d %v", code, out)
	}
	_, out := v.do("GET", "/VIID/Subscribes", nil)
	objs := out["SubscribeListObject"].(map[string]any)["SubscribeObject"].([]any)
	if len(objs) != 1 || objs[0].(map[string]any)["SubscribeStatus"] != 1.0 || objs[0].(map[string]any)["CancelReason"] != "test over" {
		t.Errorf("after cancel: %v", objs)
	}
}
