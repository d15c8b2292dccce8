package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers"
)

// Retention per data class, in small batches: old records go with their images,
// scene images go before crops, alerts on their own clock; afterwards no record
// points at a missing image and nothing is left pending.
func TestRetentionSweep(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Now()
	cam := cameras[1]
	mk := func(age time.Duration, serial int) store.Record {
		shot := now.Add(-age)
		id := gat1400.ContentID(gat1400.SourceID(cam.id, gat1400.SourceImage, shot, serial), gat1400.SubtypeFace, 1)
		prefix := fmt.Sprintf("snapshots/%s/%s/%s-v1", cam.id, shot.Format("20060102"), id)
		scene, crop := prefix+"-scene.jpg", prefix+"-crop.jpg"
		for _, k := range []string{scene, crop} {
			f.objs.Put(ctx, k, []byte("jpeg"), "image/jpeg")
		}
		body, _ := json.Marshal(map[string]any{"FaceID": id, "SubImageList": map[string]any{"SubImageInfoObject": []any{
			map[string]any{"Type": "14", "StoragePath": f.objs.URI(scene)}, map[string]any{"Type": "11", "StoragePath": f.objs.URI(crop)}}}})
		r := store.Record{ID: id, Type: "Face", DeviceID: cam.id, TaskID: "t", DeptID: "police", Division: cam.division, TrackKey: id,
			ShotTime: shot, Body: body, Images: []string{scene, crop}}
		if _, err := f.db.SaveRecord(ctx, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	day := 24 * time.Hour
	var old []store.Record
	for i := range 5 {
		old = append(old, mk(400*day, i+1))
		mk(100*day, i+11)
		mk(day, i+21)
	}
	for i, age := range []time.Duration{120 * day, 10 * day} {
		key := fmt.Sprintf("alerts/%s/x/A%d.jpg", cam.id, i)
		f.objs.Put(ctx, key, []byte("jpeg"), "image/jpeg")
		if err := f.db.SaveAlert(ctx, &store.Alert{ID: fmt.Sprintf("A%d", i), Kind: "fire.smoke", Level: 2, DeviceID: cam.id, DeptID: "police",
			Division: cam.division, Time: now.Add(-age), Image: key, Boxes: []byte("[]"), Details: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := workers.SweepRetention(ctx, f.db, f.objs, workers.Retention{RecordDays: 365, SceneDays: 30, CropDays: 200, AlertDays: 90, Batch: 2}, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("swept %+v", rep)
	// 5 old records gone (their 5 scenes were expired first, then records with crops);
	// 5 mid records lost their scene only
	if rep.Records != 5 || rep.Scenes != 10 || rep.Crops != 5 || rep.Alerts != 1 {
		t.Errorf("report %+v", rep)
	}
	all, _, _ := f.db.ListRecords(ctx, store.RecordFilter{Scope: auth.Scope{All: true}, Limit: 100})
	if len(all) != 10 {
		t.Fatalf("%d records left, want 10", len(all))
	}
	for _, r := range all {
		for _, k := range r.Images {
			if _, err := f.objs.Get(ctx, k); err != nil {
				t.Errorf("record %s points at missing image %s", r.ID, k)
			}
		}
		isMid := r.ShotTime.Before(now.Add(-50 * day))
		if isMid && (len(r.Images) != 1 || !strings.HasSuffix(r.Images[0], "-crop.jpg") || strings.Contains(string(r.Body), "-scene.jpg")) {
			t.Errorf("100-day-old record %s: images %v body %s", r.ID, r.Images, r.Body)
		}
		if !isMid && len(r.Images) != 2 {
			t.Errorf("fresh record %s lost images: %v", r.ID, r.Images)
		}
	}
	for _, r := range old {
		for _, k := range r.Images {
			if _, err := f.objs.Get(ctx, k); err == nil {
				t.Errorf("expired image %s still stored", k)
			}
		}
	}
	if p, _ := f.db.Pending(ctx); len(p) != 0 {
		t.Errorf("pending after the sweep: %v", p)
	}
	if as, _ := f.db.ListAlerts(ctx, store.AlertFilter{Scope: auth.Scope{All: true}}); len(as) != 1 || as[0].ID != "A1" {
		t.Errorf("alerts left: %+v", as)
	}
}
