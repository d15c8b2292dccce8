package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cityeye/cityeye/api"
	"github.com/cityeye/cityeye/testdata/testkit"
)

// auditEntries lists the audit entries of an action, as the platform office.
func (f *fixture) auditEntries(query string) []map[string]any {
	f.t.Helper()
	var out []map[string]any
	for _, e := range f.must("GET", "/api/v1/audit?"+query, "admin", "", 200)["entries"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

// Attack (issue 14 item 8): an analyst ships the department's alerts out through a
// webhook and watches the live feed, and nothing is in the audit trail. Every push
// (who set it up, which subscription, where to, how many items), every webhook
// set-up and every feed session (opened, closed, alerts sent) is audited.
func TestPushesAndFeedsAreAudited(t *testing.T) {
	f := newFixture(t)
	f.must("POST", "/api/v1/streams", "police_op", cameras[1].body(), 201)
	st, _ := f.db.GetStream(context.Background(), cameras[1].id)
	var got atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Alerts []json.RawMessage }
		json.NewDecoder(r.Body).Decode(&body)
		got.Add(int32(len(body.Alerts)))
	}))
	defer hook.Close()
	sub := f.must("POST", "/api/v1/alert-subscriptions", "police_op", `{"receive_url":"`+hook.URL+`/minqing","report_interval_s":1}`, 201)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.srv.RunNotifier(ctx, 100*time.Millisecond)
	feed := f.openFeed(f.tok["police_op"])
	time.Sleep(400 * time.Millisecond)
	f.raise(t, st, "police", "fire.fire")
	select {
	case <-feed.events:
	case <-time.After(5 * time.Second):
		t.Fatal("no alert on the feed")
	}
	feed.cancel()
	testkit.WaitFor(t, 8*time.Second, "the webhook delivery", func() bool { return got.Load() > 0 })
	if got.Load() != 1 {
		t.Fatalf("webhook received %d alerts", got.Load())
	}
	created := f.auditEntries("action=subscription.create&user_id=police_op")
	if len(created) != 1 || created[0]["target"] != sub["id"] || !strings.Contains(fmt.Sprint(created[0]["detail"]), hook.URL) {
		t.Errorf("webhook set-up in the audit trail: %v", created)
	}
	pushes := f.auditEntries("action=webhook.push")
	if len(pushes) != 1 || pushes[0]["user_id"] != "police_op" || pushes[0]["department"] != "police" || pushes[0]["target"] != sub["id"] ||
		!strings.Contains(fmt.Sprint(pushes[0]["detail"]), "1 items to "+hook.URL+"/minqing") {
		t.Errorf("webhook pushes in the audit trail: %v", pushes)
	}
	var closed []map[string]any
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && len(closed) == 0; time.Sleep(100 * time.Millisecond) {
		closed = f.auditEntries("action=alerts.feed.close")
	}
	opened := f.auditEntries("action=alerts.feed.open")
	if len(opened) != 1 || opened[0]["user_id"] != "police_op" || opened[0]["status"] != 200.0 {
		t.Errorf("feed opening in the audit trail: %v", opened)
	}
	if len(closed) != 1 || closed[0]["user_id"] != "police_op" || !strings.HasPrefix(fmt.Sprint(closed[0]["detail"]), "1 alerts sent") {
		t.Errorf("feed closing in the audit trail: %v", closed)
	}
}

// Attack (issue 14 item 8): a caller forges X-Forwarded-For so that the audit
// trail names someone else's address. Only configured proxies are believed.
func TestAuditAddressCannotBeForged(t *testing.T) {
	read := func(f *fixture) string {
		req, _ := http.NewRequest("GET", f.url+"/api/v1/records/nope", nil)
		req.Header.Set("Authorization", "Bearer "+f.tok["market_analyst"])
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
		req.Header.Set("X-Real-IP", "203.0.113.8")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		es := f.auditEntries("action=record.read&user_id=market_analyst")
		if len(es) != 1 {
			t.Fatalf("audit entries: %v", es)
		}
		return es[0]["remote"].(string)
	}
	if got := read(newFixture(t)); got != "127.0.0.1" {
		t.Errorf("no proxy configured: the audit trail records %q, want the peer 127.0.0.1", got)
	}
	behindProxy := newFixture(t, func(s *api.Server) { s.TrustedProxies = []string{"127.0.0.1"} })
	if got := read(behindProxy); got != "203.0.113.7" {
		t.Errorf("behind a configured proxy: the audit trail records %q, want the client it names", got)
	}
}
