package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/onnxpb"
	"github.com/cityeye/cityeye/models/preprocess"
	"github.com/cityeye/cityeye/models/warehouse"
)

// hostileModel is a one-output "classifier" over an 8×8 image whose output adds the
// image mean to what body computes from the graph's constants (body returns its
// scalar's name): it passes every declared check, so only running it shows the harm.
func hostileModel(t *testing.T, body func(g *onnxpb.Graph) string) []byte {
	t.Helper()
	g := onnxpb.NewGraph("hostile")
	g.AddInput("image", onnxpb.TensorProto_FLOAT, []int64{1, 3, 8, 8})
	g.AddOutput("out", onnxpb.TensorProto_FLOAT, []int64{1, 1})
	g.AddNode("ReduceMean", []string{"image"}, []string{"mean"}, onnxpb.AttrInt("keepdims", 0))
	g.AddNode("Add", []string{"mean", body(g)}, []string{"sum"})
	g.AddInitializerInt64("out_shape", []int64{2}, []int64{1, 1})
	g.AddNode("Reshape", []string{"sum", "out_shape"}, []string{"out"})
	b, err := g.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// filled adds ConstantOfShape(dims) of value v and returns its name.
func filled(g *onnxpb.Graph, name string, v float32, dims ...int64) string {
	g.AddInitializerInt64(name+"_dims", []int64{int64(len(dims))}, dims)
	g.AddNode("ConstantOfShape", []string{name + "_dims"}, []string{name}, onnxpb.AttrTensor("value", onnxpb.FloatTensor("v", []int64{1}, []float32{v})))
	return name
}

func hostileManifest(version string) models.Manifest {
	return models.Manifest{Vendor: "acme", Name: "hostile", Version: version, Task: models.TaskClassification, License: "MIT",
		Input:   preprocess.Spec{Width: 8, Height: 8, Resize: "stretch", Color: "rgb", Layout: "nchw", Scale: 1, Mean: [3]float32{0, 0, 0}, Std: [3]float32{1, 1, 1}},
		Decoder: models.Decoder{Type: "classification", Params: json.RawMessage(`{"output":"out","top_k":1}`)}, Labels: []string{"x"}}
}

// Issue 14 item 10: a vendor's model that reads a server file as external tensor
// data, one that allocates 1.2 GB and one that burns CPU seconds on a blank frame.
// The checks run in a sandboxed child process with memory and CPU limits (here 1 GiB
// and 2 s): each upload is refused with a 422 naming the model, quickly, and the API
// process is untouched. Uploads beyond the concurrent cap get 429 while one streams.
func TestWarehouseSandboxesUntrustedModels(t *testing.T) {
	f := newFixture(t)
	w := f.withWarehouse(f.objs)
	w.Limits = warehouse.Limits{Memory: 1 << 30, CheckCPU: 2 * time.Second, CheckWall: time.Minute}
	f.srv.MaxConcurrentUploads = 1
	os.WriteFile(filepath.Join(w.Scratch, "admin.token"), []byte(strings.Repeat("s3cr3t-admin-token\n", 64)), 0o600)

	external := hostileModel(t, func(g *onnxpb.Graph) string {
		g.AddTensor(&onnxpb.TensorProto{Name: "leak", Dims: []int64{16}, DataType: int32(onnxpb.TensorProto_FLOAT),
			DataLocation: onnxpb.TensorProto_EXTERNAL, ExternalData: []*onnxpb.StringStringEntryProto{{Key: "location", Value: "../admin.token"}}})
		g.AddNode("ReduceSum", []string{"leak"}, []string{"leaked"}, onnxpb.AttrInt("keepdims", 0))
		return "leaked"
	})
	memory := hostileModel(t, func(g *onnxpb.Graph) string {
		g.AddNode("ReduceSum", []string{filled(g, "big", 1, 300_000_000)}, []string{"total"}, onnxpb.AttrInt("keepdims", 0))
		return "total"
	})
	cpu := hostileModel(t, func(g *onnxpb.Graph) string {
		x := filled(g, "c", 0.0001, 2048, 2048)
		for i := 0; i < 40; i++ {
			g.AddNode("MatMul", []string{x, "c"}, []string{fmt.Sprint("x", i)})
			x = fmt.Sprint("x", i)
		}
		g.AddNode("ReduceSum", []string{x}, []string{"total"}, onnxpb.AttrInt("keepdims", 0))
		return "total"
	})
	for _, c := range []struct {
		name, version, msg string
		model              []byte
	}{
		{"external data", "1.0.1", "external file", external},
		{"memory", "1.0.2", "memory", memory},
		{"CPU time", "1.0.3", "CPU-time limit", cpu},
	} {
		start := time.Now()
		code, out := f.upload("vendor", hostileManifest(c.version), c.model, nil)
		if code != 422 || out["field"] != "model" || !strings.Contains(fmt.Sprint(out["error"]), c.msg) || strings.Contains(fmt.Sprint(out["error"]), "s3cr3t") {
			t.Errorf("%s: %d %v after %s, want 422 naming model and saying %q", c.name, code, out, time.Since(start).Round(time.Millisecond), c.msg)
		}
	}

	// one upload at a time: while one streams its body, the next is told to retry
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	req, _ := http.NewRequest("POST", f.url+"/api/v1/warehouse/models", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+f.tok["vendor"])
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	part, _ := mw.CreateFormFile("model", "model.onnx")
	// more than the socket buffers hold: once written, the server's handler is reading
	// this part (and holds the slot); the rest never comes
	part.Write(make([]byte, 32<<20))
	var code int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if code, _ = f.upload("vendor", hostileManifest("1.0.4"), external, nil); code == 429 {
			break
		}
	}
	if code != 429 {
		t.Errorf("an upload beyond the concurrent cap: %d, want 429", code)
	}
	pw.CloseWithError(io.ErrUnexpectedEOF)
	<-done
	// the broken upload gives its slot back: an honest one is accepted
	m, onnx := starter(t, "blazeface-front")
	m.Vendor, m.Version, m.SHA256 = "acme", "2.0.0", ""
	var out map[string]any
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if code, out = f.upload("vendor", m, onnx, nil); code != 429 {
			break
		}
	}
	if code != 202 {
		t.Errorf("an honest upload after the slot is free: %d %v", code, out)
	}
}
