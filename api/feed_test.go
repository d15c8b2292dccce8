package api_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/api"
)

// liveFeed is an open GET /api/v1/alerts/stream.
type liveFeed struct {
	code   int
	events chan string   // data lines
	ids    chan string   // id lines (alert numbers), in step with events
	ended  chan struct{} // closed when the server ends the stream
	cancel context.CancelFunc
}

// openFeed opens the live alert feed with a bearer token, resuming after
// lastEventID when one is given; close it with cancel.
func (f *fixture) openFeed(token string, lastEventID ...string) *liveFeed {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", f.url+"/api/v1/alerts/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	for _, id := range lastEventID {
		req.Header.Set("Last-Event-ID", id)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	lf := &liveFeed{code: resp.StatusCode, events: make(chan string, 100), ids: make(chan string, 100), ended: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(lf.ended)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				lf.events <- data
			}
			if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
				lf.ids <- id
			}
		}
	}()
	return lf
}

// endsWithin reports whether the server ended the feed within d.
func (lf *liveFeed) endsWithin(d time.Duration) bool {
	select {
	case <-lf.ended:
		return true
	case <-time.After(d):
		return false
	}
}

// Attack (issue 14 item 12): a user whose token was revoked, or who was disabled,
// keeps receiving the live feed on a connection opened before; a user opens feeds
// without limit, each polling the database. The feed re-checks the token and ends;
// a user holds at most FeedMaxPerUser feeds (429 beyond); one poller serves all.
func TestLiveFeedEndsWhenCredentialsGoAndIsCapped(t *testing.T) {
	f := newFixture(t, func(s *api.Server) { s.FeedRecheck = 200 * time.Millisecond; s.FeedMaxPerUser = 2 })
	tk := f.must("POST", "/api/v1/users/police_op/tokens", "admin", `{"name":"feed"}`, 201)
	revoked := f.openFeed(tk["token"].(string))
	disabled := f.openFeed(f.tok["market_analyst"])
	if revoked.code != 200 || disabled.code != 200 {
		t.Fatalf("feeds: %d %d", revoked.code, disabled.code)
	}
	time.Sleep(500 * time.Millisecond)
	if revoked.endsWithin(0) || disabled.endsWithin(0) {
		t.Fatal("feeds ended while their credentials were valid")
	}
	f.must("DELETE", "/api/v1/tokens/"+tk["id"].(string), "admin", "", 204)
	f.must("DELETE", "/api/v1/users/market_analyst", "admin", "", 204)
	if !revoked.endsWithin(3 * time.Second) {
		t.Error("the feed of a revoked token goes on")
	}
	if !disabled.endsWithin(3 * time.Second) {
		t.Error("the feed of a disabled user goes on")
	}

	// the cap is per user; a closed feed frees its place
	a, b := f.openFeed(f.tok["police_op"]), f.openFeed(f.tok["police_op"])
	if a.code != 200 || b.code != 200 {
		t.Fatalf("two feeds: %d %d", a.code, b.code)
	}
	if c := f.openFeed(f.tok["police_op"]); c.code != http.StatusTooManyRequests {
		t.Errorf("a third feed of one user: %d, want 429", c.code)
	}
	other := f.openFeed(f.tok["police_admin"])
	if other.code != 200 {
		t.Errorf("another user's feed: %d", other.code)
	}
	// the poller of the feeds that ended above may take a moment to exit
	for deadline := time.Now().Add(time.Second); f.srv.FeedPollers() != 1 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
	}
	if n := f.srv.FeedPollers(); n != 1 {
		t.Errorf("%d poll loops for the feeds open together, want one shared", n)
	}
	b.cancel()
	code := 0
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && code != 200; time.Sleep(100 * time.Millisecond) {
		c := f.openFeed(f.tok["police_op"])
		if code = c.code; code != 200 {
			c.cancel()
		}
	}
	if code != 200 {
		t.Errorf("after closing a feed a new one is still refused: %d", code)
	}
}
