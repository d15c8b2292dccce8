package store

import (
	"context"
	"errors"
	"testing"
)

// HA follow-up: the leader publishes its URL and workers view for the other
// servers; a deposed leader (a later epoch exists) cannot overwrite the new one's.
func TestLeaderViewPublishedUnderItsEpoch(t *testing.T) {
	forEachBackendReopen(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		a, b := open(), open()
		if v, err := b.LeaderView(ctx); err != nil || v.URL != "" || len(v.View) != 0 || !v.At.IsZero() {
			t.Fatalf("before any leader: %+v %v", v, err)
		}
		la, err := a.TryLead(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if err := la.Publish(ctx, "http://a:8080", []byte(`{"workers":[{"id":"w1"}]}`)); err != nil {
			t.Fatal(err)
		}
		v, err := b.LeaderView(ctx)
		if err != nil || v.URL != "http://a:8080" || string(v.View) != `{"workers":[{"id":"w1"}]}` || v.Epoch != la.Epoch || v.Holder != "a" || v.At.IsZero() {
			t.Fatalf("the other server reads %+v %v", v, err)
		}
		la.Release()
		lb, err := b.TryLead(ctx, "b")
		if err != nil {
			t.Fatal(err)
		}
		defer lb.Release()
		deposed := &Leadership{Epoch: la.Epoch, db: a}
		if err := deposed.Publish(ctx, "http://a:8080", []byte(`{}`)); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("a deposed leader published: %v", err)
		}
		if err := lb.Publish(ctx, "http://b:8080", []byte(`{"workers":[]}`)); err != nil {
			t.Fatal(err)
		}
		if v, _ := a.LeaderView(ctx); v.URL != "http://b:8080" || v.Epoch != lb.Epoch {
			t.Fatalf("after the takeover: %+v", v)
		}
	})
}
