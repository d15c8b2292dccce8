package decode

import (
	"fmt"
	"sort"
)

// Coordinate spaces a decoder's boxes may come in. Decoders hand back boxes in
// model-input pixels (the caller maps them to the source image) unless the graph
// already gave source pixels, as Paddle exports fed a scale_factor do.
const (
	SpaceInput      = "input"      // model-input pixels (default)
	SpaceNormalized = "normalized" // [0,1] of the model input
	SpaceSource     = "source"     // source-image pixels: no mapping back
)

// checkSpace validates a configured space.
func checkSpace(s string) error {
	switch s {
	case "", SpaceInput, SpaceNormalized, SpaceSource:
		return nil
	}
	return fmt.Errorf("coordinates %q: input, normalized or source", s)
}

// Box formats of four box values.
const (
	FormatXYXY   = "xyxy"
	FormatYXYX   = "yxyx"
	FormatCXCYWH = "cxcywh"
	FormatXYWH   = "xywh"
)

// toBox reads four values in format f, scaling normalised coordinates to inW×inH.
func toBox(v [4]float32, f, space string, inW, inH int) (Box, error) {
	var b Box
	switch f {
	case "", FormatXYXY:
		b = Box{v[0], v[1], v[2], v[3]}
	case FormatYXYX:
		b = Box{v[1], v[0], v[3], v[2]}
	case FormatCXCYWH:
		b = Box{v[0] - v[2]/2, v[1] - v[3]/2, v[0] + v[2]/2, v[1] + v[3]/2}
	case FormatXYWH:
		b = Box{v[0], v[1], v[0] + v[2], v[1] + v[3]}
	default:
		return b, fmt.Errorf("box_format %q: xyxy, yxyx, cxcywh or xywh", f)
	}
	if space == SpaceNormalized {
		b = Box{b.X1 * float32(inW), b.Y1 * float32(inH), b.X2 * float32(inW), b.Y2 * float32(inH)}
	}
	return b, nil
}

// perImage returns batch index b's slice of an output whose first dimension is the
// batch; a rank-lower output (exports without a batch dimension) is image 0's whole.
func perImage(o Output, rank, b int) ([]float32, []int64, error) {
	switch len(o.Shape) {
	case rank:
		n := 1
		for _, d := range o.Shape[1:] {
			n *= int(d)
		}
		if (b+1)*n > len(o.Data) {
			return nil, nil, fmt.Errorf("output %q %v has no image %d", o.Name, o.Shape, b)
		}
		return o.Data[b*n : (b+1)*n], o.Shape[1:], nil
	case rank - 1:
		if b != 0 {
			return nil, nil, fmt.Errorf("output %q %v has no batch dimension; run one image at a time (max_batch 1)", o.Name, o.Shape)
		}
		return o.Data, o.Shape, nil
	}
	return nil, nil, fmt.Errorf("output %q has shape %v, want rank %d (or %d without the batch)", o.Name, o.Shape, rank, rank-1)
}

// need finds a named output.
func need(outs []Output, family, name string) (Output, error) {
	o, ok := byName(outs, name)
	if !ok {
		return o, fmt.Errorf("%s: no output %q", family, name)
	}
	return o, nil
}

// best keeps the limit best detections, best first (limit ≤ 0: all).
func best(dets []Detection, limit int) []Detection {
	sort.SliceStable(dets, func(i, j int) bool { return dets[i].Score > dets[j].Score })
	if limit > 0 && len(dets) > limit {
		dets = dets[:limit]
	}
	return dets
}
