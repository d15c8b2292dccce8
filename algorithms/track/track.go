// Package track follows detections across frames with greedy IoU matching, enough to
// give capture algorithms one identity per object so they emit one record per object
// instead of one per frame.
package track

import (
	"sort"
	"time"

	"github.com/cityeye/cityeye/models/decode"
)

// Track is one followed object.
type Track struct {
	ID        uint64
	Class     int
	Box       decode.Box
	Hits      int // frames matched
	Misses    int // consecutive frames unmatched
	FirstSeen time.Time
	LastSeen  time.Time
}

// Tracker assigns detections to tracks. Not safe for concurrent use: one per task.
type Tracker struct {
	IoU    float32       // minimum overlap to continue a track (default 0.3)
	MaxAge time.Duration // a track unmatched this long has ended (default 2s)
	nextID uint64
	tracks []*Track
}

// New returns a tracker with the given thresholds (zero values pick defaults).
func New(iou float32, maxAge time.Duration) *Tracker {
	if iou <= 0 {
		iou = 0.3
	}
	if maxAge <= 0 {
		maxAge = 2 * time.Second
	}
	return &Tracker{IoU: iou, MaxAge: maxAge}
}

// Update matches dets seen at t to tracks (same class, highest IoU first), starts
// tracks for the rest, and returns the track of each detection and the tracks that
// ended (unseen for MaxAge).
func (tr *Tracker) Update(t time.Time, dets []decode.Detection) (assigned []*Track, ended []*Track) {
	type pair struct {
		iou  float32
		d, k int
	}
	var pairs []pair
	for di, d := range dets {
		for ki, k := range tr.tracks {
			if k.Class != d.Class {
				continue
			}
			if v := decode.IoU(d.Box, k.Box); v >= tr.IoU {
				pairs = append(pairs, pair{v, di, ki})
			}
		}
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].iou > pairs[j].iou })
	assigned = make([]*Track, len(dets))
	used := make([]bool, len(tr.tracks))
	for _, p := range pairs {
		if assigned[p.d] != nil || used[p.k] {
			continue
		}
		k := tr.tracks[p.k]
		used[p.k] = true
		k.Box, k.Hits, k.Misses, k.LastSeen = dets[p.d].Box, k.Hits+1, 0, t
		assigned[p.d] = k
	}
	var live []*Track
	for i, k := range tr.tracks {
		if !used[i] {
			k.Misses++
			if t.Sub(k.LastSeen) >= tr.MaxAge {
				ended = append(ended, k)
				continue
			}
		}
		live = append(live, k)
	}
	for di, d := range dets {
		if assigned[di] == nil {
			tr.nextID++
			k := &Track{ID: tr.nextID, Class: d.Class, Box: d.Box, Hits: 1, FirstSeen: t, LastSeen: t}
			live = append(live, k)
			assigned[di] = k
		}
	}
	tr.tracks = live
	return assigned, ended
}

// Flush ends every live track (the stream or task stopped).
func (tr *Tracker) Flush() []*Track {
	out := tr.tracks
	tr.tracks = nil
	return out
}

// Live is the number of live tracks.
func (tr *Tracker) Live() int { return len(tr.tracks) }
