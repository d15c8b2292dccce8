package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Issue 19 item 3: one scheduler leader at a time. A second process (another
// connection pool on the same database) cannot lead while the first holds the
// lock; when the first lets go (its session ends, as when it is killed) the second
// takes over with a higher epoch, and the first one's Check fails.
func TestOneSchedulerLeaderWithFencingEpoch(t *testing.T) {
	forEachBackendReopen(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		a, b := open(), open()
		la, err := a.TryLead(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if err := la.Check(ctx); err != nil {
			t.Fatalf("the leader's own check: %v", err)
		}
		_, pg := b.dialect.(postgresDialect)
		if !pg {
			return // one process: SQLite's leader is whoever asks (embedded mode)
		}
		if _, err := b.TryLead(ctx, "b"); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("second leader: %v", err)
		}
		la.Release()
		lb, err := b.TryLead(ctx, "b")
		if err != nil {
			t.Fatal(err)
		}
		defer lb.Release()
		if lb.Epoch <= la.Epoch {
			t.Fatalf("epoch %d after %d", lb.Epoch, la.Epoch)
		}
		// a deposed leader whose session survived (it was not killed) sees the new epoch
		la2 := &Leadership{Epoch: la.Epoch, db: a}
		if err := la2.Check(ctx); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("deposed leader's check: %v", err)
		}
	})
}

// Issue 19 item 3: VIID sessions and the Digest replay cache live in the database,
// so a second server (or the same one restarted) sees them.
func TestVIIDSessionsAndReplayShared(t *testing.T) {
	forEachBackendReopen(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		a, b := open(), open()
		now := time.Now()
		if err := a.PutVIIDSession(ctx, VIIDSession{DeviceID: "d1", Remote: "10.1.1.1", RegisteredAt: now, LastSeen: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := b.TouchVIIDSession(ctx, "d1", now.Add(30*time.Second), now.Add(90*time.Second)); err != nil {
			t.Fatalf("keepalive on the other server: %v", err)
		}
		if x, err := a.GetVIIDSession(ctx, "d1", now.Add(80*time.Second)); err != nil || x.Remote != "10.1.1.1" {
			t.Fatalf("session after keepalive: %+v %v", x, err)
		}
		if err := b.TouchVIIDSession(ctx, "d1", now.Add(2*time.Minute), now.Add(3*time.Minute)); !errors.Is(err, ErrExpired) {
			t.Fatalf("keepalive after expiry: %v", err)
		}
		if err := b.TouchVIIDSession(ctx, "d1", now, now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("keepalive with no session: %v", err)
		}
		for i, want := range []bool{true, false} {
			fresh, err := []*DB{a, b}[i].RememberOnce(ctx, "nonce\x00001\x00c", now.Add(time.Minute), now)
			if err != nil || fresh != want {
				t.Fatalf("replay cache on server %d: %v %v, want %v", i, fresh, err, want)
			}
		}
		ka, _ := a.ClusterSecret(ctx, "k")
		kb, _ := b.ClusterSecret(ctx, "k")
		if len(ka) != 32 || string(ka) != string(kb) {
			t.Fatalf("shared secret differs: %x %x", ka, kb)
		}
	})
}

// Issue 19 item 2: a notification and the job that delivers it commit together; a
// dispatch racing another server's writes nothing.
func TestDispatchWritesItsJobToTheOutbox(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		sub := Subscription{ID: "s1", Kind: "alerts", UserID: "u", DeptID: "d", ReceiveAddr: "http://x", ReportInterval: 1}
		if err := db.CreateSubscription(ctx, &sub); err != nil {
			t.Fatal(err)
		}
		n := &Notification{ID: "n1", SubID: "s1", DeptID: "d", Items: []string{"a1"}, Body: []byte(`{}`)}
		next := Feed{AddAt: sub.CursorAt + 1, AddID: "a1"}
		if err := db.Dispatch(ctx, sub, []*Notification{n}, next, time.Now(), OutboxJob{Kind: "viid.notify", Key: "n1"}); err != nil {
			t.Fatal(err)
		}
		stale := &Notification{ID: "n2", SubID: "s1", DeptID: "d", Items: []string{"a1"}, Body: []byte(`{}`)}
		if err := db.Dispatch(ctx, sub, []*Notification{stale}, next, time.Now(), OutboxJob{Kind: "viid.notify", Key: "n2"}); !errors.Is(err, ErrCursorMoved) {
			t.Fatalf("dispatch from a stale cursor: %v", err)
		}
		if _, err := db.GetNotification(ctx, "n2"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("the stale dispatch left its notification: %v", err)
		}
		js, err := db.PendingOutbox(ctx, 10)
		if err != nil || len(js) != 1 || js[0].Key != "n1" {
			t.Fatalf("outbox %+v %v", js, err)
		}
		if err := db.DeleteOutbox(ctx, js[0].ID); err != nil {
			t.Fatal(err)
		}
		if js, _ := db.PendingOutbox(ctx, 10); len(js) != 0 {
			t.Fatalf("outbox after delete: %+v", js)
		}
	})
}
