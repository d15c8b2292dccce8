package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cityeye/cityeye/store"
)

// commit stores e now, or queues it in the spool: behind the writes already
// waiting there (so a track's versions stay in order), or when storage fails. It
// returns nil once e is committed or queued; an error means e is lost (no spool,
// the spool full, or content that storage refuses).
func (r *Recorder) commit(ctx context.Context, e *spoolEntry) error {
	if r.Spool == nil {
		return r.write(ctx, e)
	}
	if queued, err := r.Spool.push(e, true); queued || err != nil {
		return err
	}
	err := r.write(ctx, e)
	if err == nil || store.Permanent(err) {
		return err
	}
	slog.Warn("storage unavailable: write queued in the spool", "what", e.what(), "err", err)
	_, err = r.Spool.push(e, false)
	return err
}

// write runs the crash-safe protocol of package store for e: Intend, the objects,
// then the record (SaveRecord, the replaced snapshots deleted and forgotten, the
// feature) or the alert. Every step is idempotent, so the spool may run it again
// after any partial run: Intend and the deletion of pending keys are set
// operations, a Put overwrites the same key with the same bytes, SaveRecord updates
// the track's record (same ID, same images: nothing replaced), SaveFeature replaces
// the record's feature, SaveAlert ignores an alert ID already stored.
func (r *Recorder) write(ctx context.Context, e *spoolEntry) error {
	return r.writeWith(ctx, e, r.DB.Intend)
}

// replay is write for the spool: the write was tried before, so its keys may be
// pending since then and are logged again as of now (store.Reintend).
func (r *Recorder) replay(ctx context.Context, e *spoolEntry) error {
	return r.writeWith(ctx, e, r.DB.Reintend)
}

func (r *Recorder) writeWith(ctx context.Context, e *spoolEntry, intend func(context.Context, []string) error) error {
	if err := intend(ctx, e.keys()); err != nil {
		return storageErr("database", err)
	}
	for _, o := range e.Objects {
		if err := r.Objects.Put(ctx, o.Key, o.Data, "image/jpeg"); err != nil {
			return storageErr("object store", err)
		}
	}
	if e.Alert != nil {
		if err := r.DB.SaveAlert(ctx, e.Alert); err != nil {
			return storageErr("database", err)
		}
		if r.OnAlert != nil {
			r.OnAlert(*e.Alert)
		}
		return nil
	}
	replaced, err := r.DB.SaveRecord(ctx, e.Record)
	if err != nil {
		return storageErr("database", err)
	}
	e.saved = true
	// the record is committed; what is left is clean-up: a failure leaves the
	// replaced snapshots pending, and the sweep removes them (store.SweepOlder)
	for _, key := range replaced {
		if err := r.Objects.Delete(ctx, key); err != nil {
			slog.Warn("replaced snapshot not deleted; the sweep removes it", "key", key, "err", err)
			replaced = nil
			break
		}
	}
	if err := r.DB.Forget(ctx, replaced); err != nil {
		slog.Warn("replaced snapshots not forgotten; the sweep removes them", "err", err)
	}
	// the face feature, beside the record (not in the GA/T body: see store.Feature),
	// after it: a crash in between leaves a record without a feature for a moment,
	// and the spool writes both again
	if e.Feature != nil {
		if err := r.DB.SaveFeature(ctx, *e.Feature); err != nil {
			return storageErr("database", fmt.Errorf("save feature of %s: %w", e.Record.ID, err))
		}
	}
	return nil
}

// what names e in logs.
func (e *spoolEntry) what() string {
	if e.Alert != nil {
		return "alert " + e.Alert.ID
	}
	return "record " + e.Record.ID
}

// storageError says which storage a write step failed on; its text is all a
// worker's status shows of it (the cause may name internal addresses).
type storageError struct {
	step string
	err  error
}

func storageErr(step string, err error) error { return &storageError{step, err} }
func (e *storageError) Error() string         { return e.step + ": " + e.err.Error() }
func (e *storageError) Unwrap() error         { return e.err }

// waitingOn is what a spool's status says of a failed replay.
func waitingOn(err error) string {
	var se *storageError
	if errors.As(err, &se) {
		return se.step + " unavailable"
	}
	return "storage unavailable"
}

// serials hands out k consecutive 5-digit serials of IDs for a device and second
// and returns the first: the database's (NextSerials, durable across restarts)
// while it answers and nothing is queued; otherwise this process's, counted down
// from 99999, so a capture gets its IDs, and can be queued, while the database is
// away. The two ranges meet only past 50,000 IDs of one camera in one second. A
// camera's stream runs on one worker at a time, and a restarted worker never sees
// a second it has used again, so offline serials do not repeat either.
func (r *Recorder) serials(ctx context.Context, device string, t time.Time, k int) (int, error) {
	if r.Spool == nil {
		return r.DB.NextSerials(ctx, device, t, k)
	}
	if !r.Spool.busy() {
		n, err := r.DB.NextSerials(ctx, device, t, k)
		if err == nil || store.Permanent(err) {
			return n, err
		}
	}
	return r.offline.take(device, t, k)
}

// offlineSerials counts serials down per device and second.
type offlineSerials struct {
	mu     sync.Mutex
	next   map[offlineKey]int
	newest int64
}

type offlineKey struct {
	device string
	second int64
}

const offlineSerialFloor = 50000

func (o *offlineSerials) take(device string, t time.Time, k int) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.next == nil {
		o.next = map[offlineKey]int{}
	}
	key := offlineKey{device, t.Unix()}
	n, ok := o.next[key]
	if !ok {
		n = 99999
	}
	if n-k < offlineSerialFloor {
		return 0, fmt.Errorf("more than %d offline IDs for device %s in one second", 99999-offlineSerialFloor, device)
	}
	o.next[key] = n - k
	o.newest = max(o.newest, key.second)
	if len(o.next) > 4096 { // seconds an hour behind the newest are over
		for old := range o.next {
			if old.second < o.newest-3600 {
				delete(o.next, old)
			}
		}
	}
	return n - k + 1, nil // the first of k: n-k+1 … n
}
