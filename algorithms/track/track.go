// Package track follows detections across sampled frames, ByteTrack-style
// (Zhang et al. 2022): each track carries a constant-velocity Kalman filter, and
// detections are matched to the tracks' predicted boxes in two passes — confident
// detections first, then the low-score ones (a person half hidden by another still
// continues their track instead of being dropped) — by the optimal assignment on
// IoU. A track that is not matched is kept "lost" for a buffer of frames at the
// task's sampling rate, so an occlusion or a missed detection does not split one
// object into two. Capture algorithms use the track ID as the record's identity.
package track

import (
	"math"
	"time"

	"github.com/cityeye/cityeye/models/decode"
)

// Config tunes a Tracker. Zero values pick the defaults given.
type Config struct {
	// FPS is the rate Update is called at (the task's sampling rate, default 5): gaps
	// between calls are counted in frames of this rate.
	FPS float64
	// High: detections scoring at least this are matched first (default 0.5).
	High float32
	// Low: detections below this are ignored; between Low and High they only
	// continue tracks already followed (default 0.1).
	Low float32
	// NewTrack: only a detection this confident starts a track (default High+0.1).
	NewTrack float32
	// LostFrames is how many frames a track stays lost before it ends (default 5 s
	// of frames at FPS: a person behind a pole or a group, or missed by the
	// detector for a few frames, is still the same person).
	LostFrames int
	// Margin grows both boxes by this fraction of their size on each side before
	// IoU (buffered IoU): at low sampling rates an object moves more than its own
	// width between frames. Default 0.3/ (FPS/5) clamped to [0, 0.6]: 0.3 at 5 fps,
	// 0.6 at 2 fps and below.
	Margin float32
	// Gate is the largest appearance distance (Bhattacharyya distance of the
	// features given to Update, in [0,1]) at which a detection may continue a track
	// (default 0.5); it only applies where both have a feature. Two people in
	// different clothes who pass each other keep their own tracks.
	Gate float32
	// ReID is the largest appearance distance at which a lost track is found again
	// away from its predicted box (default 0.4; negative: never), and Reach how far it may have
	// gone meanwhile, in box heights per second (default 1: a brisk walk).
	ReID, Reach float64
	// Family maps a detector label to the family matched class-agnostically (a car
	// re-detected as a truck continues its track); default: the label itself.
	Family func(label string) string
}

// ByteTrack's association limits on 1 − IoU: first pass, second (low-score)
// pass, and tentative tracks.
const (
	limitFirst     = 0.8
	limitSecond    = 0.5
	limitTentative = 0.7
)

// Track is one followed object.
type Track struct {
	ID     uint64
	Class  int        // class of the latest matched detection
	Label  string     // the label with the highest summed score over the track
	Family string     // Config.Family of the first detection
	Box    decode.Box // the latest matched detection's box
	Score  float32    // the latest matched detection's score
	Hits   int        // frames matched
	Misses int        // consecutive frames unmatched
	// Confirmed: matched on two consecutive frames (ByteTrack's activation), or
	// started on the tracker's first frame; a tentative track unmatched on its
	// second frame ends at once.
	Confirmed bool
	FirstSeen time.Time
	LastSeen  time.Time

	feat   []float32 // appearance: moving average of the confident detections' features
	kf     *kalman
	at     int64 // the frame the filter state refers to
	last   int64 // the frame of the latest match
	lost   bool
	labels map[string]float32
}

// Predicted is the track's box predicted by its motion model for the latest frame.
func (k *Track) Predicted() decode.Box { return k.kf.box() }

// Velocity is the filtered motion of the box centre in pixels per frame.
func (k *Track) Velocity() (vx, vy float64) { return k.kf.x[4], k.kf.x[5] }

// Tracker assigns detections to tracks. Not safe for concurrent use: one per task.
type Tracker struct {
	cfg    Config
	nextID uint64
	frame  int64
	prev   time.Time
	tracks []*Track
	w, h   float32 // frame size, if known (SetBounds)
}

// New returns a tracker; see Config for the defaults.
func New(c Config) *Tracker {
	if c.FPS <= 0 {
		c.FPS = 5
	}
	if c.High <= 0 {
		c.High = 0.5
	}
	if c.Low <= 0 {
		c.Low = 0.1
	}
	if c.NewTrack <= 0 {
		c.NewTrack = c.High + 0.1
	}
	if c.LostFrames <= 0 {
		c.LostFrames = max(1, int(math.Round(5*c.FPS)))
	}
	if c.Margin <= 0 {
		c.Margin = float32(min(0.6, 0.3*5/c.FPS))
	}
	if c.Gate <= 0 {
		c.Gate = 0.5
	}
	if c.ReID == 0 {
		c.ReID = 0.4
	}
	if c.Reach <= 0 {
		c.Reach = 1
	}
	if c.Family == nil {
		c.Family = func(l string) string { return l }
	}
	return &Tracker{cfg: c}
}

// Config is the tracker's configuration with the defaults filled in.
func (tr *Tracker) Config() Config { return tr.cfg }

// Update matches dets seen at t to tracks and returns, per detection, its track (nil
// for a detection that neither continued a track nor was confident enough to start
// one), and the tracks that ended: lost for longer than LostFrames, or tentative and
// unmatched. feats, if not nil, holds an appearance feature per detection (a
// normalised histogram; nil entries have none): see Config.Gate.
func (tr *Tracker) Update(t time.Time, dets []decode.Detection, feats [][]float32) (assigned []*Track, ended []*Track) {
	tr.advance(t)
	for _, k := range tr.tracks {
		dt := float64(tr.frame - k.at)
		if k.lost {
			k.kf.x[7] = 0 // a lost box keeps its height (ByteTrack)
		}
		k.kf.predict(dt)
		k.at = tr.frame
	}
	assigned = make([]*Track, len(dets))
	var high, low []int
	for i, d := range dets {
		switch {
		case d.Score >= tr.cfg.High:
			high = append(high, i)
		case d.Score >= tr.cfg.Low:
			low = append(low, i)
		}
	}
	var active, tentative []*Track
	for _, k := range tr.tracks {
		if k.Confirmed {
			active = append(active, k)
		} else {
			tentative = append(tentative, k)
		}
	}
	matched := map[*Track]bool{}
	// 1: confident detections against confirmed tracks, followed and lost
	rest := tr.match(t, dets, feats, high, active, limitFirst, assigned, matched)
	// 2: low-score detections against the followed ones still unmatched
	var followed []*Track
	for _, k := range active {
		if !matched[k] && !k.lost {
			followed = append(followed, k)
		}
	}
	tr.match(t, dets, feats, low, followed, limitSecond, assigned, matched)
	// 3: the remaining confident detections against tentative tracks
	rest = tr.match(t, dets, feats, rest, tentative, limitTentative, assigned, matched)
	// 4: re-identification: a confident detection that overlaps no prediction may
	// still be a lost track reappearing (from behind a pole, after missed frames
	// at a low sampling rate) if it looks alike and is within walking distance
	var lost []*Track
	for _, k := range active {
		if !matched[k] && k.lost {
			lost = append(lost, k)
		}
	}
	rest = tr.reidentify(t, dets, feats, rest, lost, assigned, matched)
	var live []*Track
	for _, k := range tr.tracks {
		switch {
		case matched[k]:
			live = append(live, k)
		case !k.Confirmed:
			ended = append(ended, k)
		default:
			k.lost = true
			k.Misses++
			if tr.frame-k.last > int64(tr.cfg.LostFrames) {
				ended = append(ended, k)
				continue
			}
			live = append(live, k)
		}
	}
	// 5: new tracks from confident detections nothing claimed
	for _, i := range rest {
		d := dets[i]
		if d.Score < tr.cfg.NewTrack {
			continue
		}
		tr.nextID++
		k := &Track{ID: tr.nextID, Family: tr.cfg.Family(d.Label), kf: newKalman(d.Box), at: tr.frame, FirstSeen: t,
			Confirmed: tr.frame == 0} // on the first frame ByteTrack confirms at once
		k.hit(t, tr.frame, d, featAt(feats, i), tr.cfg.High)
		live = append(live, k)
		assigned[i] = k
	}
	tr.tracks = live
	return assigned, ended
}

// reidentify matches dets[idx] to lost tracks by appearance distance (at most
// Config.ReID) among those whose centre is within reach of the track's last box:
// one box height plus Reach box heights per second lost.
func (tr *Tracker) reidentify(t time.Time, dets []decode.Detection, feats [][]float32, idx []int, tracks []*Track, assigned []*Track, matched map[*Track]bool) []int {
	if len(idx) == 0 || len(tracks) == 0 || feats == nil || tr.cfg.ReID < 0 {
		return idx
	}
	cost := make([][]float64, len(tracks))
	for r, k := range tracks {
		cost[r] = make([]float64, len(idx))
		secs := float64(tr.frame-k.last) / tr.cfg.FPS
		h := float64(k.Box.H())
		reach := h * (1 + tr.cfg.Reach*secs)
		kx, ky := float64(k.Box.X1+k.Box.X2)/2, float64(k.Box.Y1+k.Box.Y2)/2
		for c, i := range idx {
			d, f := dets[i], featAt(feats, i)
			cost[r][c] = infeasible
			if k.feat == nil || f == nil || tr.cfg.Family(d.Label) != k.Family {
				continue
			}
			if out := tr.exits(k.Box, k.kf.x[4], k.kf.x[5], true); out != 0 && tr.exits(d.Box, 0, 0, false)&out == 0 {
				continue // walked out there and this one is not coming back in there
			}
			dx, dy := float64(d.Box.X1+d.Box.X2)/2-kx, float64(d.Box.Y1+d.Box.Y2)/2-ky
			if dx*dx+dy*dy > reach*reach || math.Abs(float64(d.Box.H())/h-1) > 0.5 {
				continue
			}
			cost[r][c] = float64(Distance(k.feat, f))
		}
	}
	var rest []int
	taken := make([]bool, len(idx))
	for r, c := range assign(cost, float64(tr.cfg.ReID)) {
		if c < 0 {
			continue
		}
		k, i := tracks[r], idx[c]
		k.hit(t, tr.frame, dets[i], featAt(feats, i), tr.cfg.High)
		k.kf = newKalman(dets[i].Box) // the motion before the gap says little about now
		assigned[i], matched[k], taken[c] = k, true, true
	}
	for c, i := range idx {
		if !taken[c] {
			rest = append(rest, i)
		}
	}
	return rest
}

// SetBounds gives the frame size (w×h pixels), so that a track last seen at the
// frame's edge moving out of it is re-identified only by someone coming back in at
// that edge: whoever looks alike elsewhere is another person.
func (tr *Tracker) SetBounds(w, h int) { tr.w, tr.h = float32(w), float32(h) }

// exits is which edges a box touches (within 1 % of the frame's size), as a bit set
// (1 left, 2 right, 4 top, 8 bottom), counting only those the velocity (vx, vy)
// points out of when moving is set.
func (tr *Tracker) exits(b decode.Box, vx, vy float64, moving bool) int {
	if tr.w <= 0 {
		return 0
	}
	mx, my := 0.01*tr.w, 0.01*tr.h
	e := 0
	if b.X1 <= mx && (!moving || vx < 0) {
		e |= 1
	}
	if b.X2 >= tr.w-mx && (!moving || vx > 0) {
		e |= 2
	}
	if b.Y1 <= my && (!moving || vy < 0) {
		e |= 4
	}
	if b.Y2 >= tr.h-my && (!moving || vy > 0) {
		e |= 8
	}
	return e
}

// advance moves the frame counter to t: gaps are counted at the sampling rate, so a
// skipped frame ages lost tracks and moves predictions as far as it should.
func (tr *Tracker) advance(t time.Time) {
	if !tr.prev.IsZero() {
		tr.frame += max(1, int64(math.Round(t.Sub(tr.prev).Seconds()*tr.cfg.FPS)))
	}
	tr.prev = t
}

// appearanceWeight adds the appearance distance to the IoU cost, so that among
// overlapping candidates the one that looks alike wins.
const appearanceWeight = 0.5

// match assigns dets[idx] to tracks by minimum total cost under limit, within
// families: a pair is feasible when 1 − buffered IoU < limit and the appearance
// distance is within the gate, and costs 1 − IoU + appearanceWeight·distance.
// It records the matches and returns the detections left.
func (tr *Tracker) match(t time.Time, dets []decode.Detection, feats [][]float32, idx []int, tracks []*Track, limit float64, assigned []*Track, matched map[*Track]bool) []int {
	if len(idx) == 0 || len(tracks) == 0 {
		return idx
	}
	cost := make([][]float64, len(tracks))
	flat := make([]float64, len(tracks)*len(idx))
	for r, k := range tracks {
		cost[r] = flat[r*len(idx) : (r+1)*len(idx)]
		pb := grow(k.kf.box(), tr.cfg.Margin)
		for c, i := range idx {
			d := dets[i]
			if tr.cfg.Family(d.Label) != k.Family {
				cost[r][c] = infeasible
				continue
			}
			iouCost := 1 - float64(decode.IoU(pb, grow(d.Box, tr.cfg.Margin)))
			if iouCost >= limit {
				cost[r][c] = infeasible
				continue
			}
			dist := Distance(k.feat, featAt(feats, i))
			if dist > tr.cfg.Gate {
				cost[r][c] = infeasible
				continue
			}
			cost[r][c] = iouCost + appearanceWeight*float64(dist)
		}
	}
	var rest []int
	taken := make([]bool, len(idx))
	for r, c := range assign(cost, limit+appearanceWeight) {
		if c < 0 {
			continue
		}
		k := tracks[r]
		k.hit(t, tr.frame, dets[idx[c]], featAt(feats, idx[c]), tr.cfg.High)
		k.kf.update(dets[idx[c]].Box)
		assigned[idx[c]] = k
		matched[k] = true
		taken[c] = true
	}
	for c, i := range idx {
		if !taken[c] {
			rest = append(rest, i)
		}
	}
	return rest
}

// hit records a matched detection; a confident one also updates the appearance
// (a low-score detection is usually partly hidden by something else).
func (k *Track) hit(t time.Time, frame int64, d decode.Detection, feat []float32, high float32) {
	if feat != nil && d.Score >= high {
		if k.feat == nil {
			k.feat = append([]float32(nil), feat...)
		} else {
			for i := range k.feat {
				k.feat[i] = 0.9*k.feat[i] + 0.1*feat[i]
			}
		}
	}
	if k.Hits > 0 {
		k.Confirmed = true // a tentative track unmatched once has ended: hits are consecutive
	}
	k.Hits++
	k.Misses = 0
	k.lost = false
	k.last = frame
	k.LastSeen = t
	k.Box, k.Score, k.Class = d.Box, d.Score, d.Class
	if k.labels == nil {
		k.labels = map[string]float32{}
	}
	k.labels[d.Label] += d.Score
	if k.labels[d.Label] > k.labels[k.Label] {
		k.Label = d.Label
	}
}

func featAt(feats [][]float32, i int) []float32 {
	if i < len(feats) {
		return feats[i]
	}
	return nil
}

// Distance is the Bhattacharyya distance √(1 − Σ√(aᵢbᵢ)) of two normalised
// histograms, 0 when either is missing.
func Distance(a, b []float32) float32 {
	if len(a) == 0 || len(a) != len(b) {
		return 0
	}
	var s float64
	for i := range a {
		s += math.Sqrt(float64(a[i]) * float64(b[i]))
	}
	return float32(math.Sqrt(max(0, 1-s)))
}

// grow enlarges b by m of its width and height on each side.
func grow(b decode.Box, m float32) decode.Box {
	dx, dy := m*b.W(), m*b.H()
	return decode.Box{X1: b.X1 - dx, Y1: b.Y1 - dy, X2: b.X2 + dx, Y2: b.Y2 + dy}
}

// Flush ends every live track (the stream or task stopped).
func (tr *Tracker) Flush() []*Track {
	out := tr.tracks
	tr.tracks = nil
	return out
}

// Live is the number of live tracks (followed, lost or tentative).
func (tr *Tracker) Live() int { return len(tr.tracks) }
