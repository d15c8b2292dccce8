package workers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cityeye/cityeye/testdata/testkit"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/models/onnxpb"
	"github.com/cityeye/cityeye/models/preprocess"
)

const tinyModel = "tiny-detector"

// constantDetector is a YOLOv8-layout detector ([B, 4+1, 1]) that ignores the pixels
// and finds one object (box centre 4,4, size 4×4 in its 8×8 input) scored score in
// every image: the version serving a frame shows in the frame's result.
func constantDetector(t *testing.T, score float32) []byte {
	t.Helper()
	g := onnxpb.NewGraph("constant")
	g.AddInput("images", onnxpb.TensorProto_FLOAT, []int64{-1, 3, 8, 8})
	g.AddInitializerInt64("shape", []int64{3}, []int64{-1, 1, 1})
	g.AddInitializer("zero", []int64{}, []float32{0})
	g.AddInitializer("row", []int64{1, 5, 1}, []float32{4, 4, 4, 4, score})
	g.AddNode("ReduceMean", []string{"images"}, []string{"mean"}, onnxpb.AttrInts("axes", 1, 2, 3), onnxpb.AttrInt("keepdims", 1))
	g.AddNode("Reshape", []string{"mean", "shape"}, []string{"per_image"})
	g.AddNode("Mul", []string{"per_image", "zero"}, []string{"zeros"})
	g.AddNode("Add", []string{"zeros", "row"}, []string{"output0"}) // [B,1,1] + [1,5,1] → [B,5,1]
	g.AddOutput("output0", onnxpb.TensorProto_FLOAT, []int64{-1, 5, 1})
	data, err := g.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// installTiny installs version with the given ONNX bytes (which need not be a model).
func installTiny(t *testing.T, repo models.Repository, version string, onnx []byte) {
	t.Helper()
	installDetector(t, repo, tinyModel, version, onnx, []string{"thing"})
}

// installDetector installs onnx as a YOLOv8-layout detector name@version with labels.
func installDetector(t *testing.T, repo models.Repository, name, version string, onnx []byte, labels []string) {
	t.Helper()
	sum := sha256.Sum256(onnx)
	params, _ := json.Marshal(decode.YOLOConfig{Layout: "v8", Output: "output0", ScoreThreshold: 0.25, IoUThreshold: 0.45})
	m := models.Manifest{Name: name, Version: version, Task: models.TaskDetection, File: "model.onnx",
		SHA256: hex.EncodeToString(sum[:]), License: "MIT", MaxBatch: 4,
		Input:   preprocess.Spec{Width: 8, Height: 8, Resize: preprocess.Stretch, Color: "rgb", Layout: "nchw", Scale: 1.0 / 255},
		Decoder: models.Decoder{Type: "yolo", Params: params}, Labels: labels}
	if err := repo.Install(m, map[string][]byte{"model.onnx": onnx}); err != nil {
		t.Fatal(err)
	}
}

// frameLog is what the senders saw, per sender, in order.
type frameLog struct {
	mu     sync.Mutex
	scores [][]float32
	errs   []string
	n      atomic.Int64
}

func (l *frameLog) add(sender int, dets []decode.Detection, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err != nil:
		l.errs = append(l.errs, err.Error())
	case len(dets) != 1:
		l.errs = append(l.errs, fmt.Sprintf("%d detections: %+v", len(dets), dets))
	default:
		l.scores[sender] = append(l.scores[sender], dets[0].Score)
	}
	l.n.Add(1)
}

// TestHotSwapPublishedVersion: frames keep flowing from several senders while v2 is
// published and the worker refreshes; every frame gets a result, each sender sees
// v1's results then v2's and never v1 again, the replaced session is closed. A
// broken v3 is then refused: v2 keeps serving and the failure is reported.
func TestHotSwapPublishedVersion(t *testing.T) {
	if err := engine.Init(); err != nil {
		t.Fatalf("ONNX Runtime: %v (run make setup)", err)
	}
	repo := models.Repository{Root: t.TempDir()}
	installTiny(t, repo, "1", constantDetector(t, 0.6))
	installTiny(t, repo, "2", constantDetector(t, 0.9))
	if err := repo.Publish(tinyModel, "1"); err != nil { // v2 is newer but not published
		t.Fatal(err)
	}
	w := New(context.Background(), Config{Repo: repo, Engine: engine.Options{Provider: engine.ProviderCPU, IntraOpThreads: 1},
		BatchWait: 2 * time.Millisecond, ModelCheck: -1}, nil)
	defer func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	}()
	b, err := w.batcher(tinyModel, "")
	if err != nil {
		t.Fatal(err)
	}
	v1 := b.Model()
	if v := v1.Manifest.Version; v != "1" {
		t.Fatalf("loaded %s, want the published 1", v)
	}

	const senders = 3
	log := &frameLog{scores: make([][]float32, senders)}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			img := gocv.NewMatWithSize(16, 16, gocv.MatTypeCV8UC3)
			defer img.Close()
			for ctx.Err() == nil {
				b, err := w.batcher(tinyModel, "") // as a pipeline does, per frame
				if err != nil {
					log.add(s, nil, err)
					continue
				}
				dets, err := b.Detect(context.Background(), fmt.Sprint("stream", s), img)
				log.add(s, dets, err)
			}
		}()
	}
	stopped := false
	finish := func() {
		if !stopped {
			stopped = true
			stop()
			wg.Wait()
		}
	}
	defer finish()
	since := func(n int64) func() bool { return func() bool { return log.n.Load() >= n } }

	testkit.WaitFor(t, 20*time.Second, "frames on v1", since(50))
	if err := repo.Publish(tinyModel, "2"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	w.RefreshModels()
	t.Logf("refresh to v2 took %v", time.Since(start))
	testkit.WaitFor(t, 20*time.Second, "frames on v2", since(log.n.Load()+50))

	st := b.Stats()
	if st.Version != "2" || st.Swaps != 1 || st.SwapError != "" {
		t.Fatalf("after publishing v2: %+v", st)
	}
	if _, err := v1.Detect([]gocv.Mat{gocv.NewMatWithSize(8, 8, gocv.MatTypeCV8UC3)}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("the replaced v1 session was not closed: %v", err)
	}
	w.RefreshModels() // nothing changed: no swap
	if st := b.Stats(); st.Swaps != 1 {
		t.Fatalf("a refresh without a new version swapped: %+v", st)
	}

	// v3: the digest matches, so only creating the session fails
	installTiny(t, repo, "3", []byte("this is not an ONNX model, whatever its sha256 says"))
	if err := repo.Publish(tinyModel, "3"); err != nil {
		t.Fatal(err)
	}
	mark := log.n.Load()
	w.RefreshModels()
	testkit.WaitFor(t, 20*time.Second, "frames after the failed swap", since(mark+50))
	st = b.Stats()
	if st.Version != "2" || st.Swaps != 1 || !strings.Contains(st.SwapError, tinyModel+"@3") {
		t.Fatalf("after publishing a broken v3: %+v", st)
	}
	t.Logf("swap error: %s", st.SwapError)
	w.refreshModels(false) // the periodic check does not load the broken v3 again
	if got := b.Stats(); got.SwapError != st.SwapError || got.Version != "2" {
		t.Fatalf("periodic check after the failure: %+v", got)
	}
	finish()

	// (a) every frame got a result; (b) per sender: 0.6… then 0.9…, never back
	if len(log.errs) > 0 {
		t.Fatalf("%d frames failed, first: %s", len(log.errs), log.errs[0])
	}
	for s, scores := range log.scores {
		var n1, n2 int
		for i, sc := range scores {
			switch {
			case abs(sc-0.6) < 1e-6 && n2 == 0:
				n1++
			case abs(sc-0.9) < 1e-6:
				n2++
			default:
				t.Fatalf("sender %d frame %d: score %v after %d v1 and %d v2 frames", s, i, sc, n1, n2)
			}
		}
		t.Logf("sender %d: %d frames on v1, then %d on v2", s, n1, n2)
		if n2 == 0 {
			t.Errorf("sender %d never saw v2", s)
		}
	}
	var results int64
	for _, sc := range log.scores {
		results += int64(len(sc))
	}
	if st := b.Stats(); st.Frames != results {
		t.Errorf("batcher ran %d frames, senders got %d results", st.Frames, results)
	}

	// publishing the serving version back clears the error
	if err := repo.Publish(tinyModel, "2"); err != nil {
		t.Fatal(err)
	}
	w.RefreshModels()
	if st := b.Stats(); st.SwapError != "" || st.Version != "2" || st.Swaps != 1 {
		t.Fatalf("after publishing v2 again: %+v", st)
	}
	ws := w.Batchers()
	if len(ws) != 1 || ws[0].Model != tinyModel || ws[0].Version != "2" {
		t.Fatalf("worker batchers: %+v", ws)
	}
}

// TestPeriodicModelCheck: without any call, the worker's timer picks up a newly
// published version; a pointer to a missing version is reported, not followed.
func TestPeriodicModelCheck(t *testing.T) {
	if err := engine.Init(); err != nil {
		t.Fatalf("ONNX Runtime: %v (run make setup)", err)
	}
	repo := models.Repository{Root: t.TempDir()}
	installTiny(t, repo, "1", constantDetector(t, 0.6))
	w := New(context.Background(), Config{Repo: repo, Engine: engine.Options{Provider: engine.ProviderCPU, IntraOpThreads: 1},
		BatchWait: time.Millisecond, ModelCheck: 20 * time.Millisecond}, nil)
	defer w.Close()
	b, err := w.batcher(tinyModel, "")
	if err != nil {
		t.Fatal(err)
	}
	installTiny(t, repo, "2", constantDetector(t, 0.9)) // unpublished newest: followed too
	testkit.WaitFor(t, 20*time.Second, "the timer to swap in v2", func() bool { return b.Stats().Version == "2" })
	img := gocv.NewMatWithSize(16, 16, gocv.MatTypeCV8UC3)
	defer img.Close()
	dets, err := b.Detect(context.Background(), "s", img)
	if err != nil || len(dets) != 1 || abs(dets[0].Score-0.9) > 1e-6 {
		t.Fatalf("after the timer's swap: %+v %v", dets, err)
	}
	// the detector's box (4,4)-(12,12) of a 16×16 frame, mapped back from its 8×8 input
	if bx := dets[0].Box; bx != (decode.Box{X1: 4, Y1: 4, X2: 12, Y2: 12}) || dets[0].Label != "thing" {
		t.Fatalf("detection %+v", dets[0])
	}
	if err := repo.Publish(tinyModel, "1"); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 20*time.Second, "the timer to swap back to v1", func() bool { return b.Stats().Version == "1" })
	if err := repo.Publish(tinyModel, "2"); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 20*time.Second, "the timer to swap to v2 again", func() bool { return b.Stats().Version == "2" })
	if st := b.Stats(); st.Swaps != 3 || st.SwapError != "" {
		t.Fatalf("stats %+v", st)
	}
	// a pointer to a version that is not installed: reported, v2 keeps serving
	if err := os.WriteFile(filepath.Join(repo.Root, tinyModel, models.PublishedFile), []byte("7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 20*time.Second, "the timer to report the dangling pointer", func() bool { return b.Stats().SwapError != "" })
	if st := b.Stats(); st.Version != "2" || st.Swaps != 3 || !strings.Contains(st.SwapError, "version 7, which is not installed") {
		t.Fatalf("dangling pointer: %+v", st)
	}
	if dets, err := b.Detect(context.Background(), "s", img); err != nil || len(dets) != 1 || abs(dets[0].Score-0.9) > 1e-6 {
		t.Fatalf("with a dangling pointer: %+v %v", dets, err)
	}
}

func abs(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
