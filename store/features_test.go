package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cityeye/cityeye/auth"
)

// unit returns a unit vector of dim 8 leaning towards axis i by w (w=1: the axis).
func unit(i int, w float32) []float32 {
	v := make([]float32, 8)
	v[i] = w
	v[(i+1)%8] = 1 - w
	return v
}

// Features on both databases: upsert, search within the scope, the time window and
// the cameras, best first, top k, floor, model and dimension kept apart; orphans pruned.
func TestRecordFeatures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
		add := func(n int, dept, division, device string, vec []float32) string {
			id := fmt.Sprintf("%s0220261122080000%05d0600001", device, n)
			r := &Record{ID: id, Type: "Face", DeviceID: device, TaskID: "t", DeptID: dept, Division: division, TrackKey: id,
				ShotTime: t0.Add(time.Duration(n) * time.Minute), Body: []byte(`{}`), Images: []string{"a-scene.jpg", "a-crop.jpg"}}
			if _, err := db.SaveRecord(ctx, r); err != nil {
				t.Fatal(err)
			}
			if err := db.SaveFeature(ctx, Feature{RecordID: id, Model: "m", Vector: vec, Quality: float64(n)}); err != nil {
				t.Fatal(err)
			}
			return id
		}
		const camA, camB, camW = "44150200001310000001", "44150200001310000002", "44030500001310000004"
		a1 := add(1, "police", "441502", camA, unit(0, 1))
		a2 := add(2, "police", "441502", camA, unit(0, 0.9))
		b3 := add(3, "police", "441502", camB, unit(0, 0.6))
		b4 := add(4, "police", "441502", camB, unit(3, 1))
		w5 := add(5, "water", "440305", camW, unit(0, 1))
		// an update replaces the vector
		if err := db.SaveFeature(ctx, Feature{RecordID: a2, Model: "m", Vector: unit(0, 0.95), Quality: 2, Attrs: map[string]string{"k": "v"}}); err != nil {
			t.Fatal(err)
		}
		if f, err := db.GetFeature(ctx, a2); err != nil || f.Vector[0] != 0.95 || f.Attrs["k"] != "v" {
			t.Fatalf("feature %+v %v", f, err)
		}
		if _, err := db.GetFeature(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing feature: %v", err)
		}
		police := auth.Scope{Dept: "police", Areas: []string{"441500"}}
		q := FeatureQuery{Scope: police, Type: "Face", Model: "m", Vector: unit(0, 1), TopK: 10, MinScore: -1}
		ids := func(ms []FeatureMatch) []string {
			var out []string
			for _, m := range ms {
				out = append(out, m.RecordID)
			}
			return out
		}
		ms, n, trunc, err := db.SearchFeatures(ctx, q)
		if err != nil || n != 4 || trunc || fmt.Sprint(ids(ms)) != fmt.Sprint([]string{a1, a2, b3, b4}) {
			t.Fatalf("search: %v %d %v %v", ids(ms), n, trunc, err)
		}
		if ms[0].Score < 0.9999 || ms[0].DeviceID != camA || !ms[0].ShotTime.Equal(t0.Add(time.Minute)) || len(ms[0].Images) != 2 || ms[0].Quality != 1 {
			t.Fatalf("first match %+v", ms[0])
		}
		q.TopK = 2
		if ms, _, _, _ := db.SearchFeatures(ctx, q); fmt.Sprint(ids(ms)) != fmt.Sprint([]string{a1, a2}) {
			t.Fatalf("top 2: %v", ids(ms))
		}
		q.TopK, q.MinScore = 10, 0.5
		if ms, _, _, _ := db.SearchFeatures(ctx, q); len(ms) != 3 {
			t.Fatalf("floor 0.5: %v", ids(ms))
		}
		q.MinScore, q.DeviceIDs = -1, []string{camB}
		if ms, _, _, _ := db.SearchFeatures(ctx, q); fmt.Sprint(ids(ms)) != fmt.Sprint([]string{b3, b4}) {
			t.Fatalf("camera B: %v", ids(ms))
		}
		q.DeviceIDs, q.From, q.To = nil, t0.Add(2*time.Minute), t0.Add(3*time.Minute)
		if ms, _, _, _ := db.SearchFeatures(ctx, q); fmt.Sprint(ids(ms)) != fmt.Sprint([]string{a2, b3}) {
			t.Fatalf("window: %v", ids(ms))
		}
		q.From, q.To = time.Time{}, time.Time{}
		q.Scope = auth.Scope{Dept: "water", Areas: []string{"440300"}}
		if ms, _, _, _ := db.SearchFeatures(ctx, q); fmt.Sprint(ids(ms)) != fmt.Sprint([]string{w5}) {
			t.Fatalf("water: %v", ids(ms))
		}
		q.Scope = auth.Scope{All: true}
		if _, n, _, _ := db.SearchFeatures(ctx, q); n != 5 {
			t.Fatalf("platform sees %d", n)
		}
		q.Model = "other"
		if ms, _, _, _ := db.SearchFeatures(ctx, q); len(ms) != 0 {
			t.Fatalf("another model's features compared: %v", ids(ms))
		}
		q.Model, q.Vector = "m", make([]float32, 4)
		q.Vector[0] = 1
		if ms, _, _, _ := db.SearchFeatures(ctx, q); len(ms) != 0 {
			t.Fatalf("another dimension compared: %v", ids(ms))
		}
		// a feature whose record is gone is pruned
		if err := db.SaveFeature(ctx, Feature{RecordID: "gone", Model: "m", Vector: unit(1, 1)}); err != nil {
			t.Fatal(err)
		}
		if n, err := db.PruneFeatures(ctx); err != nil || n != 1 {
			t.Fatalf("pruned %d %v", n, err)
		}
	})
}
