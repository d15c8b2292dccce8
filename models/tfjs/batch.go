package tfjs

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/cityeye/cityeye/models/engine"
)

// DefaultMaxBatch is the max_batch an imported model whose batch is dynamic gets in its
// draft manifest (an overlay may set another).
const DefaultMaxBatch = 8

// checkBatches runs an ONNX graph of one float input on a batch of three different
// inputs and on each input alone: a graph whose batch is really dynamic (no op fixes it)
// gives each image the same outputs either way.
func checkBatches(conv *Converted, onnx []byte) error {
	if len(conv.Inputs) != 1 || conv.Inputs[0].DType != "float32" {
		return fmt.Errorf("only graphs of one float32 input are checked")
	}
	shape := conv.Inputs[0].Shape
	if len(shape) < 2 || shape[0] != -1 {
		return fmt.Errorf("input shape %v has no dynamic batch", shape)
	}
	per := int64(1)
	for _, d := range shape[1:] {
		if d <= 0 {
			return fmt.Errorf("input shape %v: only the batch may be dynamic", shape)
		}
		per *= d
	}
	if err := engine.Init(); err != nil {
		return err
	}
	sess, err := engine.OpenBytes(onnx, engine.Options{Provider: engine.ProviderCPU, IntraOpThreads: 1})
	if err != nil {
		return err
	}
	defer sess.Close()
	const n = 3
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]float32, n*per)
	for i := range data {
		data[i] = rng.Float32()
	}
	batchShape := append([]int64{n}, shape[1:]...)
	all, err := sess.Run([]engine.Tensor{{Shape: batchShape, Data: data}})
	if err != nil {
		return fmt.Errorf("batch of %d: %w", n, err)
	}
	for i := int64(0); i < n; i++ {
		one, err := sess.Run([]engine.Tensor{{Shape: append([]int64{1}, shape[1:]...), Data: data[i*per : (i+1)*per]}})
		if err != nil {
			return fmt.Errorf("batch of 1: %w", err)
		}
		for k, o := range one {
			if len(all[k].Shape) == 0 || all[k].Shape[0] != n || len(all[k].Data) != n*len(o.Data) {
				return fmt.Errorf("output %d has shape %v for a batch of %d (%v for one)", k, all[k].Shape, n, o.Shape)
			}
			got := all[k].Data[int(i)*len(o.Data) : int(i+1)*len(o.Data)]
			for j, v := range o.Data {
				if d := math.Abs(float64(got[j] - v)); d > 1e-4*(1+math.Abs(float64(v))) {
					return fmt.Errorf("output %d of image %d differs in a batch: %v vs %v alone", k, i, got[j], v)
				}
			}
		}
	}
	return nil
}
