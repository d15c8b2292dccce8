package workers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/objects"
)

// outageStore is an object store that fails every call while down is set.
type outageStore struct {
	objects.Store
	down atomic.Bool
}

var errOutage = errors.New("connection refused")

func (s *outageStore) Put(ctx context.Context, key string, b []byte, ct string) error {
	if s.down.Load() {
		return errOutage
	}
	return s.Store.Put(ctx, key, b, ct)
}

func (s *outageStore) Delete(ctx context.Context, key string) error {
	if s.down.Load() {
		return errOutage
	}
	return s.Store.Delete(ctx, key)
}

// spooledRecorder is newTestRecorder with its objects behind an outageStore and a
// spool in dir.
func spooledRecorder(t *testing.T, cfg SpoolConfig) (*Recorder, *outageStore) {
	t.Helper()
	r := newTestRecorder(t)
	objs := &outageStore{Store: r.Objects}
	r.Objects = objs
	sp, err := OpenSpool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.Spool = sp
	return r, objs
}

// drain replays r's spool until it is empty.
func drain(t *testing.T, r *Recorder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Spool.Run(ctx, r.replay)
	deadline := time.Now().Add(20 * time.Second)
	for r.Spool.busy() {
		if time.Now().After(deadline) {
			t.Fatalf("spool not drained: %+v", r.Spool.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkStored: one record per track, holding its last version's images, every
// image present, nothing left pending; and the alerts by ID.
func checkStored(t *testing.T, r *Recorder, versions map[string]int, alerts int) {
	t.Helper()
	ctx := context.Background()
	recs, total, err := r.DB.ListRecords(ctx, store.RecordFilter{Scope: auth.Scope{All: true}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if total != len(versions) {
		t.Fatalf("%d records, want one per track (%d)", total, len(versions))
	}
	for _, rec := range recs {
		v := versions[rec.TrackKey]
		if len(rec.Images) != 2 || !strings.HasSuffix(rec.Images[0], fmt.Sprintf("-v%d-scene.jpg", v)) {
			t.Errorf("track %s: images %v, want version %d", rec.TrackKey, rec.Images, v)
		}
		for _, k := range rec.Images {
			if _, err := r.Objects.Get(ctx, k); err != nil {
				t.Errorf("record %s: image %s: %v", rec.ID, k, err)
			}
		}
	}
	if p, _ := r.DB.Pending(ctx); len(p) != 0 {
		t.Errorf("pending after the replay: %v", p)
	}
	as, err := r.DB.ListAlerts(ctx, store.AlertFilter{Scope: auth.Scope{All: true}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != alerts {
		t.Fatalf("%d alerts, want %d: %v", len(as), alerts, as)
	}
}

// While the object store is down, captures (a track's versions, a final one, an
// alert) are queued on disk in order and Save reports success; the queue survives a
// restart of the worker (the spool reopened) and, once storage is back, is written
// in order: one record per track with its last version, every snapshot present,
// nothing pending. Then the same spool files replayed a second time (a crash after
// the commit, before the files went) change nothing.
func TestSpoolReplaysInOrderAndOnce(t *testing.T) {
	dir := t.TempDir()
	r, objs := spooledRecorder(t, SpoolConfig{Dir: dir})
	ctx := context.Background()
	objs.down.Store(true)
	save := func(c algorithms.Capture) {
		t.Helper()
		defer c.Frame.Close()
		if err := r.Save(ctx, recStream, recTask, c); err != nil {
			t.Fatal(err)
		}
	}
	for v := 1; v <= 3; v++ {
		save(capture("Person", "person", "t/a", nil))
		c := capture("MotorVehicle", "car", "t/b", nil)
		c.Final = v == 3
		save(c)
	}
	a := algorithms.Alert{Kind: "fire.smoke", Level: 2, Time: time.Date(2026, 11, 22, 8, 0, 1, 0, time.UTC), Frame: capture("Person", "", "", nil).Frame}
	if err := r.SaveAlert(ctx, recStream, recTask, a); err != nil {
		t.Fatal(err)
	}
	a.Frame.Close()
	st := r.Spool.Stats()
	if st.Writes != 7 || st.Spooled != 7 || st.LastError != "" {
		t.Fatalf("spool after the outage's writes: %+v", st)
	}
	if _, n, _ := r.DB.ListRecords(ctx, store.RecordFilter{Scope: auth.Scope{All: true}}); n != 0 {
		t.Fatalf("%d records written during the outage", n)
	}
	saved := map[string][]byte{}
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		saved[de.Name()], _ = os.ReadFile(filepath.Join(dir, de.Name()))
	}

	// a replay attempt during the outage says what it waits for
	ctx2, cancel := context.WithTimeout(ctx, 600*time.Millisecond)
	r.Spool.Run(ctx2, r.replay)
	cancel()
	if st := r.Spool.Stats(); st.Writes != 7 || st.LastError != "object store unavailable" {
		t.Fatalf("spool while storage is down: %+v", st)
	}

	// the worker restarts: a new spool on the same folder, storage back
	sp, err := OpenSpool(SpoolConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	r.Spool = sp
	objs.down.Store(false)
	drain(t, r)
	checkStored(t, r, map[string]int{"t/a": 3, "t/b": 3}, 1)
	if st := r.Spool.Stats(); st.Replayed != 7 || st.DroppedFull+st.DroppedExpired+st.DroppedRefused+st.DroppedCorrupt != 0 {
		t.Fatalf("spool after the replay: %+v", st)
	}

	// the same files again, as a crash between commit and removal leaves them
	for name, b := range saved {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if r.Spool, err = OpenSpool(SpoolConfig{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	drain(t, r)
	checkStored(t, r, map[string]int{"t/a": 3, "t/b": 3}, 1)
	if st := r.Spool.Stats(); st.Replayed != 7 || st.DroppedRefused != 0 {
		t.Fatalf("second replay of the same writes: %+v", st)
	}

	// storage answers again: writes go straight through, not via the spool
	save(capture("Face", "face", "t/c", nil))
	if st := r.Spool.Stats(); st.Spooled != 0 || st.Writes != 0 {
		t.Fatalf("a write with storage up was spooled: %+v", st)
	}
}

// The limits: a write that would pass MaxBytes is refused (ErrSpoolFull, counted,
// the queue keeps what it had); a write older than MaxAge is dropped unwritten; an
// unreadable file is dropped; each is counted.
func TestSpoolLimits(t *testing.T) {
	dir := t.TempDir()
	r, objs := spooledRecorder(t, SpoolConfig{Dir: dir, MaxBytes: 1 << 20})
	objs.down.Store(true)
	ctx := context.Background()
	var full error
	n := 0
	for ; n < 200 && full == nil; n++ {
		c := capture("Person", "person", "t/"+string(rune('a'+n%26))+string(rune('a'+n/26)), nil)
		full = r.Save(ctx, recStream, recTask, c)
		c.Frame.Close()
	}
	if !errors.Is(full, ErrSpoolFull) {
		t.Fatalf("200 captures fit 1 MiB? last error %v", full)
	}
	st := r.Spool.Stats()
	if st.DroppedFull != 1 || st.Writes != n-1 || st.Bytes > st.MaxBytes || st.MaxBytes != 1<<20 {
		t.Fatalf("full spool: %+v after %d captures", st, n)
	}

	// past the age limit: dropped unwritten
	sp, err := OpenSpool(SpoolConfig{Dir: dir, MaxAge: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	r.Spool = sp
	objs.down.Store(false)
	drain(t, r)
	st = r.Spool.Stats()
	if st.DroppedExpired != int64(n-1) || st.Replayed != 0 || st.Writes != 0 {
		t.Fatalf("expired spool: %+v", st)
	}
	if _, n, _ := r.DB.ListRecords(ctx, store.RecordFilter{Scope: auth.Scope{All: true}}); n != 0 {
		t.Fatalf("%d expired records written", n)
	}

	// corrupt: a file that does not decode
	os.WriteFile(filepath.Join(dir, spoolName(1, time.Now())), []byte("torn"), 0o600)
	if r.Spool, err = OpenSpool(SpoolConfig{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	drain(t, r)
	if st := r.Spool.Stats(); st.DroppedCorrupt != 1 {
		t.Fatalf("corrupt file: %+v", st)
	}
}
