package models

import (
	"encoding/json"
	"fmt"
	"slices"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/models/preprocess"
)

// Model is a loaded model version: its manifest, an engine session and its decoder.
// Every method takes a batch of images and returns one result per image, so callers
// (the scheduler's batcher) can group frames from many streams into one run.
type Model struct {
	Manifest Manifest
	Dir      string
	sess     *engine.Session
	dict     []string // CTC dictionary
	cfg      any      // the decoder's parsed params
	maxBatch int
	pool     scratchPool // preprocessing buffers, reused across batches
	inputs   []Input     // the graph's inputs in its order, each bound to what feeds it
	image    int         // index of the image among inputs
}

// Load verifies and opens the model in dir.
func Load(dir string, opts engine.Options) (*Model, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	if err := Verify(dir, m); err != nil {
		return nil, err
	}
	mod := &Model{Manifest: m, Dir: dir}
	if mod.cfg, err = parseDecoder(m.Decoder); err != nil {
		return nil, fmt.Errorf("%s@%s: %w", m.Name, m.Version, err)
	}
	if c, ok := mod.cfg.(*decode.CTCConfig); ok {
		f, err := m.OpenFile(dir, c.Dictionary)
		if err != nil {
			return nil, fmt.Errorf("%s@%s: dictionary: %w", m.Name, m.Version, err)
		}
		mod.dict, err = decode.LoadDictionary(f, c.SpaceChar)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	path, err := m.FilePath(dir, m.File)
	if err != nil {
		return nil, fmt.Errorf("%s@%s: %w", m.Name, m.Version, err)
	}
	mod.sess, err = engine.Open(path, opts)
	if err != nil {
		return nil, err
	}
	if mod.inputs, err = bindInputs(m.Feeds, mod.sess.Inputs()); err != nil {
		mod.sess.Close()
		return nil, fmt.Errorf("%s@%s: %w", m.Name, m.Version, err)
	}
	mod.image = slices.IndexFunc(mod.inputs, func(in Input) bool { return in.Kind == InputImage })
	mod.maxBatch = m.MaxBatch
	if b := mod.ImageInput().Shape[0]; b > 0 {
		mod.maxBatch = int(b) // a fixed batch dimension wins over the manifest
	}
	if mod.maxBatch <= 0 {
		mod.maxBatch = 8
	}
	return mod, nil
}

// LoadFromRepository resolves name@version (newest if empty) and loads it.
func LoadFromRepository(repo Repository, name, version string, opts engine.Options) (*Model, error) {
	_, dir, err := repo.Resolve(name, version)
	if err != nil {
		return nil, err
	}
	return Load(dir, opts)
}

func parseDecoder(d Decoder) (any, error) {
	var cfg any
	switch d.Type {
	case "ssd":
		cfg = &decode.SSDConfig{}
	case "yolo":
		cfg = &decode.YOLOConfig{}
	case "nanodet":
		cfg = &decode.NanoDetConfig{}
	case "centernet":
		cfg = &decode.CenterNetConfig{}
	case "dbnet":
		cfg = &decode.DBNetConfig{}
	case "ctc":
		cfg = &decode.CTCConfig{}
	case "suppressed":
		cfg = &decode.SuppressedConfig{}
	case "set":
		cfg = &decode.SetConfig{}
	case "scrfd":
		cfg = &decode.ScrfdConfig{}
	case "attributes":
		cfg = &decode.AttributesConfig{}
	case "classification":
		cfg = &ClassifyConfig{}
	case "embedding":
		cfg = &EmbedConfig{}
	case "face_attributes":
		cfg = &FaceAttrConfig{}
	default:
		return nil, fmt.Errorf("decoder.type: unknown decoder %q", d.Type)
	}
	if len(d.Params) > 0 {
		if err := json.Unmarshal(d.Params, cfg); err != nil {
			return nil, fmt.Errorf("decoder.params: %w", err)
		}
	}
	if c, ok := cfg.(interface{ Check() error }); ok {
		if err := c.Check(); err != nil {
			return nil, fmt.Errorf("decoder.params: %w", err)
		}
	}
	return cfg, nil
}

// Close releases the session.
func (m *Model) Close() error {
	m.closeScratch()
	return m.sess.Close()
}

// Provider is the execution provider the model runs on.
func (m *Model) Provider() engine.Provider { return m.sess.Provider() }

// Device is the CUDA ordinal the model runs on, -1 on the CPU.
func (m *Model) Device() int { return m.sess.Device() }

// Fallback says why the model runs on the CPU although CUDA was considered ("" if not).
func (m *Model) Fallback() string { return m.sess.Fallback() }

// Inputs and Outputs describe the graph's tensors as ONNX Runtime sees them.
func (m *Model) Inputs() []engine.TensorInfo  { return m.sess.Inputs() }
func (m *Model) Outputs() []engine.TensorInfo { return m.sess.Outputs() }

// ImageInput describes the graph input the image feeds.
func (m *Model) ImageInput() engine.TensorInfo { return m.sess.Inputs()[m.image] }

// MaxBatch is the largest batch one Run takes.
func (m *Model) MaxBatch() int { return m.maxBatch }

// batch is one engine run over up to maxBatch images of the same input size.
type batch struct {
	outs       []decode.Output
	transforms []preprocess.Transform
	inW, inH   int
}

// chunk is one prepared engine input: n images from first on, of the same input size.
type chunk struct {
	first, n   int
	inW, inH   int
	data       []float32
	transforms []preprocess.Transform
}

// Prepared is a batch of images preprocessed into the model's input tensors, in buffers
// the model reuses: preprocessing the next batch can run while this one is inferred.
// Run it once (Detect and the other *Prepared methods release it) or Release it.
type Prepared struct {
	m      *Model
	n      int
	chunks []chunk
	sc     *scratch
}

// Len is the number of images.
func (p *Prepared) Len() int { return p.n }

// Release gives the buffers back to the model.
func (p *Prepared) Release() {
	if p.sc != nil {
		p.m.putScratch(p.sc)
		p.sc = nil
	}
}

// Prepare preprocesses imgs into chunks of at most MaxBatch images of one input size.
func (m *Model) Prepare(imgs []gocv.Mat) (*Prepared, error) {
	spec := m.Manifest.Input
	p := &Prepared{m: m, n: len(imgs), sc: m.getScratch()}
	total := 0
	for first := 0; first < len(imgs); {
		// group consecutive images with the same input size (dynamic-size models)
		w, h := spec.Size(imgs[first].Cols(), imgs[first].Rows())
		n := 1
		for first+n < len(imgs) && n < m.maxBatch {
			w2, h2 := spec.Size(imgs[first+n].Cols(), imgs[first+n].Rows())
			if w2 != w || h2 != h {
				break
			}
			n++
		}
		p.chunks = append(p.chunks, chunk{first: first, n: n, inW: w, inH: h})
		total += n * 3 * w * h
		first += n
	}
	data := p.sc.tensor(total)
	for ci := range p.chunks {
		c := &p.chunks[ci]
		per := 3 * c.inW * c.inH
		c.data, data = data[:c.n*per], data[c.n*per:]
		c.transforms = make([]preprocess.Transform, c.n)
		for i := 0; i < c.n; i++ {
			tr, err := spec.ApplyInto(c.data[i*per:(i+1)*per], imgs[c.first+i], c.inW, c.inH, p.sc.bufs)
			if err != nil {
				p.Release()
				return nil, fmt.Errorf("image %d: %w", c.first+i, err)
			}
			c.transforms[i] = tr
		}
	}
	return p, nil
}

// infer runs each prepared chunk and calls fn with the chunk's first image index, then
// releases p.
func (m *Model) infer(p *Prepared, fn func(first int, b batch) error) error {
	defer p.Release()
	spec := m.Manifest.Input
	for _, c := range p.chunks {
		shape := []int64{int64(c.n), 3, int64(c.inH), int64(c.inW)}
		if spec.Layout == "nhwc" {
			shape = []int64{int64(c.n), int64(c.inH), int64(c.inW), 3}
		}
		ins := make([]engine.Tensor, len(m.inputs))
		for i, in := range m.inputs {
			if i == m.image {
				ins[i] = engine.Tensor{Shape: shape, Data: c.data}
			} else {
				ins[i] = derived(in, c.transforms, c.inW, c.inH)
			}
		}
		outs, err := m.sess.Run(ins)
		if err != nil {
			return fmt.Errorf("%s@%s: %w", m.Manifest.Name, m.Manifest.Version, err)
		}
		infos := m.sess.Outputs()
		b := batch{inW: c.inW, inH: c.inH, transforms: c.transforms, outs: make([]decode.Output, len(outs))}
		for i, o := range outs {
			b.outs[i] = decode.Output{Name: infos[i].Name, Shape: o.Shape, Data: o.Data}
		}
		if err := fn(c.first, b); err != nil {
			return err
		}
	}
	return nil
}

// run preprocesses imgs, runs them in chunks of MaxBatch and calls fn per chunk with
// the index of the chunk's first image.
func (m *Model) run(imgs []gocv.Mat, fn func(first int, b batch) error) error {
	p, err := m.Prepare(imgs)
	if err != nil {
		return err
	}
	return m.infer(p, fn)
}

// Detect runs a detector; boxes and keypoints come back in source-image pixels.
func (m *Model) Detect(imgs []gocv.Mat) ([][]decode.Detection, error) {
	p, err := m.Prepare(imgs)
	if err != nil {
		return nil, err
	}
	return m.DetectPrepared(p)
}

// DetectPrepared is Detect on a batch Prepare made (and releases it).
func (m *Model) DetectPrepared(p *Prepared) ([][]decode.Detection, error) {
	res := make([][]decode.Detection, p.n)
	err := m.infer(p, func(first int, b batch) error {
		for i := range b.transforms {
			var dets []decode.Detection
			var err error
			switch c := m.cfg.(type) {
			case *decode.SSDConfig:
				dets, err = decode.DecodeSSD(*c, b.outs, i, b.inW, b.inH, m.Manifest.Labels)
			case *decode.YOLOConfig:
				dets, err = decode.DecodeYOLO(*c, b.outs, i, m.Manifest.Labels)
			case *decode.NanoDetConfig:
				dets, err = decode.DecodeNanoDet(*c, b.outs, i, b.inW, b.inH, m.Manifest.Labels)
			case *decode.SuppressedConfig:
				dets, err = decode.DecodeSuppressed(*c, b.outs, i, b.inW, b.inH, m.Manifest.Labels)
			case *decode.SetConfig:
				dets, err = decode.DecodeSet(*c, b.outs, i, b.inW, b.inH, m.Manifest.Labels)
			case *decode.ScrfdConfig:
				dets, err = decode.DecodeScrfd(*c, b.outs, i, b.inW, b.inH, m.Manifest.Labels)
			case *decode.CenterNetConfig:
				dets, err = decode.DecodeCenterNet(*c, b.outs, i, b.inW, b.inH, m.Manifest.Labels)
			default:
				return fmt.Errorf("%s: decoder %s does not detect objects", m.Manifest.Name, m.Manifest.Decoder.Type)
			}
			if err != nil {
				return err
			}
			tr := b.transforms[i]
			if m.sourceBoxes() {
				tr = preprocess.Transform{ScaleX: 1, ScaleY: 1, SrcW: tr.SrcW, SrcH: tr.SrcH} // only clamped
			}
			for k := range dets {
				d := &dets[k]
				d.Box.X1, d.Box.Y1 = tr.ToSource(d.Box.X1, d.Box.Y1)
				d.Box.X2, d.Box.Y2 = tr.ToSource(d.Box.X2, d.Box.Y2)
				for j := range d.Keypoints {
					d.Keypoints[j][0], d.Keypoints[j][1] = tr.ToSource(d.Keypoints[j][0], d.Keypoints[j][1])
				}
			}
			res[first+i] = dets
		}
		return nil
	})
	return res, err
}

// sourceBoxes reports whether the decoder's boxes are in source pixels already (a
// graph fed the scale factor divides by it itself).
func (m *Model) sourceBoxes() bool {
	c, ok := m.cfg.(*decode.SuppressedConfig)
	return ok && c.Coordinates == decode.SpaceSource
}

// DetectText runs a text detector (DBNet); boxes come back in source pixels.
func (m *Model) DetectText(imgs []gocv.Mat) ([][]decode.TextBox, error) {
	c, ok := m.cfg.(*decode.DBNetConfig)
	if !ok {
		return nil, fmt.Errorf("%s: decoder %s does not detect text", m.Manifest.Name, m.Manifest.Decoder.Type)
	}
	res := make([][]decode.TextBox, len(imgs))
	err := m.run(imgs, func(first int, b batch) error {
		for i, tr := range b.transforms {
			boxes, err := decode.DecodeDBNet(*c, b.outs, i)
			if err != nil {
				return err
			}
			for k := range boxes {
				bx := &boxes[k].Box
				bx.X1, bx.Y1 = tr.ToSource(bx.X1, bx.Y1)
				bx.X2, bx.Y2 = tr.ToSource(bx.X2, bx.Y2)
			}
			res[first+i] = boxes
		}
		return nil
	})
	return res, err
}
