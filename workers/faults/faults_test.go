package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/objects"
	"github.com/cityeye/cityeye/testdata/services"
	"github.com/cityeye/cityeye/workers"
	"github.com/cityeye/cityeye/workers/plan"
)

func TestMain(m *testing.M) { services.Main(m) }

// rig is one worker's storage path as distributed mode builds it: PostgreSQL with
// group commit, MinIO, a recorder with a spool on disk, and a Worker (which
// replays the spool).
type rig struct {
	db   *store.DB
	objs objects.Store
	rec  *workers.Recorder
	w    *workers.Worker
	s3   services.S3Endpoint
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	db, err := store.OpenPostgres(ctx, services.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	db.EnableGroupCommit(store.GroupCommit{})
	t.Cleanup(func() { db.Close() })
	s3 := services.MinIO(t)
	objs, err := objects.NewS3(ctx, objects.S3Config{Endpoint: s3.Endpoint, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey, Bucket: "faults-" + strconv.FormatInt(time.Now().UnixNano(), 36)})
	if err != nil {
		t.Fatal(err)
	}
	rec := workers.NewRecorder(db, objs, nil)
	if rec.Spool, err = workers.OpenSpool(workers.SpoolConfig{Dir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	w := workers.New(ctx, workers.Config{ModelCheck: -1}, rec)
	t.Cleanup(func() { w.Close() })
	return &rig{db: db, objs: objs, rec: rec, w: w, s3: s3}
}

// generator is the deterministic workload: at a fixed rate, tick i is version
// i%3+1 of track i/3 (the third final), as a tracker reports an object it follows;
// every tenth tick raises an alert too. It records what it produced.
type generator struct {
	rate   time.Duration
	stream store.Stream
	task   plan.TaskPlan

	mu       sync.Mutex
	versions map[string]int // track key → last version produced
	captures int
	alerts   map[string]bool
	failed   []error
}

func newGenerator() *generator {
	return &generator{rate: 100 * time.Millisecond, versions: map[string]int{}, alerts: map[string]bool{},
		stream: store.Stream{ID: "44150200001310000001", AdminDivision: "441502", Longitude: 115.37, Latitude: 22.78},
		task:   plan.TaskPlan{Task: store.Task{ID: "task-faults", DeptID: "police", Algorithm: "person_vehicle_capture"}}}
}

// run produces until ctx ends.
func (g *generator) run(ctx context.Context, rec *workers.Recorder) {
	frame := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(40, 90, 140, 0), 180, 320, gocv.MatTypeCV8UC3)
	defer frame.Close()
	t := time.NewTicker(g.rate)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		track := fmt.Sprintf("faults/%d", i/3)
		gocv.PutText(&frame, strconv.Itoa(i), ptAt(i), gocv.FontHersheySimplex, 0.6, color.RGBA{G: 255, A: 255}, 1)
		c := algorithms.Capture{TrackKey: track, Kind: "Person", Label: "person", Box: decode.Box{X1: 40, Y1: 30, X2: 160, Y2: 150}, Score: 0.9,
			Frame: frame, Shot: now, Appear: now, Final: i%3 == 2}
		err := rec.Save(context.WithoutCancel(ctx), g.stream, g.task, c)
		g.mu.Lock()
		if err != nil {
			g.failed = append(g.failed, fmt.Errorf("tick %d: %w", i, err))
		} else {
			g.versions[track] = i%3 + 1
			g.captures++
		}
		g.mu.Unlock()
		if i%10 == 0 {
			tick := strconv.Itoa(i)
			err := rec.SaveAlert(context.WithoutCancel(ctx), g.stream, g.task, algorithms.Alert{Kind: "fire.smoke", Level: 2, Time: now, Frame: frame,
				Details: map[string]any{"tick": tick}})
			g.mu.Lock()
			if err != nil {
				g.failed = append(g.failed, fmt.Errorf("alert %d: %w", i, err))
			} else {
				g.alerts[tick] = true
			}
			g.mu.Unlock()
		}
	}
}

// ptAt spreads the tick numbers over the frame, so every snapshot differs.
func ptAt(i int) image.Point { return image.Pt(10+(i*37)%260, 20+(i*53)%150) }

// outage runs the generator for warm seconds, stops a server for down, restarts it,
// generates for after, then waits until the spool is empty. It returns how long
// the spool took to drain after the restart.
func outage(t *testing.T, r *rig, g *generator, down time.Duration, stop func(t *testing.T) func()) time.Duration {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.run(ctx, r.rec); close(done) }()
	time.Sleep(3 * time.Second)
	restart := stop(t)
	stopped := time.Now()
	time.Sleep(down)
	restart()
	back := time.Now()
	backlog := *r.w.Spool()
	t.Logf("outage %v (server down to healthy again); spool at restart: %+v", back.Sub(stopped).Round(100*time.Millisecond), backlog)
	// the capture goes on; recovery is the time until the outage's backlog is written
	wait(t, r, func() bool { return r.w.Spool().Replayed >= backlog.Replayed+int64(backlog.Writes) })
	recovery := time.Since(back)
	time.Sleep(5*time.Second - recovery)
	cancel()
	<-done
	wait(t, r, func() bool { return r.w.Spool().Writes == 0 })
	return recovery
}

// wait polls cond for up to 2 minutes.
func wait(t *testing.T, r *rig, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("spool not drained 2 min after the restart: %+v", *r.w.Spool())
		}
	}
}

// check compares what arrived with what the generator produced: every track one
// record, at its last version, its snapshots in the object store; every alert
// once; nothing dropped by the spool.
func check(t *testing.T, r *rig, g *generator, recovery time.Duration) {
	t.Helper()
	ctx := context.Background()
	if len(g.failed) > 0 {
		t.Errorf("%d captures or alerts refused by the recorder (lost), first: %v", len(g.failed), g.failed[0])
	}
	recs, total, err := r.db.ListRecords(ctx, store.RecordFilter{Scope: auth.Scope{All: true}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if total > len(recs) {
		t.Fatalf("%d records: more than one page", total)
	}
	lost, dup, stale, missing := 0, 0, 0, 0
	seen := map[string]bool{}
	for _, rec := range recs {
		if seen[rec.TrackKey] {
			dup++
		}
		seen[rec.TrackKey] = true
		v, ok := g.versions[rec.TrackKey]
		if !ok {
			dup++ // a record nobody produced: a write landed twice under another track
			continue
		}
		if want := fmt.Sprintf("-v%d-scene.jpg", v); len(rec.Images) != 2 || len(rec.Images[0]) < len(want) || rec.Images[0][len(rec.Images[0])-len(want):] != want {
			stale++
		}
		for _, k := range rec.Images {
			if _, err := r.objs.Get(ctx, k); err != nil {
				missing++
			}
		}
	}
	for k := range g.versions {
		if !seen[k] {
			lost++
		}
	}
	as, err := r.db.ListAlerts(ctx, store.AlertFilter{Scope: auth.Scope{All: true}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var ticks []string
	alertsMissing := 0
	for _, a := range as {
		var d struct{ Tick string }
		if err := json.Unmarshal(a.Details, &d); err != nil {
			t.Fatal(err)
		}
		ticks = append(ticks, d.Tick)
		if _, err := r.objs.Get(ctx, a.Image); err != nil {
			alertsMissing++
		}
	}
	slices.Sort(ticks)
	alertDup := len(ticks) - len(slices.Compact(slices.Clone(ticks)))
	alertLost := 0
	for tick := range g.alerts {
		if !slices.Contains(ticks, tick) {
			alertLost++
		}
	}
	st := *r.w.Spool()
	t.Logf("produced %d tracks (%d captures), %d alerts; arrived %d records, %d alerts; lost %d, duplicated %d, stale %d, snapshots missing %d; alerts lost %d, duplicated %d, snapshots missing %d; spooled %d, replayed %d; the outage's backlog written %v after the restart",
		len(g.versions), g.captures, len(g.alerts), total, len(as), lost, dup, stale, missing, alertLost, alertDup, alertsMissing, st.Spooled, st.Replayed, recovery.Round(100*time.Millisecond))
	if lost+dup+stale+missing+alertLost+alertDup+alertsMissing != 0 {
		t.Errorf("not every capture arrived exactly once")
	}
	if st.Spooled == 0 || st.Replayed != st.Spooled || st.DroppedFull+st.DroppedExpired+st.DroppedRefused+st.DroppedCorrupt != 0 {
		t.Errorf("spool: %+v, want every spooled write replayed", st)
	}
	if out := os.Getenv("CITYEYE_FAULTS_OUT"); out != "" { // docs/reliability.md's numbers
		f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(f, "| %s | %d | %d | %d | %d | %d | %d | %d | %.1f s |\n", t.Name(), g.captures, total, len(as), lost+alertLost, dup+alertDup, st.Spooled, st.Replayed, recovery.Seconds())
			f.Close()
		}
	}
}

// MinIO is killed for 60 s while a worker captures, then restarted: every capture
// and alert of the outage waits in the spool and arrives once, in order, with its
// snapshots.
func TestFaultMinIOOutage(t *testing.T) {
	r, g := newRig(t), newGenerator()
	recovery := outage(t, r, g, 60*time.Second, func(t *testing.T) func() { return r.s3.Outage(t) })
	check(t, r, g, recovery)
}

// PostgreSQL is stopped for 30 s while a worker captures, then restarted: the
// captures get IDs without the database (offline serials), wait in the spool and
// arrive once.
func TestFaultPostgresOutage(t *testing.T) {
	r, g := newRig(t), newGenerator()
	recovery := outage(t, r, g, 30*time.Second, func(t *testing.T) func() { return services.PostgresOutage(t) })
	check(t, r, g, recovery)
}
