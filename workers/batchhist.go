package workers

import (
	"slices"
	"sync"
	"time"
)

// batchHist keeps a model's batch-size histogram and its frames' recent added queue
// waits (the time the batcher held a frame waiting for more while it could have run
// it: from its arrival, or from when the collecting stage took the batch's first frame
// if that was later, to the batch's close).
type batchHist struct {
	mu    sync.Mutex
	sizes []int64 // sizes[i]: batches of i+1 frames
	waits [4096]time.Duration
	n     int // waits recorded, ring index = n % len
}

func (h *batchHist) batch(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(h.sizes) < n {
		h.sizes = append(h.sizes, 0)
	}
	h.sizes[n-1]++
}

func (h *batchHist) wait(d time.Duration) {
	h.mu.Lock()
	h.waits[h.n%len(h.waits)] = max(d, 0)
	h.n++
	h.mu.Unlock()
}

// snapshot returns the histogram and the p99 added wait over the last 4096 frames.
func (h *batchHist) snapshot() ([]int64, float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sizes := slices.Clone(h.sizes)
	k := min(h.n, len(h.waits))
	if k == 0 {
		return sizes, 0
	}
	w := slices.Clone(h.waits[:k])
	slices.Sort(w)
	return sizes, w[(k*99+99)/100-1].Seconds()
}
