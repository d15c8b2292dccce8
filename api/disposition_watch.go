package api

import (
	"strings"
	"time"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/store"
)

// The watch lists in force, in memory for the matcher: plates by disposition, and
// every watched face of every face disposition in one contiguous matrix, so a
// capture costs one pass of dot products (10,000 faces of 192 floats: about 2 M
// multiply-adds) however the faces are spread over dispositions. Vectors are
// L2-normalised (the embedder's and the features' convention), so the dot
// product is the cosine similarity.

// DefaultFaceThreshold is a face disposition's threshold when none is given: for
// mobilefacenet (EmbedFace) the same person scored 0.88–0.96 and the nearest other
// face 0.565 on the face-ranking protocol (docs/bench/capture.md).
const DefaultFaceThreshold = 0.75

// watchHit is a capture a disposition caught: which target and how well.
type watchHit struct {
	d      *store.Disposition
	target int
	score  float64
}

type watchIndex struct {
	plates []*store.Disposition
	faces  []*store.Disposition
	// the face matrix: row i is a watched face of faces[owner[i]], target n[i]
	dim   int
	model string
	rows  []float32
	owner []int
	n     []int
}

// newWatchIndex indexes the dispositions in force. Face targets of another model
// or dimension than the first one seen cannot be compared and are left out.
func newWatchIndex(ds []store.Disposition) *watchIndex {
	w := &watchIndex{}
	for i := range ds {
		d := &ds[i]
		switch d.Category {
		case "plate":
			w.plates = append(w.plates, d)
		case "face":
			k := len(w.faces)
			w.faces = append(w.faces, d)
			for _, t := range d.Targets {
				if w.dim == 0 {
					w.dim, w.model = len(t.Vector), t.Model
				}
				if len(t.Vector) != w.dim || t.Model != w.model {
					continue
				}
				w.rows = append(w.rows, t.Vector...)
				w.owner, w.n = append(w.owner, k), append(w.n, t.N)
			}
		}
	}
	return w
}

// covers reports whether d watches the camera and time of r: its devices, its
// areas, or (neither given) everywhere the department may see, which the caller
// checks on a hit.
func covers(d *store.Disposition, r store.Record) bool {
	if r.ShotTime.Before(d.Begin) || r.ShotTime.After(d.End) {
		return false
	}
	if len(d.Devices) == 0 && len(d.Areas) == 0 {
		return true
	}
	for _, id := range d.Devices {
		if id == r.DeviceID {
			return true
		}
	}
	return auth.InAreas(r.Division, d.Areas)
}

// plateHits are the plate dispositions that catch w.
func (x *watchIndex) plateHits(w store.Watched) []watchHit {
	var hits []watchHit
	for _, d := range x.plates {
		if !covers(d, w.Record) {
			continue
		}
		for _, t := range d.Targets {
			if plateMatches(d.PlateMode, t.Plate, w.Plate) {
				hits = append(hits, watchHit{d, t.N, 1})
				break
			}
		}
	}
	return hits
}

// faceHits are the face dispositions whose best-matching target scores at least
// their threshold against w's feature.
func (x *watchIndex) faceHits(w store.Watched) []watchHit {
	if len(w.Vector) != x.dim || w.Model != x.model || x.dim == 0 {
		return nil
	}
	best := map[int]watchHit{}
	v := w.Vector
	for i, k := range x.owner {
		d := x.faces[k]
		if s := float64(dot(x.rows[i*x.dim:(i+1)*x.dim], v)); s >= d.Threshold && s > best[k].score {
			best[k] = watchHit{d, x.n[i], s}
		}
	}
	var hits []watchHit
	for _, h := range best {
		if covers(h.d, w.Record) {
			hits = append(hits, h)
		}
	}
	return hits
}

// dot is the dot product of two vectors of a's length, four lanes at a time (the
// independent sums let the CPU overlap the multiply-adds: 2.3× a plain loop here).
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

// plateMatches: exact compares normalised plates; fuzzy takes * (any run) and ?
// (any one character) as wildcards, or, without them, allows one character
// misread, missing or extra (the usual OCR slip).
func plateMatches(mode, target, plate string) bool {
	if mode != "fuzzy" {
		return target == plate
	}
	if strings.ContainsAny(target, "*?") {
		return glob([]rune(target), []rune(plate))
	}
	return editDistanceAtMostOne([]rune(target), []rune(plate))
}

func glob(p, s []rune) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := 0; i <= len(s); i++ {
				if glob(p[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if len(s) == 0 {
				return false
			}
		default:
			if len(s) == 0 || s[0] != p[0] {
				return false
			}
		}
		p, s = p[1:], s[1:]
	}
	return len(s) == 0
}

func editDistanceAtMostOne(a, b []rune) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) > 1 {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if len(a) == len(b) {
		return string(a[i+min(1, len(a)-i):]) == string(b[i+min(1, len(b)-i):])
	}
	return string(a[i:]) == string(b[i+1:])
}

// inForce reports whether d is active at t.
func inForce(d store.Disposition, t time.Time) bool {
	return d.Status == store.DispositionActive && !t.Before(d.Begin) && !t.After(d.End)
}
