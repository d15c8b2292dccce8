// Package workers runs the analysis: for each stream a pipeline decodes frames once,
// samples them per task, batches them per model across streams, hands detections to
// each task's algorithm and persists the captures as GA/T 1400 records.
package workers

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
)

// Batcher groups frames from many streams into one model run. Callers block in
// Detect until their frame's batch has run; a batch runs when it is full or MaxWait
// after its first frame arrived, whichever is first.
type Batcher struct {
	model   *models.Model
	maxWait time.Duration
	reqs    chan batchReq
	done    chan struct{}
	once    sync.Once

	frames, batches atomic.Int64
	busy            atomic.Int64 // nanoseconds spent running the model
}

type batchReq struct {
	img   gocv.Mat
	reply chan batchRes
}

type batchRes struct {
	dets []decode.Detection
	err  error
}

// NewBatcher starts a batcher for a loaded model.
func NewBatcher(m *models.Model, maxWait time.Duration) *Batcher {
	b := &Batcher{model: m, maxWait: maxWait, reqs: make(chan batchReq, 256), done: make(chan struct{})}
	go b.loop()
	return b
}

// Detect runs the model on img as part of some batch.
func (b *Batcher) Detect(ctx context.Context, img gocv.Mat) ([]decode.Detection, error) {
	r := batchReq{img: img, reply: make(chan batchRes, 1)}
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-b.done:
		return nil, context.Canceled
	}
	select {
	case res := <-r.reply:
		return res.dets, res.err
	case <-ctx.Done():
		return nil, ctx.Err() // the batch still runs; its reply channel is buffered
	case <-b.done:
		return nil, context.Canceled
	}
}

func (b *Batcher) loop() {
	max := b.model.MaxBatch()
	for {
		var batch []batchReq
		select {
		case r := <-b.reqs:
			batch = append(batch, r)
		case <-b.done:
			return
		}
		timer := time.NewTimer(b.maxWait)
	collect:
		for len(batch) < max {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
			case <-timer.C:
				break collect
			}
		}
		timer.Stop()
		imgs := make([]gocv.Mat, len(batch))
		for i, r := range batch {
			imgs[i] = r.img
		}
		start := time.Now()
		dets, err := b.model.Detect(imgs)
		b.busy.Add(int64(time.Since(start)))
		b.frames.Add(int64(len(batch)))
		b.batches.Add(1)
		for i, r := range batch {
			if err != nil {
				r.reply <- batchRes{err: err}
			} else {
				r.reply <- batchRes{dets: dets[i]}
			}
		}
	}
}

// BatchStats are a batcher's counters since start.
type BatchStats struct {
	Model     string  `json:"model"`
	Provider  string  `json:"provider"`
	Frames    int64   `json:"frames"`
	Batches   int64   `json:"batches"`
	MeanBatch float64 `json:"mean_batch"`
	BusySec   float64 `json:"busy_seconds"`
}

// Stats reports counters.
func (b *Batcher) Stats() BatchStats {
	f, n := b.frames.Load(), b.batches.Load()
	s := BatchStats{Model: b.model.Manifest.Name, Provider: string(b.model.Provider()), Frames: f, Batches: n, BusySec: time.Duration(b.busy.Load()).Seconds()}
	if n > 0 {
		s.MeanBatch = float64(f) / float64(n)
	}
	return s
}

// Close stops the batcher (the model is closed by its owner).
func (b *Batcher) Close() { b.once.Do(func() { close(b.done) }) }
