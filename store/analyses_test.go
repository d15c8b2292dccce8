package store

import (
	"context"
	"errors"
	"testing"
)

func TestAnalysisLifecycle(t *testing.T) { forEachBackend(t, testAnalysesLifecycle) }

func testAnalysesLifecycle(t *testing.T, db *DB) {
	ctx := context.Background()
	a := &Analysis{ID: "a1", DeptID: "police", UserID: "u", DeviceID: "44150200001310000002", URL: "file:///v.mp4", Algorithm: "face_capture"}
	if err := db.CreateAnalysis(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAnalysis(ctx, &Analysis{ID: "a2", DeptID: "market", Params: []byte(`{"sample_fps":2}`)}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAnalysis(ctx, a); !errors.Is(err, ErrConflict) {
		t.Fatalf("second create: %v", err)
	}
	if err := db.StartAnalysis(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	if err := db.StartAnalysis(ctx, "a1"); err != nil { // an interrupted run starts again
		t.Fatal(err)
	}
	if err := db.FinishAnalysis(ctx, "a1", 60, 3, ""); err != nil {
		t.Fatal(err)
	}
	if err := db.StartAnalysis(ctx, "a1"); !errors.Is(err, ErrState) {
		t.Fatalf("start after done: %v", err)
	}
	if err := db.StartAnalysis(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("start missing: %v", err)
	}
	got, err := db.GetAnalysis(ctx, "a1")
	if err != nil || got.State != "done" || got.Frames != 60 || got.Records != 3 || got.StartedAt.IsZero() || got.FinishedAt.IsZero() || string(got.Params) != "{}" {
		t.Fatalf("got %+v %v", got, err)
	}
	if err := db.FinishAnalysis(ctx, "a2", 0, 0, "video: broken"); err != nil {
		t.Fatal(err)
	}
	if all, err := db.ListAnalyses(ctx, "", 0); err != nil || len(all) != 2 {
		t.Fatalf("all: %v %v", all, err)
	}
	mk, err := db.ListAnalyses(ctx, "market", 0)
	if err != nil || len(mk) != 1 || mk[0].State != "failed" || mk[0].Error != "video: broken" || string(mk[0].Params) != `{"sample_fps":2}` {
		t.Fatalf("market: %+v %v", mk, err)
	}
}
