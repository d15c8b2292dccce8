package models

import (
	"fmt"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models/decode"
)

// Recognize runs a CTC text recogniser on text-line crops.
func (m *Model) Recognize(imgs []gocv.Mat) ([]decode.Text, error) {
	c, ok := m.cfg.(*decode.CTCConfig)
	if !ok {
		return nil, fmt.Errorf("%s: decoder %s does not recognise text", m.Manifest.Name, m.Manifest.Decoder.Type)
	}
	res := make([]decode.Text, len(imgs))
	err := m.run(imgs, func(first int, b batch) error {
		for i := range b.transforms {
			t, err := decode.DecodeCTC(*c, b.outs, i, m.dict)
			if err != nil {
				return err
			}
			res[first+i] = t
		}
		return nil
	})
	return res, err
}

// Detects reports whether the model is a detector (Detect), else a crop model (Crop).
func (m *Model) Detects() bool {
	switch m.cfg.(type) {
	case *decode.SSDConfig, *decode.YOLOConfig, *decode.NanoDetConfig, *decode.SuppressedConfig, *decode.SetConfig, *decode.ScrfdConfig:
		return true
	}
	return false
}

// Crop runs a second-stage model (classifier, attributes, embedding, text
// recogniser) on crops: per image the result its family gives.
func (m *Model) Crop(imgs []gocv.Mat) ([]decode.Stage2, error) {
	p, err := m.Prepare(imgs)
	if err != nil {
		return nil, err
	}
	return m.CropPrepared(p)
}

// CropPrepared is Crop on a batch Prepare made (and releases it).
func (m *Model) CropPrepared(p *Prepared) ([]decode.Stage2, error) {
	res := make([]decode.Stage2, p.n)
	err := m.infer(p, func(first int, b batch) error {
		for i := range b.transforms {
			r, err := m.decodeCrop(b, i)
			if err != nil {
				return err
			}
			res[first+i] = r
		}
		return nil
	})
	return res, err
}

// decodeCrop decodes image i of a batch by the model's crop family.
func (m *Model) decodeCrop(b batch, i int) (decode.Stage2, error) {
	per := func(name string) ([]float32, error) {
		o, err := output(b.outs, name)
		if err != nil {
			return nil, err
		}
		n := len(o.Data) / int(o.Shape[0])
		return o.Data[i*n : (i+1)*n], nil
	}
	switch c := m.cfg.(type) {
	case *ClassifyConfig:
		v, err := per(c.Output)
		return decode.Stage2{Classes: decode.TopK(v, c.TopK, c.Softmax, m.Manifest.Labels)}, err
	case *EmbedConfig:
		v, err := per(c.Output)
		v = append([]float32(nil), v...)
		if c.Normalize {
			v = decode.L2Normalize(v)
		}
		return decode.Stage2{Embedding: v}, err
	case *decode.AttributesConfig:
		a, err := decode.DecodeAttributes(*c, b.outs, i)
		return decode.Stage2{Attributes: a}, err
	case *decode.CTCConfig:
		t, err := decode.DecodeCTC(*c, b.outs, i, m.dict)
		return decode.Stage2{Text: t.Text, Score: t.Score}, err
	}
	return decode.Stage2{}, fmt.Errorf("%s: decoder %s does not run on crops", m.Manifest.Name, m.Manifest.Decoder.Type)
}

// crop runs Crop and checks the family: a caller asking for classes of an embedding
// model gets an error, not empty classes.
func (m *Model) crop(imgs []gocv.Mat, want string, ok bool) ([]decode.Stage2, error) {
	if !ok {
		return nil, fmt.Errorf("%s: decoder %s does not %s", m.Manifest.Name, m.Manifest.Decoder.Type, want)
	}
	return m.Crop(imgs)
}

// Classify returns the top classes per image.
func (m *Model) Classify(imgs []gocv.Mat) ([][]decode.Class, error) {
	_, ok := m.cfg.(*ClassifyConfig)
	rs, err := m.crop(imgs, "classify", ok)
	out := make([][]decode.Class, len(rs))
	for i, r := range rs {
		out[i] = r.Classes
	}
	return out, err
}

// Attributes runs a multi-head attribute model: per image, each group's values.
func (m *Model) Attributes(imgs []gocv.Mat) ([]decode.Attributes, error) {
	_, ok := m.cfg.(*decode.AttributesConfig)
	rs, err := m.crop(imgs, "read attributes", ok)
	out := make([]decode.Attributes, len(rs))
	for i, r := range rs {
		out[i] = r.Attributes
	}
	return out, err
}

// Embed returns one feature vector per image.
func (m *Model) Embed(imgs []gocv.Mat) ([][]float32, error) {
	_, ok := m.cfg.(*EmbedConfig)
	rs, err := m.crop(imgs, "embed", ok)
	out := make([][]float32, len(rs))
	for i, r := range rs {
		out[i] = r.Embedding
	}
	return out, err
}

// FaceAttributes returns the gender and age estimate of each face crop.
func (m *Model) FaceAttributes(imgs []gocv.Mat) ([]decode.FaceAttributes, error) {
	c, ok := m.cfg.(*FaceAttrConfig)
	if !ok {
		return nil, fmt.Errorf("%s: decoder %s does not estimate face attributes", m.Manifest.Name, m.Manifest.Decoder.Type)
	}
	res := make([]decode.FaceAttributes, len(imgs))
	err := m.run(imgs, func(first int, b batch) error {
		g, err := output(b.outs, c.GenderOutput)
		if err != nil {
			return err
		}
		a, err := output(b.outs, c.AgeOutput)
		if err != nil {
			return err
		}
		gp, ap := len(g.Data)/int(g.Shape[0]), len(a.Data)/int(a.Shape[0])
		for i := range b.transforms {
			res[first+i] = decode.DecodeFaceAttributes(g.Data[i*gp:(i+1)*gp], a.Data[i*ap:(i+1)*ap], c.MinAge)
		}
		return nil
	})
	return res, err
}

func output(outs []decode.Output, name string) (decode.Output, error) {
	if o, ok := decode.ByName(outs, name); ok {
		return o, nil
	}
	return decode.Output{}, fmt.Errorf("no output %q", name)
}
