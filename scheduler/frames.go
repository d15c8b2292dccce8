package scheduler

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Live frames from remote workers go through the worker's own channel to the API:
// the API asks for a stream's frame (LiveFrame), the next lease of the worker
// running it names the stream in WantFrames, the worker uploads its latest frame of
// it (PutFrame) and the waiting requests get it. Who may see the frame is decided
// by the API before it asks; a worker can only answer for streams it is leased, and
// only when asked.

// ErrNotRunning: no live worker is leased the stream, so none has its frames.
var ErrNotRunning = errors.New("no worker runs this stream now")

// ErrFrameRefused: a worker uploaded a frame of a stream it is not leased, or that
// nobody asked for.
var ErrFrameRefused = errors.New("frame not asked of this worker")

// frameAsk is how long a request for a frame stays in the leases (a worker that
// has not answered by then has failed the request).
const frameAsk = 10 * time.Second

type liveFrame struct {
	jpeg  []byte
	at    time.Time // capture time, from the worker
	got   time.Time // when it arrived
	asked time.Time // last request not yet answered; zero: none
	ready chan struct{}
}

// LiveFrame returns the latest frame of a stream a remote worker runs, as JPEG with
// its capture time: one that arrived less than maxAge ago, else it asks the worker
// and waits for the answer until ctx ends. ErrNotRunning when no live worker runs
// the stream.
func (c *Cluster) LiveFrame(ctx context.Context, stream string, maxAge time.Duration) ([]byte, time.Time, error) {
	c.mu.Lock()
	if w, ok := c.leased[stream]; !ok || c.members[w] == nil || !c.members[w].Alive {
		c.mu.Unlock()
		return nil, time.Time{}, ErrNotRunning
	}
	if c.frames == nil {
		c.frames = map[string]*liveFrame{}
	}
	f := c.frames[stream]
	if f == nil {
		f = &liveFrame{}
		c.frames[stream] = f
	}
	if f.jpeg != nil && c.now().Sub(f.got) < maxAge {
		b, at := f.jpeg, f.at
		c.mu.Unlock()
		return b, at, nil
	}
	if f.ready == nil {
		f.ready = make(chan struct{})
	}
	f.asked = c.now()
	ready := f.ready
	c.mu.Unlock()
	select {
	case <-ready:
	case <-ctx.Done():
		return nil, time.Time{}, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return f.jpeg, f.at, nil
}

// PutFrame takes a worker's answer: the latest frame of a stream it is leased and
// was asked for.
func (c *Cluster) PutFrame(worker, stream string, jpeg []byte, at time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.frames[stream]
	if c.leased[stream] != worker || f == nil || f.asked.IsZero() {
		return ErrFrameRefused
	}
	f.jpeg, f.at, f.got, f.asked = jpeg, at, c.now(), time.Time{}
	close(f.ready)
	f.ready = nil
	return nil
}

// wantFramesLocked lists the streams of a lease whose frames were asked for
// recently and not yet delivered.
func (c *Cluster) wantFramesLocked(l []string) []string {
	var out []string
	for s, f := range c.frames {
		if !f.asked.IsZero() && c.now().Sub(f.asked) < frameAsk && slices.Contains(l, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}
