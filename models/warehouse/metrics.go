package warehouse

import (
	"math"
	"slices"
	"sort"

	"github.com/cityeye/cityeye/models/decode"
)

// Score is a model version's measure on one evaluation set. Metric names the
// primary measure (what gates compare): map50 for detectors, accuracy for
// classifiers, char_accuracy for text recognisers, verification_accuracy for
// embeddings; Value is it, from 0 to 1.
type Score struct {
	Metric   string             `json:"metric"`
	Value    float64            `json:"value"`
	Measures map[string]float64 `json:"measures"`
	PerClass map[string]float64 `json:"per_class,omitempty"` // detectors: AP@0.5 of each label
	Images   int                `json:"images"`
	// MSPerImage is the mean inference time per image (batch 1) during scoring.
	MSPerImage float64 `json:"ms_per_image"`
}

// detEval accumulates detections against ground truth for AP@0.5 and the
// precision and recall at the model's own score threshold (the detections it
// returns), over the classes the set and the model share.
type detEval struct {
	classes []string
	preds   map[string][]scoredHit // per class: each detection's score and whether it matched
	gts     map[string]int
}

type scoredHit struct {
	score float32
	tp    bool
}

func newDetEval(classes []string) *detEval {
	return &detEval{classes: classes, preds: map[string][]scoredHit{}, gts: map[string]int{}}
}

// add matches one image's detections to its ground truth, greedily by score: a
// detection is a true positive when it overlaps an unmatched box of its label with
// IoU ≥ 0.5 (the best such box), as in the PASCAL VOC and COCO protocols.
func (e *detEval) add(gt []EvalBox, dets []decode.Detection) {
	for _, g := range gt {
		if slices.Contains(e.classes, g.Label) {
			e.gts[g.Label]++
		}
	}
	ds := slices.Clone(dets)
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Score > ds[j].Score })
	used := make([]bool, len(gt))
	for _, d := range ds {
		if !slices.Contains(e.classes, d.Label) {
			continue // a class the set does not label: neither right nor wrong
		}
		best, bi := float32(0.5), -1
		for i, g := range gt {
			if used[i] || g.Label != d.Label {
				continue
			}
			if iou := decode.IoU(d.Box, decode.Box{X1: g.Box[0], Y1: g.Box[1], X2: g.Box[2], Y2: g.Box[3]}); iou >= best {
				best, bi = iou, i
			}
		}
		if bi >= 0 {
			used[bi] = true
		}
		e.preds[d.Label] = append(e.preds[d.Label], scoredHit{d.Score, bi >= 0})
	}
}

// score is the mean over labelled classes of AP@0.5 (COCO's 101-point
// interpolation), and the overall precision and recall.
func (e *detEval) score() Score {
	s := Score{Metric: "map50", Measures: map[string]float64{}, PerClass: map[string]float64{}}
	var tp, npred, ngt int
	var sum float64
	for _, c := range e.classes {
		n := e.gts[c]
		hits := e.preds[c]
		npred += len(hits)
		ngt += n
		if n == 0 {
			continue // AP is undefined without ground truth; its detections still count against precision
		}
		sort.SliceStable(hits, func(i, j int) bool { return hits[i].score > hits[j].score })
		prec, rec := make([]float64, len(hits)), make([]float64, len(hits))
		k := 0
		for i, h := range hits {
			if h.tp {
				k++
			}
			prec[i], rec[i] = float64(k)/float64(i+1), float64(k)/float64(n)
		}
		tp += k
		for i := len(prec) - 2; i >= 0; i-- { // precision envelope
			prec[i] = math.Max(prec[i], prec[i+1])
		}
		var ap float64
		for r := 0; r <= 100; r++ {
			at := float64(r) / 100
			if i := sort.SearchFloat64s(rec, at); i < len(rec) {
				ap += prec[i]
			}
		}
		s.PerClass[c] = ap / 101
		sum += s.PerClass[c]
	}
	if len(s.PerClass) > 0 {
		s.Value = sum / float64(len(s.PerClass))
	}
	s.Measures["map50"] = s.Value
	s.Measures["precision"] = ratio(tp, npred)
	s.Measures["recall"] = ratio(tp, ngt)
	s.Measures["true_positives"], s.Measures["detections"], s.Measures["objects"] = float64(tp), float64(npred), float64(ngt)
	return s
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// charAccuracy is 1 − (edit distance / characters of the truth), summed over the
// set and floored at 0; exact is the share of texts read exactly.
func charAccuracy(truth, read []string) Score {
	var dist, chars, exact int
	for i := range truth {
		dist += editDistance([]rune(truth[i]), []rune(read[i]))
		chars += len([]rune(truth[i]))
		if truth[i] == read[i] {
			exact++
		}
	}
	v := math.Max(0, 1-ratio(dist, chars))
	return Score{Metric: "char_accuracy", Value: v, Measures: map[string]float64{"char_accuracy": v, "exact_match": ratio(exact, len(truth)), "edit_distance": float64(dist)}}
}

// editDistance is Levenshtein's distance in characters.
func editDistance(a, b []rune) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// accuracy is the share of top-1 classes equal to the truth.
func accuracy(truth, top []string) Score {
	var ok int
	for i := range truth {
		if truth[i] == top[i] {
			ok++
		}
	}
	v := ratio(ok, len(truth))
	return Score{Metric: "accuracy", Value: v, Measures: map[string]float64{"accuracy": v}}
}

// verification scores identity pairs by cosine similarity: the accuracy at the best
// single threshold (the LFW protocol without folds: sets here are small), that
// threshold, and the mean similarity of same and of different pairs.
func verification(sims []float64, same []bool) Score {
	type p struct {
		sim  float64
		same bool
	}
	ps := make([]p, len(sims))
	var nSame int
	var sumSame, sumDiff float64
	for i := range sims {
		ps[i] = p{sims[i], same[i]}
		if same[i] {
			nSame++
			sumSame += sims[i]
		} else {
			sumDiff += sims[i]
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].sim < ps[j].sim })
	// threshold below ps[k]: pairs k.. are called same. Start with all called same.
	correct := nSame
	best, bestT := correct, ps[0].sim-1e-6
	for k := range ps {
		if ps[k].same {
			correct--
		} else {
			correct++
		}
		if correct > best {
			best = correct
			bestT = ps[k].sim
			if k+1 < len(ps) {
				bestT = (ps[k].sim + ps[k+1].sim) / 2
			}
		}
	}
	v := ratio(best, len(ps))
	return Score{Metric: "verification_accuracy", Value: v, Measures: map[string]float64{"verification_accuracy": v, "threshold": bestT,
		"mean_same": sumSame / math.Max(1, float64(nSame)), "mean_different": sumDiff / math.Max(1, float64(len(ps)-nSame))}}
}
