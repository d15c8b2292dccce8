package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
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
