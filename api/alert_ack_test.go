package api_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// Acknowledging an alert on the Minqing map (issue 18): the roles that act on
// alerts may, within the department scope of GET; the first acknowledgement stands,
// GET and the list show it, and every attempt is audited.
func TestAlertAck(t *testing.T) {
	f := newFixture(t)
	f.must("POST", "/api/v1/streams", "police_op", cameras[1].body(), 201)
	st, _ := f.db.GetStream(context.Background(), cameras[1].id)
	f.raise(t, st, "police", "fire.fire")
	list := f.must("GET", "/api/v1/alerts", "police_op", "", 200)["alerts"].([]any)
	if len(list) != 1 {
		t.Fatalf("alerts: %v", list)
	}
	id := list[0].(map[string]any)["id"].(string)
	if _, ok := list[0].(map[string]any)["acked_by"]; ok {
		t.Fatalf("a new alert is acknowledged: %v", list[0])
	}
	path := "/api/v1/alerts/" + id + "/ack"
	f.must("POST", path, "market_op", "", 404)      // another department's alert
	f.must("POST", path, "market_analyst", "", 403) // reads alerts, does not act on them
	f.must("POST", path, "market_sub", "", 403)
	f.must("POST", "/api/v1/alerts/nope/ack", "police_op", "", 404)
	a := f.must("POST", path, "police_op", "", 200)
	if a["acked_by"] != "police_op" || a["acked_at"] != f.now.Format(time.RFC3339) {
		t.Fatalf("ack: %v", a)
	}
	f.now = f.now.Add(time.Minute)
	if a := f.must("POST", path, "police_admin", "", 200); a["acked_by"] != "police_op" || a["acked_at"] != f.now.Add(-time.Minute).Format(time.RFC3339) {
		t.Fatalf("a second acknowledgement replaced the first: %v", a)
	}
	if a := f.must("GET", "/api/v1/alerts/"+id, "police_admin", "", 200); a["acked_by"] != "police_op" {
		t.Fatalf("GET after ack: %v", a)
	}
	if l := f.must("GET", "/api/v1/alerts", "police_op", "", 200)["alerts"].([]any); l[0].(map[string]any)["acked_by"] != "police_op" {
		t.Fatalf("list after ack: %v", l)
	}
	got := map[string]float64{}
	for _, e := range f.auditEntries("action=alert.ack") {
		got[e["user_id"].(string)+" "+e["target"].(string)] = e["status"].(float64)
	}
	if got["police_op "+id] != 200 || got["police_admin "+id] != 200 || got["market_op "+id] != 404 || got["police_op nope"] != 404 || len(got) != 4 {
		t.Fatalf("audit of acknowledgements: %v", got)
	}
}

// An acknowledgement reaches every open map at once: the live feeds of the users
// who may see the alert get an ack event naming who and when; a department that
// cannot see the alert gets nothing.
func TestAlertAckIsPushedToOpenFeeds(t *testing.T) {
	f := newFixture(t)
	f.must("POST", "/api/v1/streams", "police_op", cameras[1].body(), 201)
	st, _ := f.db.GetStream(context.Background(), cameras[1].id)
	f.raise(t, st, "police", "fire.fire")
	id := f.must("GET", "/api/v1/alerts", "police_op", "", 200)["alerts"].([]any)[0].(map[string]any)["id"].(string)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	police, market := f.feed(ctx, "police_admin", ""), f.feed(ctx, "market_op", "")
	time.Sleep(400 * time.Millisecond) // both feeds open before the acknowledgement
	f.must("POST", "/api/v1/alerts/"+id+"/ack", "police_op", "", 200)
	select {
	case ev := <-police:
		var a map[string]any
		json.Unmarshal([]byte(ev.data), &a)
		if ev.name != "ack" || a["id"] != id || a["acked_by"] != "police_op" || a["acked_at"] != f.now.Format(time.RFC3339) {
			t.Errorf("feed event %+v, want the acknowledgement of %s", ev, id)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the acknowledgement did not reach the open feed")
	}
	select {
	case ev := <-market:
		t.Errorf("another department's feed got %+v", ev)
	case ev := <-police:
		t.Errorf("a second event: %+v", ev)
	case <-time.After(time.Second):
	}
}
