package models

import (
	"sync"

	"github.com/cityeye/cityeye/models/preprocess"
)

// scratch is what one preprocessing of a batch reuses: the input tensor and the
// preprocessing buffers. A model keeps a few (one per batch in flight) so that a frame
// allocates no tensor.
type scratch struct {
	bufs *preprocess.Buffers
	data []float32
}

func (s *scratch) tensor(n int) []float32 {
	if cap(s.data) < n {
		s.data = make([]float32, n)
	}
	return s.data[:n]
}

// scratchPool is the model's free list; closed releases native buffers handed back late.
type scratchPool struct {
	mu     sync.Mutex
	free   []*scratch
	closed bool
}

func (m *Model) getScratch() *scratch {
	m.pool.mu.Lock()
	defer m.pool.mu.Unlock()
	if n := len(m.pool.free); n > 0 {
		s := m.pool.free[n-1]
		m.pool.free = m.pool.free[:n-1]
		return s
	}
	return &scratch{bufs: preprocess.NewBuffers()}
}

func (m *Model) putScratch(s *scratch) {
	m.pool.mu.Lock()
	defer m.pool.mu.Unlock()
	if m.pool.closed || len(m.pool.free) >= 4 {
		s.bufs.Close()
		return
	}
	m.pool.free = append(m.pool.free, s)
}

func (m *Model) closeScratch() {
	m.pool.mu.Lock()
	defer m.pool.mu.Unlock()
	for _, s := range m.pool.free {
		s.bufs.Close()
	}
	m.pool.free, m.pool.closed = nil, true
}
