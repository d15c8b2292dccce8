package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// Sets, scores and gates on both dialects: a name is taken once, a score is
// replaced in place (running → done), deleting a set deletes its scores, and a
// model's own gate wins over the general one.
func TestEvalSetsScoresGates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		set := EvalSet{Name: "street", Task: "detection", SHA256: "ab", Images: 5, Spec: json.RawMessage(`{"task":"detection"}`), CreatedBy: "admin"}
		if err := db.CreateEvalSet(ctx, &set); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateEvalSet(ctx, &set); !errors.Is(err, ErrConflict) {
			t.Fatalf("second create: %v", err)
		}
		score := ModelScore{Vendor: "acme", Name: "nanodet", Version: "1.0.0", Set: "street", SetSHA256: "ab", State: ScoreRunning, Progress: 40}
		if err := db.PutModelScore(ctx, score); err != nil {
			t.Fatal(err)
		}
		score.State, score.Progress, score.Score = ScoreDone, 100, json.RawMessage(`{"value":0.8}`)
		if err := db.PutModelScore(ctx, score); err != nil {
			t.Fatal(err)
		}
		got, err := db.ListModelScores(ctx, "acme", "nanodet", "1.0.0")
		if err != nil || len(got) != 1 || got[0].State != ScoreDone || string(got[0].Score) != `{"value":0.8}` {
			t.Fatalf("scores %+v %v", got, err)
		}
		one, two := 1.0, 5.0
		db.SetGate(ctx, "", &one, "admin")
		if g, ok, _ := db.GateFor(ctx, "acme/nanodet"); !ok || g.MaxDropPoints != 1 || g.Model != "" {
			t.Fatalf("general gate %+v %v", g, ok)
		}
		db.SetGate(ctx, "acme/nanodet", &two, "admin")
		db.SetGate(ctx, "acme/nanodet", &two, "admin")
		if g, _, _ := db.GateFor(ctx, "acme/nanodet"); g.MaxDropPoints != 5 {
			t.Fatalf("own gate %+v", g)
		}
		db.SetGate(ctx, "", nil, "admin")
		db.SetGate(ctx, "acme/nanodet", nil, "admin")
		if _, ok, _ := db.GateFor(ctx, "acme/nanodet"); ok {
			t.Fatal("gates removed but one applies")
		}
		if err := db.DeleteEvalSet(ctx, "street"); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.ListModelScores(ctx, "acme", "nanodet", "1.0.0"); len(got) != 0 {
			t.Fatalf("scores of a deleted set: %v", got)
		}
		if err := db.DeleteEvalSet(ctx, "street"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
	})
}

// A canary row is replaced whole; a conditional update loses to a change made
// meanwhile (the monitor and an admin at once).
func TestCanaryRow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		at := now()
		c := Canary{Vendor: "acme", Name: "nanodet", Version: "1.1.0", State: CanaryRunning, Cameras: []string{"44150200001310000001"}, Steps: []int{0, 50},
			StepSeconds: 60, MaxErrorRate: 0.05, MaxLatencyMS: 300, MinFrames: 50, StartedBy: "admin", StartedAt: at, StepAt: at}
		if err := db.PutCanary(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
		old := c
		c.Step = 1
		if err := db.PutCanary(ctx, c, &old); err != nil {
			t.Fatal(err)
		}
		stale := old
		stale.State = CanaryRolledBack
		if err := db.PutCanary(ctx, stale, &old); !errors.Is(err, ErrState) {
			t.Fatalf("a stale update: %v", err)
		}
		got, err := db.GetCanary(ctx, "acme", "nanodet")
		if err != nil || got.Step != 1 || got.Percent() != 50 || got.Cameras[0] != "44150200001310000001" || !got.StartedAt.Equal(at) || !got.EndedAt.IsZero() {
			t.Fatalf("%+v %v", got, err)
		}
		if cs, _ := db.ListCanaries(ctx, CanaryRunning); len(cs) != 1 {
			t.Fatalf("running: %v", cs)
		}
	})
}

// A shadow run keeps its report; once ended it takes no more.
func TestShadowRunRow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		r := ShadowRun{ID: "r1", Vendor: "platform", Name: "nanodet", Version: "9.0.0", Streams: []string{"44150200001310000021"}, StartedBy: "admin", EndsAt: now().Add(time.Hour)}
		if err := db.CreateShadowRun(ctx, &r); err != nil {
			t.Fatal(err)
		}
		if err := db.SaveShadowReport(ctx, "r1", json.RawMessage(`{"frames":3}`), ShadowRunning, now()); err != nil {
			t.Fatal(err)
		}
		if err := db.SaveShadowReport(ctx, "r1", json.RawMessage(`{"frames":5}`), ShadowDone, now()); err != nil {
			t.Fatal(err)
		}
		if err := db.SaveShadowReport(ctx, "r1", json.RawMessage(`{"frames":9}`), ShadowRunning, now()); !errors.Is(err, ErrState) {
			t.Fatalf("a report after the end: %v", err)
		}
		runs, err := db.ListShadowRuns(ctx, ShadowFilter{Vendor: "platform", Name: "nanodet", Version: "9.0.0"})
		if err != nil || len(runs) != 1 || runs[0].State != ShadowDone || string(runs[0].Report) != `{"frames":5}` || runs[0].EndedAt.IsZero() || runs[0].Streams[0] != "44150200001310000021" {
			t.Fatalf("%+v %v", runs, err)
		}
		if running, _ := db.ListShadowRuns(ctx, ShadowFilter{State: ShadowRunning}); len(running) != 0 {
			t.Fatalf("running: %v", running)
		}
	})
}
