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
// Detect until their frame's batch has run; a batch closes when it holds the model's
// MaxBatch frames (or the configured cap), when every sender active in the last
// senderWindow already has a frame in it (none of them can send another before its
// answer, so waiting would only add latency: one stream alone never waits), or
// MaxWait after its first frame arrived, whichever is first. It runs as two stages:
// while one batch is inferred the next one is collected and preprocessed, so
// preprocessing overlaps inference.
//
// The serving model can be replaced while frames keep flowing (Swap): the collecting
// stage picks the model up at the top of each batch and the batch is preprocessed and
// inferred on it, so a batch never mixes versions and no frame is dropped by a swap.
type Batcher struct {
	model    atomic.Pointer[models.Model] // serving model; only the loop replaces it, between batches
	maxWait  time.Duration
	maxBatch int    // cap on the model's MaxBatch; 0 = none
	device   string // the planner's device it serves ("" embedded, "cpu", "cuda:N")
	reqs     chan batchReq
	senders  map[string]time.Time // sender → when its last frame arrived; the collecting stage's alone
	swapc    chan swapReq
	done     chan struct{}
	exited   chan struct{}
	once     sync.Once
	inflight sync.WaitGroup // batches handed to the inference stage and not yet answered

	frames, batches, errs atomic.Int64
	busy                  atomic.Int64 // nanoseconds spent preprocessing and running the model
	waited                atomic.Int64 // nanoseconds frames spent queued before their batch ran
	swaps                 atomic.Int64
	hist                  batchHist

	mu      sync.Mutex
	swapErr string // last failed swap attempt; "" once one succeeds or the version is current
	failed  string // version whose load failed, not retried by periodic checks
}

type batchReq struct {
	from  string // the sender (a stream; "" for crops): it waits for this answer before sending again
	img   gocv.Mat
	reply chan batchRes
	at    time.Time // when the frame arrived: queue wait = batch start − at
}

type batchRes struct {
	dets []decode.Detection // a detector's result
	crop decode.Stage2      // a crop model's
	err  error
}

type swapReq struct {
	next *models.Model
	old  chan *models.Model
}

// readyBatch is a collected, preprocessed batch on its way to inference.
type readyBatch struct {
	model *models.Model
	reqs  []batchReq
	prep  *models.Prepared
	err   error
}

var errBatcherClosed = errors.New("batcher is closed")

// senderWindow: a sender that sent nothing for this long is not waited for (a stream
// sampled slower than once per senderWindow may miss a batch it could have joined).
const senderWindow = 2 * time.Second

// NewBatcher starts a batcher for a loaded model.
func NewBatcher(m *models.Model, maxWait time.Duration) *Batcher { return NewBatcherCap(m, maxWait, 0) }

// NewBatcherCap starts a batcher whose batches hold at most maxBatch frames (0: the
// model's MaxBatch).
func NewBatcherCap(m *models.Model, maxWait time.Duration, maxBatch int) *Batcher {
	b := &Batcher{maxWait: maxWait, maxBatch: maxBatch, reqs: make(chan batchReq, 256), senders: map[string]time.Time{}, swapc: make(chan swapReq),
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

// adopt runs in the collecting stage, between batches, once the inference stage has
// finished every batch of the previous model.
func (b *Batcher) adopt(r swapReq) {
	b.inflight.Wait()
	r.old <- b.model.Swap(r.next)
	b.swaps.Add(1)
}

// Detect runs the model (a detector) on img as part of some batch. from names the
// sender (the stream): a sender has at most one frame in a batcher at a time.
func (b *Batcher) Detect(ctx context.Context, from string, img gocv.Mat) ([]decode.Detection, error) {
	res, err := b.submit(ctx, from, img)
	return res.dets, err
}

// Crop runs the model (a classifier, attribute, embedding or text model) on a crop as
// part of some batch: crops from many streams and tasks share batches. A stream sends
// several crops at once, so crops name no sender and their batches wait for more up
// to MaxWait.
func (b *Batcher) Crop(ctx context.Context, img gocv.Mat) (decode.Stage2, error) {
	res, err := b.submit(ctx, "", img)
	return res.crop, err
}

func (b *Batcher) submit(ctx context.Context, from string, img gocv.Mat) (batchRes, error) {
	r := batchReq{from: from, img: img, reply: make(chan batchRes, 1), at: time.Now()}
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		return batchRes{}, ctx.Err()
	case <-b.done:
		return batchRes{}, context.Canceled
	}
	select {
	case res := <-r.reply:
		return res, res.err
	case <-ctx.Done():
		return batchRes{}, ctx.Err() // the batch still runs; its reply channel is buffered
	case <-b.done:
		return batchRes{}, context.Canceled
	}
}

// loop is the collecting stage: it closes batches, preprocesses them and hands them to
// the inference stage (infer), which it runs.
func (b *Batcher) loop() {
	defer close(b.exited)
	work := make(chan readyBatch)
	inferDone := make(chan struct{})
	go func() {
		defer close(inferDone)
		for rb := range work {
			b.infer(rb)
			b.inflight.Done()
		}
	}()
	defer func() { close(work); <-inferDone }()
	for {
		var batch []batchReq
		var picked time.Time // when this stage took the batch's first frame
		select {
		case r := <-b.reqs:
			batch, picked = append(batch, r), time.Now()
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
		if b.maxBatch > 0 {
			max = min(max, b.maxBatch)
		}
		batch = b.collect(batch, max)
		// added wait: how long the batch held each frame for more, from when the stage
		// took the batch's first frame or the frame arrived, whichever is later. Time a
		// frame spent queued before (the stage busy handing the previous batch to
		// inference, or its goroutine not yet running) is queue wait (WaitSec), not
		// the batching's doing.
		closed := time.Now()
		for _, r := range batch {
			b.hist.wait(closed.Sub(later(r.at, picked)))
		}
		imgs := make([]gocv.Mat, len(batch))
		for i, r := range batch {
			imgs[i] = r.img
		}
		prep, err := model.Prepare(imgs)
		b.busy.Add(int64(time.Since(closed)))
		b.inflight.Add(1)
		work <- readyBatch{model: model, reqs: batch, prep: prep, err: err}
	}
}

// collect adds frames to batch until it holds max, every active sender is in it, or
// MaxWait has passed since its first frame arrived; frames already queued are taken
// at once whatever their age.
func (b *Batcher) collect(batch []batchReq, max int) []batchReq {
	b.seen(batch[0])
	for len(batch) < max {
		select {
		case r := <-b.reqs:
			b.seen(r)
			batch = append(batch, r)
			continue
		default:
		}
		break
	}
	if len(batch) >= max || b.allIn(batch) {
		return batch
	}
	timer := time.NewTimer(time.Until(batch[0].at.Add(b.maxWait)))
	defer timer.Stop()
	for len(batch) < max {
		select {
		case r := <-b.reqs:
			b.seen(r)
			batch = append(batch, r)
			if b.allIn(batch) {
				return batch
			}
		case <-timer.C:
			return batch
		}
	}
	return batch
}

// seen records that r's sender is active.
func (b *Batcher) seen(r batchReq) {
	if r.from != "" {
		b.senders[r.from] = r.at
	}
}

// allIn reports whether every sender active within senderWindow has a frame in
// batch, forgetting senders silent for longer; never for a batch with a crop (no
// sender: more may be on their way).
func (b *Batcher) allIn(batch []batchReq) bool {
	in := make(map[string]bool, len(batch))
	for _, r := range batch {
		if r.from == "" {
			return false
		}
		in[r.from] = true
	}
	all := true
	for s, at := range b.senders {
		switch {
		case time.Since(at) > senderWindow:
			delete(b.senders, s)
		case !in[s]:
			all = false
		}
	}
	return all
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// infer is the inference stage: it runs one preprocessed batch and answers its frames.
func (b *Batcher) infer(rb readyBatch) {
	start := time.Now()
	for _, r := range rb.reqs {
		b.waited.Add(int64(start.Sub(r.at)))
	}
	err := rb.err
	var res [][]decode.Detection
	var crops []decode.Stage2
	switch {
	case err != nil:
	case rb.model.Detects():
		res, err = rb.model.DetectPrepared(rb.prep)
	default:
		crops, err = rb.model.CropPrepared(rb.prep)
	}
	b.busy.Add(int64(time.Since(start)))
	b.frames.Add(int64(len(rb.reqs)))
	b.batches.Add(1)
	if err != nil {
		b.errs.Add(int64(len(rb.reqs)))
	}
	b.hist.batch(len(rb.reqs))
	for i, r := range rb.reqs {
		switch {
		case err != nil:
			r.reply <- batchRes{err: err}
		case crops != nil:
			r.reply <- batchRes{crop: crops[i]}
		default:
			r.reply <- batchRes{dets: res[i]}
		}
	}
}

// Stats reports counters.
func (b *Batcher) Stats() plan.BatchStats {
	m := b.model.Load()
	f, n := b.frames.Load(), b.batches.Load()
	s := plan.BatchStats{Model: m.Manifest.QualifiedName(), Version: m.Manifest.Version, Provider: string(m.Provider()), Device: b.device, Fallback: m.Fallback(), Frames: f, Batches: n,
		BusySec: time.Duration(b.busy.Load()).Seconds(), WaitSec: time.Duration(b.waited.Load()).Seconds(), Swaps: b.swaps.Load(),
		Errors: b.errs.Load()}
	if n > 0 {
		s.MeanBatch = float64(f) / float64(n)
	}
	s.MaxWaitSec = b.maxWait.Seconds()
	s.BatchSizes, s.AddedWaitP99Sec = b.hist.snapshot()
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
