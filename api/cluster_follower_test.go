package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/api"
	"github.com/cityeye/cityeye/scheduler"
)

// Gap 2 of the HA work: behind a load balancer a user reaches a follower, and a
// worker may know only one server. The follower forwards the worker's heartbeat to
// the leader (at the URL the leader published) and relays the lease; it shows the
// workers from the view the leader published, in GET /api/v1/workers and /metrics.
// A forwarded heartbeat is never forwarded again.
func TestFollowerForwardsHeartbeatsAndShowsWorkers(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	held, err := f.db.TryLead(ctx, "first")
	if err != nil {
		t.Fatal(err)
	}
	leader, follower := scheduler.NewCluster(5*time.Second), scheduler.NewCluster(5*time.Second)
	leader.Lead(held.Epoch)
	follower.Follow()
	f.srv.Cluster = leader
	f.worker("w1")
	_, f2 := f.secondServer(func(s *api.Server) { s.Cluster = follower })
	share := func() {
		t.Helper()
		if err := scheduler.PublishView(ctx, held, leader, f.url); err != nil {
			t.Fatal(err)
		}
		if err := scheduler.LoadView(ctx, f.db, follower); err != nil {
			t.Fatal(err)
		}
	}
	share()
	hb := `{"id":"w1","cores":4}`
	lease := f2.must("POST", "/api/v1/workers/heartbeat", "wk-w1", hb, 200)
	if lease["leader_epoch"] != float64(held.Epoch) || lease["worker_id"] != "w1" {
		t.Fatalf("the follower relayed %v, want the leader's lease of epoch %d", lease, held.Epoch)
	}
	share()
	ws := f2.must("GET", "/api/v1/workers", "admin", "", 200)
	list := ws["workers"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != "w1" || list[0].(map[string]any)["alive"] != true || ws["leader"] != false {
		t.Fatalf("the follower's workers: %v", ws)
	}
	if m := string(f2.download("/metrics", "admin", 200)); !strings.Contains(m, `cityeye_worker_up{worker="w1"} 1`) {
		t.Errorf("the follower's metrics lack w1:\n%s", grepLines(m, "cityeye_worker"))
	}
	// a heartbeat already forwarded once is not forwarded again
	req, _ := http.NewRequest("POST", f2.url+"/api/v1/workers/heartbeat", strings.NewReader(hb))
	req.Header.Set("Authorization", "Bearer "+f.tok["wk-w1"])
	req.Header.Set("X-CityEye-Forwarded-Heartbeat", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a forwarded heartbeat on a follower: %d, want 503", resp.StatusCode)
	}
	// both follow (the published leader stepped down): 503, no loop, no address shown
	leader.Follow()
	if out := f2.must("POST", "/api/v1/workers/heartbeat", "wk-w1", hb, 503); strings.Contains(out["error"].(string), "127.0.0.1") {
		t.Errorf("the error shows an internal address: %v", out)
	}
}
