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

// Classify returns the top classes per image.
func (m *Model) Classify(imgs []gocv.Mat) ([][]decode.Class, error) {
	c, ok := m.cfg.(*ClassifyConfig)
	if !ok {
		return nil, fmt.Errorf("%s: decoder %s does not classify", m.Manifest.Name, m.Manifest.Decoder.Type)
	}
	res := make([][]decode.Class, len(imgs))
	err := m.run(imgs, func(first int, b batch) error {
		o, err := output(b.outs, c.Output)
		if err != nil {
			return err
		}
		per := len(o.Data) / int(o.Shape[0])
		for i := range b.transforms {
			res[first+i] = decode.TopK(o.Data[i*per:(i+1)*per], c.TopK, c.Softmax, m.Manifest.Labels)
		}
		return nil
	})
	return res, err
}

// Attributes runs a multi-head attribute model: per image, each group's values.
func (m *Model) Attributes(imgs []gocv.Mat) ([]decode.Attributes, error) {
	c, ok := m.cfg.(*decode.AttributesConfig)
	if !ok {
		return nil, fmt.Errorf("%s: decoder %s does not read attributes", m.Manifest.Name, m.Manifest.Decoder.Type)
	}
	res := make([]decode.Attributes, len(imgs))
	err := m.run(imgs, func(first int, b batch) error {
		for i := range b.transforms {
			a, err := decode.DecodeAttributes(*c, b.outs, i)
			if err != nil {
				return err
			}
			res[first+i] = a
		}
		return nil
	})
	return res, err
}

// Embed returns one feature vector per image.
func (m *Model) Embed(imgs []gocv.Mat) ([][]float32, error) {
	c, ok := m.cfg.(*EmbedConfig)
	if !ok {
		return nil, fmt.Errorf("%s: decoder %s does not embed", m.Manifest.Name, m.Manifest.Decoder.Type)
	}
	res := make([][]float32, len(imgs))
	err := m.run(imgs, func(first int, b batch) error {
		o, err := output(b.outs, c.Output)
		if err != nil {
			return err
		}
		per := len(o.Data) / int(o.Shape[0])
		for i := range b.transforms {
			v := append([]float32(nil), o.Data[i*per:(i+1)*per]...)
			if c.Normalize {
				v = decode.L2Normalize(v)
			}
			res[first+i] = v
		}
		return nil
	})
	return res, err
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
			res[first+i] = decode.DecodeFaceAttributes(g.Data[i*gp:(i+1)*gp], a.Data[i*ap:(i+1)*ap])
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
