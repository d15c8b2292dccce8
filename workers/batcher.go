// Package workers runs the analysis: for each stream a pipeline decodes frames once,
// samples them per task, batches them per model across streams, hands detections to
// each task's algorithm and persists the captures as GA/T 1400 records.
package workers

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/workers/plan"
)

// Batcher groups frames from many streams into one model run. Callers block in
// Detect until their frame's batch has run; a batch runs when it is full or MaxWait
// after its first frame arrived, whichever is first.
//
// The serving model can be replaced while frames keep flowing (Swap): the batch loop
// picks the model up at the top of each batch and uses it for the whole batch, so a
// batch never mixes versions and no frame is dropped by a swap.
type Batcher struct {
	model   atomic.Pointer[models.Model] // serving model; only the loop replaces it, between batches
	maxWait time.Duration
	device  string // the planner's device it serves ("" embedded, "cpu", "cuda:N")
	reqs    chan batchReq
	swapc   chan swapReq
	done    chan struct{}
	exited  chan struct{}
	once    sync.Once

	frames, batches atomic.Int64
	busy            atomic.Int64 // nanoseconds spent running the model
	waited          atomic.Int64 // nanoseconds frames spent queued before their batch ran
	swaps           atomic.Int64

	mu      sync.Mutex
	swapErr string // last failed swap attempt; "" once one succeeds or the version is current
	failed  string // version whose load failed, not retried by periodic checks
}

type batchReq struct {
	img   gocv.Mat
	reply chan batchRes
	at    time.Time // when the frame arrived: queue wait = batch start − at
}

type batchRes struct {
	dets []decode.Detection
	err  error
}

type swapReq struct {
	next *models.Model
	old  chan *models.Model
}

var errBatcherClosed = errors.New("batcher is closed")

// NewBatcher starts a batcher for a loaded model.
func NewBatcher(m *models.Model, maxWait time.Duration) *Batcher {
	b := &Batcher{maxWait: maxWait, reqs: make(chan batchReq, 256), swapc: make(chan swapReq),
		done: make(chan struct{}), exited: make(chan struct{})}
	b.model.Store(m)
	go b.loop()
	return b
}

// Model is the model serving batches now.
func (b *Batcher) Model() *models.Model { return b.model.Load() }

// Swap makes next serve every batch that starts from now on; a batch already
// running finishes on the previous model. Swap returns the previous model once no
// batch uses it any more, for the caller to close (the batcher never closes models).
// It fails after Close, and next is then not adopted.
func (b *Batcher) Swap(next *models.Model) (*models.Model, error) {
	r := swapReq{next: next, old: make(chan *models.Model, 1)}
	select {
	case b.swapc <- r:
		return <-r.old, nil
	case <-b.done:
		return nil, errBatcherClosed
	}
}

// adopt runs in the loop, between batches.
func (b *Batcher) adopt(r swapReq) {
	r.old <- b.model.Swap(r.next)
	b.swaps.Add(1)
}

// Detect runs the model on img as part of some batch.
func (b *Batcher) Detect(ctx context.Context, img gocv.Mat) ([]decode.Detection, error) {
	r := batchReq{img: img, reply: make(chan batchRes, 1), at: time.Now()}
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
	defer close(b.exited)
	for {
		var batch []batchReq
		select {
		case r := <-b.reqs:
			batch = append(batch, r)
		case r := <-b.swapc:
			b.adopt(r)
			continue
		case <-b.done:
			return
		}
		select { // top of the batch: a waiting swap applies to this batch already
		case r := <-b.swapc:
			b.adopt(r)
		default:
		}
		model := b.model.Load() // this batch runs on model from start to end
		max := model.MaxBatch()
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
		for _, r := range batch {
			b.waited.Add(int64(start.Sub(r.at)))
		}
		dets, err := model.Detect(imgs)
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

// Stats reports counters.
func (b *Batcher) Stats() plan.BatchStats {
	m := b.model.Load()
	f, n := b.frames.Load(), b.batches.Load()
	s := plan.BatchStats{Model: m.Manifest.QualifiedName(), Version: m.Manifest.Version, Provider: string(m.Provider()), Device: b.device, Fallback: m.Fallback(), Frames: f, Batches: n,
		BusySec: time.Duration(b.busy.Load()).Seconds(), WaitSec: time.Duration(b.waited.Load()).Seconds(), Swaps: b.swaps.Load()}
	if n > 0 {
		s.MeanBatch = float64(f) / float64(n)
	}
	b.mu.Lock()
	s.SwapError = b.swapErr
	b.mu.Unlock()
	return s
}

// swapFailed records a failed attempt to move to version ("" when resolving failed)
// and reports whether the message is new (to log each failure once).
func (b *Batcher) swapFailed(version string, err error) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	changed := b.swapErr != err.Error()
	b.swapErr, b.failed = err.Error(), version
	return changed
}

// swapOK clears the failure record: the serving version is the one wanted.
func (b *Batcher) swapOK() {
	b.mu.Lock()
	b.swapErr, b.failed = "", ""
	b.mu.Unlock()
}

func (b *Batcher) failedVersion() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failed
}

// Close stops the batcher and waits for a batch still running to finish; the model
// (Model) is closed by its owner.
func (b *Batcher) Close() {
	b.once.Do(func() { close(b.done) })
	<-b.exited
}
