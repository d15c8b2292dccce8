package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/testdata"
)

// A face disposition set by photo (Grace Hopper's portrait) catches her captures
// (faces embedded from faceclip.mp4, as face capture stores them) and none of the
// others (Megamind.avi's faces); each catch is an alert whose image puts the
// watched photo beside the capture. A department cannot watch outside its areas,
// and a photo without a face or a bad threshold is refused naming the field.
func TestFaceDispositionCatchesTheWatchedFace(t *testing.T) {
	f := newFaceFixture(t)
	ctx := context.Background()
	f.json("POST", "/api/v1/users", "admin", `{"id":"police_op","name":"op","department":"police","role":"operator"}`, 201)
	f.tok["police_op"] = f.json("POST", "/api/v1/users/police_op/tokens", "admin", `{"name":"t"}`, 201)["token"].(string)
	photo, err := os.ReadFile(testdata.Media(t, "grace_hopper_512x512.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(photo)
	end := time.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339)
	body := func(extra string) string {
		return `{"category":"face","title":"missing person","reason":"family report 118","end":"` + end + `","faces":["` + b64 + `"]` + extra + `}`
	}
	if out := f.json("POST", "/api/v1/dispositions", "water_op", body(`,"areas":["441502"]`), 400); out["field"] != "areas" {
		t.Errorf("outside the department's areas: %v", out)
	}
	if out := f.json("POST", "/api/v1/dispositions", "police_op", body(`,"threshold":1.5`), 400); out["field"] != "threshold" {
		t.Errorf("bad threshold: %v", out)
	}
	noFace, _ := os.ReadFile(testdata.Media(t, "640px-IceBlockNearJoekullsarlon.jpg"))
	if out := f.json("POST", "/api/v1/dispositions", "police_op", `{"category":"face","title":"t","reason":"r","end":"`+end+`","faces":["`+
		base64.StdEncoding.EncodeToString(noFace)+`"]}`, 422); out["field"] != "faces" {
		t.Errorf("a photo without a face: %v", out)
	}
	d := f.json("POST", "/api/v1/dispositions", "police_op", body(`,"areas":["441502"]`), 201)
	if err := f.srv.MatchDispositions(ctx); err != nil { // places the cursors
		t.Fatal(err)
	}

	t0 := time.Now().UTC().Add(time.Second) // after the disposition began
	hopper, others := faces(t, "faceclip.mp4", 25, 0), faces(t, "Megamind.avi", 15, 100)
	who := map[string]bool{}
	for i, v := range append(append([][]float32{}, hopper...), others...) {
		id := f.seed(faceRecord{"", "police", "44150200001310000001", "441502", t0.Add(time.Duration(i) * time.Second), v}, i+1)
		r, _ := f.db.GetRecord(ctx, auth.Scope{All: true}, id)
		for _, k := range r.Images {
			f.srv.Objects.Put(ctx, k, photo, "image/jpeg")
		}
		who[id] = i < len(hopper)
	}
	if err := f.srv.MatchDispositions(ctx); err != nil {
		t.Fatal(err)
	}
	hits, err := f.db.ListHits(ctx, d["id"].(string), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		if !who[h.RecordID] || h.Score < DefaultFaceThreshold {
			t.Errorf("hit %+v is not Hopper's or under the threshold", h)
		}
	}
	if len(hits) != len(hopper) {
		t.Errorf("%d hits, want Hopper's %d captures", len(hits), len(hopper))
	}
	as, _ := f.db.ListAlerts(ctx, store.AlertFilter{Kind: "disposition.face", Scope: auth.Scope{All: true}, Limit: 100})
	if len(as) != len(hopper) || as[0].DeptID != "police" || as[0].Level != 2 {
		t.Fatalf("alerts: %d, %+v", len(as), as)
	}
	img, _ := f.srv.Objects.Get(ctx, as[0].Image)
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(img)); err != nil || cfg.Height != hitImageHeight || cfg.Width != 2*hitImageHeight {
		t.Errorf("alert image (watched photo beside the capture, both square): %+v %v", cfg, err)
	}
	// the watched photo is the department's to see
	watched := d["targets"].([]any)[0].(map[string]any)["image"].(string)
	f.json("GET", "/api/v1/objects/"+watched, "police_op", "", 200)
	f.json("GET", "/api/v1/objects/"+watched, "water_op", "", 404) // another department's
}

// randomUnit is a random L2-normalised vector.
func randomUnit(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	var n float64
	for i := range v {
		x := r.NormFloat64()
		v[i], n = float32(x), n+x*x
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(n))
	}
	return v
}

// BenchmarkDispositionFaceMatch is the matching cost of one face capture against
// the watched faces in force (docs/bench/dispositions.md): 10 dispositions sharing
// the faces, 192-d features (mobilefacenet).
func BenchmarkDispositionFaceMatch(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("watched=%d", n), func(b *testing.B) {
			ds := make([]store.Disposition, 10)
			for i := range ds {
				ds[i] = store.Disposition{ID: fmt.Sprint(i), Category: "face", Threshold: DefaultFaceThreshold, End: time.Now().Add(time.Hour)}
				for j := 0; j < n/len(ds); j++ {
					ds[i].Targets = append(ds[i].Targets, store.DispositionTarget{N: j, Model: algorithms.FaceEmbedModel, Vector: randomUnit(r, 192)})
				}
			}
			idx := newWatchIndex(ds)
			w := store.Watched{Record: store.Record{ShotTime: time.Now()}, Model: algorithms.FaceEmbedModel, Vector: randomUnit(r, 192)}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				idx.faceHits(w)
			}
		})
	}
}
