package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cityeye/cityeye/api"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/testdata/services"
	"github.com/cityeye/cityeye/testdata/testkit"
)

// distributedConfig writes a distributed-mode config (real PostgreSQL as the
// application role, MinIO, Redis, heartbeat timeout 2 s) for servers listening at
// addr, with extra keys, and returns its path and the S3 settings as JSON.
func distributedConfig(t *testing.T, data, addr, dsn, redisAddr string, extra map[string]any) (string, string) {
	t.Helper()
	e := services.MinIO(t)
	s3 := map[string]any{"endpoint": e.Endpoint, "access_key": e.AccessKey, "secret_key": e.SecretKey, "bucket": "cityeye-faults",
		"public_base": "http://" + addr + "/api/v1/objects/"}
	cfg := map[string]any{"database": dsn, "s3": s3, "redis": redisAddr, "heartbeat_timeout_s": 2, "capacity_fps": 20}
	for k, v := range extra {
		cfg[k] = v
	}
	b, _ := json.Marshal(cfg)
	path := filepath.Join(data, "distributed.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s3j, _ := json.Marshal(s3)
	return path, string(s3j)
}

// mapFeed is the map's live alert feed over SSE, resumable with Last-Event-ID.
type mapFeed struct {
	mu     sync.Mutex
	got    map[string]int // alert ID → times received
	lastID string
	cancel context.CancelFunc
}

// open connects (resuming after lastID when set) and reads until closed.
func (m *mapFeed) open(t *testing.T, s *server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/api/v1/alerts/stream", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	m.mu.Lock()
	if m.lastID != "" {
		req.Header.Set("Last-Event-ID", m.lastID)
	}
	m.cancel = cancel
	m.mu.Unlock()
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("alert feed: %v %v", err, resp)
	}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			m.mu.Lock()
			if id, ok := strings.CutPrefix(line, "id: "); ok {
				m.lastID = id
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var a struct{ ID string }
				json.Unmarshal([]byte(data), &a)
				m.got[a.ID]++
			}
			m.mu.Unlock()
		}
	}()
}

// received returns how many distinct alerts arrived and how many twice or more.
func (m *mapFeed) received() (distinct, dup int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return tally(m.got)
}

// tally counts the distinct keys of got and those counted more than once.
func tally(got map[string]int) (distinct, dup int) {
	for _, n := range got {
		if n > 1 {
			dup++
		}
	}
	return len(got), dup
}

// webhookReceiver is the map's webhook endpoint: it verifies each call with the
// reference verifier, takes each NotificationID once (delivery is at least once)
// and counts every alert it was sent in distinct notifications.
type webhookReceiver struct {
	mu      sync.Mutex
	v       *api.WebhookVerifier
	seen    map[string]bool // notification IDs taken
	got     map[string]int  // alert ID → distinct notifications carrying it
	refused int
	down    bool        // answers 503 (the map's own outage)
	calls   []time.Time // accepted calls
}

func (h *webhookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.v == nil || h.v.Verify(r.Header, body) != nil {
		h.refused++
		http.Error(w, "not signed by CityEye", http.StatusUnauthorized)
		return
	}
	var n struct {
		NotificationID string
		Alerts         []struct{ ID string }
	}
	json.Unmarshal(body, &n)
	if h.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	h.calls = append(h.calls, time.Now())
	if h.seen[n.NotificationID] {
		return
	}
	h.seen[n.NotificationID] = true
	for _, a := range n.Alerts {
		h.got[a.ID]++
	}
}

func (h *webhookReceiver) received() (distinct, dup int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return tally(h.got)
}

// Issue 19 fault tests: "Redis restarted during notification delivery" and "a map
// client reconnecting with Last-Event-ID after a 10 s gap receives every alert
// once". A generator writes 200 alerts at 16/s into PostgreSQL as workers do; a
// signed webhook subscription and an SSE feed watch them. The webhook answers 503
// from 2 s in, so deliveries wait in Redis for their retry; Redis is killed 3 s in,
// restarted 3 s later and emptied (a Redis without its data: those deliveries are
// gone, only the periodic re-queue brings them back), while the feed's client goes
// away for 10 s and comes back with Last-Event-ID. Both must end with every alert
// exactly once.
func TestFaultRedisRestartAndFeedGap(t *testing.T) {
	ownerDSN := services.Postgres(t)
	dsn, _ := dbRoles(t, ownerDSN)
	redisAddr := services.Redis(t)
	data, addr := t.TempDir(), testkit.FreeAddr()
	cfgPath, _ := distributedConfig(t, data, addr, dsn, redisAddr, map[string]any{"notify_requeue_s": 2, "outbound_allow": []string{"127.0.0.1/32"}})
	s := startServerAt(t, addr, data, "--config", cfgPath)
	hook := &webhookReceiver{seen: map[string]bool{}, got: map[string]int{}}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	sub := s.post("/api/v1/alert-subscriptions", map[string]any{"receive_url": hs.URL, "report_interval_s": 1})
	hook.mu.Lock()
	hook.v = &api.WebhookVerifier{Secret: sub["secret"].(string)}
	hook.mu.Unlock()
	feed := &mapFeed{got: map[string]int{}}
	feed.open(t, s)
	time.Sleep(500 * time.Millisecond) // the feed is watching

	ctx := context.Background()
	db, err := store.OpenPostgres(ctx, ownerDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const total = 200
	generated := make(chan struct{})
	go func() { // 16 alerts/s for 12.5 s
		defer close(generated)
		for i := range total {
			a := &store.Alert{ID: "fault-alert-" + strconv.Itoa(i), Kind: "fire.fire", Level: 3, TaskID: "gen", DeviceID: "44150200001310000009",
				DeptID: "platform", Division: "441502", Time: time.Now(), Image: "alerts/none.jpg", Boxes: json.RawMessage(`[]`), Details: json.RawMessage(`{}`)}
			if err := db.SaveAlert(ctx, a); err != nil {
				t.Errorf("generator: %v", err)
				return
			}
			time.Sleep(time.Second / 16)
		}
	}()
	time.Sleep(2 * time.Second)
	feed.cancel() // the map goes away for 10 s
	gapFrom := time.Now()
	hook.mu.Lock()
	hook.down = true
	hook.mu.Unlock()
	time.Sleep(time.Second)
	restart := services.RedisOutage(t, redisAddr)
	time.Sleep(3 * time.Second)
	restart()
	restarted := time.Now()
	hook.mu.Lock()
	hook.down = false
	hook.mu.Unlock()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	if err := rdb.FlushAll(ctx).Err(); err != nil { // what Redis held is lost
		t.Fatal(err)
	}
	rdb.Close()
	time.Sleep(10*time.Second - time.Since(gapFrom))
	feed.open(t, s)
	<-generated
	deadline := time.Now().Add(60 * time.Second)
	for {
		hd, _ := hook.received()
		fd, _ := feed.received()
		if hd == total && fd == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: webhook %d, feed %d of %d alerts\n%s", hd, fd, total, s.logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // anything sent twice would arrive by now
	hd, hdup := hook.received()
	fd, fdup := feed.received()
	hook.mu.Lock()
	var first time.Time
	for _, c := range hook.calls {
		if c.After(restarted) && first.IsZero() {
			first = c
		}
	}
	refused := hook.refused
	hook.mu.Unlock()
	t.Logf("webhook: %d/%d alerts, %d duplicated, %d calls refused by the verifier; first delivery %.1f s after Redis came back, all in by %.1f s",
		hd, total, hdup, refused, first.Sub(restarted).Seconds(), time.Since(restarted).Seconds()-3)
	t.Logf("feed: %d/%d alerts, %d duplicated, after a %.0f s gap", fd, total, fdup, 10.0)
	if hdup > 0 || fdup > 0 || refused > 0 {
		t.Fatalf("duplicated: webhook %d, feed %d; refused calls %d", hdup, fdup, refused)
	}
}
