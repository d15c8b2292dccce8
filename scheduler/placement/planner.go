package placement

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
)

const (
	refPixels = 1920 * 1080
	// steps is the granularity of rate lowering: a class gives up its tasks' range
	// between requested and minimum rate in steps of 1/steps, so grants are round
	// numbers an operator can check and the search needs at most log2(steps)+1 packs.
	steps = 20
	eps   = 1e-9
)

// profile is what a device can do; devices with identical numbers share one, so a
// stream's cost is computed once per kind of device, not once per device.
type profile struct {
	cuda     bool
	decInv   []float64 // per codec: device seconds per 1080p-equivalent frame; 0 = cannot
	modelInv []float64 // per model: device seconds per frame; 0 = does not run
}

type device struct {
	worker, id string
	hw         int // index among healthy workers
	prof       int
	cuda       bool
	maxSess    int
}

type task struct {
	id       string
	m        int     // index into its stream's models
	req, min float64 // requested (capped at native) and minimum rate
	asked    float64 // FPS as given
	prio     int
	cls      int
}

type stream struct {
	id       string
	decBase  float64 // 1080p-equivalent frames/s of a full decode
	native   float64
	codec    int
	tasks    []task
	models   []int   // distinct models of its tasks
	cls      int     // class of its most important task
	rot      bool    // may be time-shared
	size     float64 // cost at requested rates on the costliest feasible device kind
	prev     int32   // device of the previous plan, -1
	prevCost float64
	prevRot  bool
	code     Code // set once the stream is refused
	msg      string
}

type load struct {
	dec, inf float64
	sess     int
}

type slot struct {
	dev      int32
	members  []int32
	dec, inf float64 // reserved: the largest member's decode and inference
}

type mode int

const (
	stable     mode = iota // previous placements first, then the rest by priority
	byPriority             // everything by priority, each preferring its previous device
)

// level is a point on the degradation ladder: classes below cls are at their minimum
// rates and may be time-shared; class cls gives up step/steps of its range, and may be
// time-shared when rot; classes above run as requested.
type level struct {
	cls, step int
	rot       bool
}

var levelReq = level{cls: -1}

func (l level) fps(t *task) float64 {
	switch {
	case t.cls < l.cls:
		return t.min
	case t.cls > l.cls:
		return t.req
	}
	return t.req - float64(l.step)/steps*(t.req-t.min)
}

func (l level) rotates(s *stream) bool {
	return s.rot && (s.cls < l.cls || s.cls == l.cls && l.rot)
}

type planner struct {
	cfg        Config
	devs       []device
	profs      []profile
	np, nm     int
	modelNames []string
	codecNames []string
	wLoaded    []bool // [healthy worker × model]
	ss         []stream
	live       []int32   // streams not refused, in input order
	order      []int32   // live in placement order (cmpStreams), sorted when first needed
	stickyDev  [][]int32 // per device: live streams the previous plan placed there, in order
	pending    []int32
	prevSlots  [][]int32
	prevSlotD  []int32
	classes    []int  // distinct priorities of live tasks, ascending
	gives      []bool // class has a task whose rate can be lowered
	rotCls     []bool // class has a stream that may be time-shared

	costLvl level
	costOK  bool
	dec     []float64 // [stream × profile] at costLvl
	inf     []float64
	feas    []bool
	fm      []float64

	lvl     level
	md      mode
	valid   bool // the pack state is a complete success for (lvl, md)
	ld      []load
	at      []int32
	slotOf  []int32
	seq     []int32
	nseq    int32
	slots   []slot
	occ     [][]int32
	wPlaced []bool
	cand    cands // best's candidate devices
	left    []int32
	failed  []int32
	tmp     []int32
}

func newPlanner(cfg Config, workers []Node, streams []Stream, prev *Plan) *planner {
	p := &planner{cfg: cfg}
	models := map[string]int{}
	codecs := map[string]int{"": 0}
	p.codecNames = []string{"h264"}
	ntasks := 0
	for i := range streams {
		ntasks += len(streams[i].Tasks)
	}
	taskModel := make([]int, 0, ntasks) // model of every task, in input order
	for i := range streams {
		for _, t := range streams[i].Tasks {
			m, ok := models[t.Model]
			if !ok {
				m = len(p.modelNames)
				models[t.Model] = m
				p.modelNames = append(p.modelNames, t.Model)
			}
			taskModel = append(taskModel, m)
		}
		if c := normCodec(streams[i].Codec); c != "" {
			if _, ok := codecs[c]; !ok {
				codecs[c] = len(p.codecNames)
				p.codecNames = append(p.codecNames, c)
			}
		}
	}
	p.nm = len(p.modelNames)

	// devices of healthy workers, grouped into profiles
	profIdx := map[string]int{}
	workerAt := map[string]int32{} // worker ID → its first device in p.devs
	var key []byte
	hw := 0
	for _, w := range workers {
		if !w.Healthy || len(w.Devices) == 0 {
			continue
		}
		for _, m := range p.modelNames {
			p.wLoaded = append(p.wLoaded, w.Loaded[m])
		}
		workerAt[w.ID] = int32(len(p.devs))
		for _, d := range w.Devices {
			pr := profile{cuda: d.Kind == "cuda", decInv: make([]float64, len(p.codecNames)), modelInv: make([]float64, p.nm)}
			for c, name := range p.codecNames {
				fps := d.DecodeFPS
				if v, ok := d.CodecFPS[name]; ok {
					fps = v
				}
				if fps > 0 {
					pr.decInv[c] = 1 / fps
				}
			}
			for m, name := range p.modelNames {
				if fps := d.ModelFPS[name]; fps > 0 {
					pr.modelInv[m] = 1 / fps
				}
			}
			key = key[:0]
			if pr.cuda {
				key = append(key, 1)
			} else {
				key = append(key, 0)
			}
			for _, v := range pr.decInv {
				key = binary.LittleEndian.AppendUint64(key, math.Float64bits(v))
			}
			for _, v := range pr.modelInv {
				key = binary.LittleEndian.AppendUint64(key, math.Float64bits(v))
			}
			pi, ok := profIdx[string(key)]
			if !ok {
				pi = len(p.profs)
				profIdx[string(key)] = pi
				p.profs = append(p.profs, pr)
			}
			p.devs = append(p.devs, device{worker: w.ID, id: d.ID, hw: hw, prof: pi, cuda: pr.cuda, maxSess: d.DecodeSessions})
		}
		hw++
	}
	p.np = len(p.profs)
	devIdx := func(worker, dev string) int32 {
		i, ok := workerAt[worker]
		if !ok {
			return -1
		}
		for ; int(i) < len(p.devs) && p.devs[i].worker == worker; i++ {
			if p.devs[i].id == dev {
				return i
			}
		}
		return -1
	}

	// streams; their tasks and models live in two shared arrays (one allocation each)
	maxModels, ti := 0, 0
	allTasks, allModels := make([]task, 0, ntasks), make([]int, 0, ntasks)
	p.ss = make([]stream, 0, len(streams))
	for _, in := range streams {
		if len(in.Tasks) == 0 {
			continue
		}
		native := in.FPS
		if native <= 0 {
			native = 25
		}
		pix := float64(in.Pixels)
		if pix <= 0 {
			pix = refPixels
		}
		s := stream{id: in.ID, decBase: native * pix / refPixels, native: native, codec: codecs[normCodec(in.Codec)], prev: -1, rot: cfg.MaxRotated >= 2}
		t0, m0 := len(allTasks), len(allModels)
		for _, t := range in.Tasks {
			m := taskModel[ti]
			ti++
			j := slices.Index(allModels[m0:], m)
			if j < 0 {
				j = len(allModels) - m0
				allModels = append(allModels, m)
			}
			req := t.FPS
			if req <= 0 || req > native {
				req = native
			}
			mn := t.MinFPS
			if mn <= 0 {
				mn = cfg.MinFPS
			}
			allTasks = append(allTasks, task{id: t.ID, m: j, req: req, min: min(mn, req), asked: t.FPS, prio: t.Priority})
			if t.Priority > cfg.RotatePriority {
				s.rot = false
			}
		}
		s.tasks, s.models = allTasks[t0:len(allTasks):len(allTasks)], allModels[m0:len(allModels):len(allModels)]
		maxModels = max(maxModels, len(s.models))
		if prev != nil {
			if a, ok := prev.Assign[in.ID]; ok {
				if d := devIdx(a.Worker, a.Device); d >= 0 {
					s.prev, s.prevCost, s.prevRot = d, a.Cost, a.Rotated
				}
			}
		}
		p.ss = append(p.ss, s)
	}
	p.fm = make([]float64, maxModels)
	n := len(p.ss)
	p.dec, p.inf, p.feas = make([]float64, n*p.np), make([]float64, n*p.np), make([]bool, n*p.np)
	for si := range p.ss {
		s := &p.ss[si]
		for pi := range p.profs {
			ok := p.profs[pi].decInv[s.codec] > 0
			for _, m := range s.models {
				ok = ok && p.profs[pi].modelInv[m] > 0
			}
			p.feas[si*p.np+pi] = ok
		}
		p.refuseEarly(int32(si))
	}

	// priority classes of what can run
	for si := range p.ss {
		if p.ss[si].code == "" {
			for _, t := range p.ss[si].tasks {
				if !slices.Contains(p.classes, t.prio) {
					p.classes = append(p.classes, t.prio)
				}
			}
		}
	}
	slices.Sort(p.classes)
	p.gives, p.rotCls = make([]bool, len(p.classes)), make([]bool, len(p.classes))
	p.live = make([]int32, 0, len(p.ss))
	for si := range p.ss {
		s := &p.ss[si]
		if s.code != "" {
			continue
		}
		for i := range s.tasks {
			t := &s.tasks[i]
			t.cls, _ = slices.BinarySearch(p.classes, t.prio)
			s.cls = max(s.cls, t.cls)
			if t.req > t.min+eps {
				p.gives[t.cls] = true
			}
		}
		if s.rot {
			p.rotCls[s.cls] = true
		}
		// size orders first-fit decreasing: the stream's cost on the feasible device
		// kind it costs most on, so that in a mixed cluster the streams that gain most
		// from a GPU are placed (on the GPUs) before those that run well on a CPU
		// (refuseEarly left the costs at requested rates)
		for pi := range p.profs {
			if p.feas[si*p.np+pi] {
				s.size = max(s.size, weight(p.profs[pi].cuda, p.dec[si*p.np+pi], p.inf[si*p.np+pi]))
			}
		}
		p.live = append(p.live, int32(si))
	}
	p.costLvl, p.costOK = level{}, true // level{} asks the requested rates: the costs just computed

	// streams the previous plan placed, grouped by device, each group in placement
	// order: a stream kept in place only ever looks at its own device, so only the
	// order within a device matters (and no global sort is needed for a replan)
	start := make([]int32, len(p.devs)+1)
	for _, si := range p.live {
		if d := p.ss[si].prev; d >= 0 {
			start[d+1]++
		}
	}
	for d := range p.devs {
		start[d+1] += start[d]
	}
	flat, fill := make([]int32, start[len(p.devs)]), slices.Clone(start)
	for _, si := range p.live {
		if d := p.ss[si].prev; d >= 0 {
			flat[fill[d]] = si
			fill[d]++
		}
	}
	p.stickyDev = make([][]int32, len(p.devs))
	for d := range p.devs {
		p.stickyDev[d] = flat[start[d]:start[d+1]:start[d+1]]
		slices.SortFunc(p.stickyDev[d], p.cmpStreams)
	}

	// previous time-share slots, members in turn order
	if prev != nil && len(prev.Rotation) > 0 {
		byID := make(map[string]int32, len(p.ss))
		for si := range p.ss {
			byID[p.ss[si].id] = int32(si)
		}
		for i, sl := range prev.Rotation {
			d := devIdx(sl.Worker, sl.Device)
			if d < 0 {
				continue
			}
			var ms []int32
			for _, id := range sl.Streams {
				si, ok := byID[id]
				if a := prev.Assign[id]; ok && a.Rotated && a.Slot == i && p.ss[si].prev == d {
					ms = append(ms, si)
				}
			}
			if len(ms) > 1 {
				p.prevSlots = append(p.prevSlots, ms)
				p.prevSlotD = append(p.prevSlotD, d)
			}
		}
	}

	p.ld = make([]load, len(p.devs))
	p.occ = make([][]int32, len(p.devs))
	p.at, p.slotOf, p.seq = make([]int32, n), make([]int32, n), make([]int32, n)
	p.wPlaced = make([]bool, len(p.wLoaded))
	p.initCands()
	return p
}

func normCodec(c string) string {
	c = strings.ToLower(c)
	if c == "h264" || c == "avc" {
		return ""
	}
	if c == "hevc" {
		return "h265"
	}
	return c
}

// refuseEarly refuses a stream no device can run at all: no healthy worker, no device
// that runs all its models, or more than a whole device at its minimum rates.
func (p *planner) refuseEarly(si int32) {
	s := &p.ss[si]
	if len(p.devs) == 0 {
		s.code, s.msg = NoWorker, "no healthy worker"
		return
	}
	base := int(si) * p.np
	if !slices.Contains(p.feas[base:base+p.np], true) {
		var missing []string
		if !slices.ContainsFunc(p.profs, func(pr profile) bool { return pr.decInv[s.codec] > 0 }) {
			missing = append(missing, "a "+p.codecNames[s.codec]+" decoder")
		}
		for _, m := range s.models {
			if !slices.ContainsFunc(p.profs, func(pr profile) bool { return pr.modelInv[m] > 0 }) {
				missing = append(missing, "model "+p.modelNames[m])
			}
		}
		if len(missing) > 0 {
			s.code, s.msg = NoDevice, "no healthy device has "+strings.Join(missing, ", ")
		} else {
			names := make([]string, len(s.models))
			for i, m := range s.models {
				names[i] = p.modelNames[m]
			}
			s.code, s.msg = NoDevice, fmt.Sprintf("no single healthy device runs all of %s and decodes %s", strings.Join(names, ", "), p.codecNames[s.codec])
		}
		return
	}
	// at requested rates first: when that fits an empty device (the usual case) the
	// costs stay, they are the ones the placement starts from
	p.streamCosts(si, levelReq)
	for pi := range p.profs {
		if p.feas[base+pi] && p.fitsEmpty(pi, p.dec[base+pi], p.inf[base+pi]) {
			return
		}
	}
	p.streamCosts(si, level{cls: math.MaxInt})
	best, bp := math.Inf(1), -1
	for pi := range p.profs {
		if !p.feas[base+pi] {
			continue
		}
		dec, inf := p.dec[base+pi], p.inf[base+pi]
		if p.fitsEmpty(pi, dec, inf) {
			// it fits only when lowered: leave the requested-rate costs in place, as
			// the caller (and setLevel's cache) assumes for level{}
			p.streamCosts(si, levelReq)
			return
		}
		if w := weight(p.profs[pi].cuda, dec, inf); w < best {
			best, bp = w, pi
		}
	}
	s.code = TooBig
	s.msg = fmt.Sprintf("needs %.3f of a %s device even at minimum rates (decode %.3f, inference %.3f), over the %.2f target: no device can take it",
		best, kindName(p.profs[bp].cuda), p.dec[base+bp], p.inf[base+bp], p.cfg.TargetUtil)
}

func kindName(cuda bool) string {
	if cuda {
		return "cuda"
	}
	return "cpu"
}

func (p *planner) fitsEmpty(pi int, dec, inf float64) bool {
	t := p.cfg.TargetUtil + eps
	if p.profs[pi].cuda {
		return dec <= t && inf <= t
	}
	return dec+inf <= t
}

// weight is the share of a device a stream takes: decode and inference add up on a
// CPU; on a GPU they run on separate engines and the busier one counts.
func weight(cuda bool, dec, inf float64) float64 {
	if cuda {
		return max(dec, inf)
	}
	return dec + inf
}

// streamCosts computes a stream's decode and inference share on every profile at l.
func (p *planner) streamCosts(si int32, l level) {
	s := &p.ss[si]
	fm := p.fm[:len(s.models)]
	clear(fm)
	keyframes := true
	for i := range s.tasks {
		t := &s.tasks[i]
		f := l.fps(t)
		fm[t.m] = max(fm[t.m], f)
		if f > 1+eps {
			keyframes = false
		}
	}
	frames := s.decBase
	if keyframes {
		frames *= p.cfg.KeyframeCost
	}
	base := int(si) * p.np
	for pi := range p.profs {
		pr := &p.profs[pi]
		x := 0.0
		for j, m := range s.models {
			x += fm[j] * pr.modelInv[m]
		}
		p.dec[base+pi], p.inf[base+pi] = frames*pr.decInv[s.codec], x
	}
}

func (p *planner) setLevel(l level) {
	if p.costOK && p.costLvl == l {
		return
	}
	for _, si := range p.live {
		p.streamCosts(si, l)
	}
	p.costLvl, p.costOK = l, true
}

func (p *planner) ci(s, d int32) int { return int(s)*p.np + p.devs[d].prof }

func (p *planner) fits(d int32, dec, inf float64, sess int) bool {
	dv, l := &p.devs[d], &p.ld[d]
	if dv.maxSess > 0 && l.sess+sess > dv.maxSess {
		return false
	}
	t := p.cfg.TargetUtil + eps
	if dv.cuda {
		return l.dec+dec <= t && l.inf+inf <= t
	}
	return l.dec+l.inf+dec+inf <= t
}

func (p *planner) util(d int32) float64 {
	return weight(p.devs[d].cuda, p.ld[d].dec, p.ld[d].inf)
}

func (p *planner) loadedCount(s, d int32) int {
	n, base := 0, p.devs[d].hw*p.nm
	for _, m := range p.ss[s].models {
		if p.wLoaded[base+m] || p.wPlaced[base+m] {
			n++
		}
	}
	return n
}

func (p *planner) markModels(s, d int32) {
	p.touchWorker(d)
	base := p.devs[d].hw * p.nm
	for _, m := range p.ss[s].models {
		p.wPlaced[base+m] = true
	}
}

func (p *planner) place(s, d int32) {
	c := p.ci(s, d)
	l := &p.ld[d]
	l.dec += p.dec[c]
	l.inf += p.inf[c]
	l.sess++
	p.at[s] = d
	p.occ[d] = append(p.occ[d], s)
	p.nseq++
	p.seq[s] = p.nseq
	p.markModels(s, d)
}

// best is the device a stream not placed yet goes to, -1 if none has room: the one
// that spends the smallest share of itself on it, then the worker with more of its
// models loaded, then the fullest device it fits, then the first.
func (p *planner) best(s int32) int32 {
	bd, bl := int32(-1), 0
	var bw, bu float64
	base := int(s) * p.np
	consider := func(d int32) {
		dv := &p.devs[d]
		c := base + dv.prof
		if !p.feas[c] {
			return
		}
		dec, inf := p.dec[c], p.inf[c]
		if !p.fits(d, dec, inf, 1) {
			return
		}
		w := weight(dv.cuda, dec, inf)
		l := &p.ld[d]
		u := weight(dv.cuda, l.dec+dec, l.inf+inf)
		if bd >= 0 {
			if w > bw+eps*eps {
				return
			}
			if w >= bw-eps*eps {
				lc := p.loadedCount(s, d)
				if lc < bl || lc == bl && u <= bu+eps {
					return
				}
				bd, bw, bu, bl = d, w, u, lc
				return
			}
		}
		bd, bw, bu, bl = d, w, u, p.loadedCount(s, d)
	}
	// candidates in device order (see cands): the open touched devices, dropping the
	// closed ones met, merged with the first untouched device of each class
	heads := p.heads()
	cost := huge
	for pi := range p.profs {
		if !p.profs[pi].cuda && p.feas[base+pi] {
			cost = min(cost, p.dec[base+pi]+p.inf[base+pi])
		}
	}
	if r := p.roomFor(cost); r >= 0 {
		p.bestInRoom(r, heads, consider)
	} else {
		p.bestInOpen(base, heads, consider)
	}
	if checkBest != nil {
		checkBest(p, s, bd)
	}
	return bd
}

// checkBest, set by a test, sees every answer of best (to compare with a full scan).
var checkBest func(p *planner, s, got int32)

func (p *planner) reset(l level, md mode) {
	p.setLevel(l)
	p.lvl, p.md, p.valid = l, md, false
	clear(p.ld)
	for i := range p.at {
		p.at[i], p.slotOf[i] = -1, -1
	}
	for d := range p.occ {
		p.occ[d] = p.occ[d][:0]
	}
	clear(p.wPlaced)
	p.slots, p.left, p.failed, p.nseq = p.slots[:0], p.left[:0], p.failed[:0], 0
	p.resetCands()
}

// pack places every live stream at level l; false when one does not fit. With full
// false it stops at the first failure (the search only needs to know).
func (p *planner) pack(l level, md mode, full bool) bool {
	p.reset(l, md)
	if md == stable {
		// what did not grow stays first, then the old slots, then what grew
		for d := range p.stickyDev {
			for _, s := range p.stickyDev[d] {
				st := &p.ss[s]
				c := p.ci(s, st.prev)
				if st.prevRot || !p.feas[c] || weight(p.devs[st.prev].cuda, p.dec[c], p.inf[c]) > st.prevCost+eps {
					continue
				}
				if p.fits(st.prev, p.dec[c], p.inf[c], 1) {
					p.place(s, st.prev)
				}
			}
		}
		p.keepSlots()
		for d := range p.stickyDev {
			for _, s := range p.stickyDev[d] {
				st := &p.ss[s]
				if c := p.ci(s, st.prev); p.at[s] < 0 && p.feas[c] && p.fits(st.prev, p.dec[c], p.inf[c], 1) {
					p.place(s, st.prev)
				}
			}
		}
	}
	for _, s := range p.rest(md) {
		if p.at[s] >= 0 {
			continue
		}
		st := &p.ss[s]
		if md == byPriority && st.prev >= 0 {
			if c := p.ci(s, st.prev); p.feas[c] && p.fits(st.prev, p.dec[c], p.inf[c], 1) {
				p.place(s, st.prev)
				continue
			}
		}
		if d := p.best(s); d >= 0 {
			p.place(s, d)
			continue
		}
		if l.rotates(st) {
			p.left = append(p.left, s)
			continue
		}
		p.failed = append(p.failed, s)
		if !full {
			return false
		}
	}
	for _, s := range p.left {
		if p.join(s) || p.convert(s) {
			continue
		}
		p.failed = append(p.failed, s)
		if !full {
			return false
		}
	}
	p.unrotate()
	p.valid = len(p.failed) == 0
	return p.valid
}

// cmpStreams is the placement order: priority, then size, descending (first-fit
// decreasing); the ID breaks ties so the plan does not depend on input order.
func (p *planner) cmpStreams(a, b int32) int {
	x, y := &p.ss[a], &p.ss[b]
	if c := cmp.Compare(y.cls, x.cls); c != 0 {
		return c
	}
	if c := cmp.Compare(y.size, x.size); c != 0 {
		return c
	}
	return strings.Compare(x.id, y.id)
}

// rest is what the fresh pass goes through, in placement order: every live stream by
// priority (placed ones are skipped), or in stable mode, when few are left after the
// previous placements (a replan), just those, sorted on their own.
func (p *planner) rest(md mode) []int32 {
	if md == stable {
		n := 0
		for _, s := range p.live {
			if p.at[s] < 0 {
				n++
			}
		}
		if n*8 < len(p.live) {
			p.pending = p.pending[:0]
			for _, s := range p.live {
				if p.at[s] < 0 {
					p.pending = append(p.pending, s)
				}
			}
			slices.SortFunc(p.pending, p.cmpStreams)
			return p.pending
		}
	}
	if p.order == nil {
		p.order = slices.Clone(p.live)
		slices.SortFunc(p.order, p.cmpStreams)
	}
	return p.order
}

// keepSlots re-creates the previous plan's slots whose members may still rotate, in
// the same turn order, when they fit where they were.
func (p *planner) keepSlots() {
	for i, ms := range p.prevSlots {
		d := p.prevSlotD[i]
		keep := p.tmp[:0]
		for _, s := range ms {
			if st := &p.ss[s]; st.code == "" && p.at[s] < 0 && p.lvl.rotates(st) && p.feas[p.ci(s, d)] && len(keep) < p.cfg.MaxRotated {
				keep = append(keep, s)
			}
		}
		p.tmp = keep
		if len(keep) < 2 {
			continue
		}
		var dec, inf float64
		for _, s := range keep {
			c := p.ci(s, d)
			dec, inf = max(dec, p.dec[c]), max(inf, p.inf[c])
		}
		if !p.fits(d, dec, inf, 1) {
			continue
		}
		l := &p.ld[d]
		l.dec += dec
		l.inf += inf
		l.sess++
		i := p.newSlot(d, dec, inf, keep...)
		for _, s := range keep {
			p.at[s], p.slotOf[s] = d, int32(i)
			p.markModels(s, d)
		}
	}
}

func (p *planner) newSlot(d int32, dec, inf float64, ms ...int32) int {
	i := len(p.slots)
	if i < cap(p.slots) {
		p.slots = p.slots[:i+1]
	} else {
		p.slots = append(p.slots, slot{})
	}
	sl := &p.slots[i]
	sl.dev, sl.dec, sl.inf = d, dec, inf
	sl.members = append(sl.members[:0], ms...)
	return i
}

// join adds a stream that does not fit full-time to the slot with the fewest members
// that has a turn free and room for it (growing the slot as little as possible).
func (p *planner) join(s int32) bool {
	bi, bn := -1, 0
	var bg float64
	for i := range p.slots {
		sl := &p.slots[i]
		n := len(sl.members)
		if n == 0 || n >= p.cfg.MaxRotated {
			continue
		}
		c := p.ci(s, sl.dev)
		if !p.feas[c] {
			continue
		}
		nd, ni := max(sl.dec, p.dec[c]), max(sl.inf, p.inf[c])
		if !p.fits(sl.dev, nd-sl.dec, ni-sl.inf, 0) {
			continue
		}
		cuda := p.devs[sl.dev].cuda
		g := weight(cuda, nd, ni) - weight(cuda, sl.dec, sl.inf)
		if bi < 0 || n < bn || n == bn && g < bg-eps*eps {
			bi, bn, bg = i, n, g
		}
	}
	if bi < 0 {
		return false
	}
	sl := &p.slots[bi]
	c := p.ci(s, sl.dev)
	nd, ni := max(sl.dec, p.dec[c]), max(sl.inf, p.inf[c])
	p.ld[sl.dev].dec += nd - sl.dec
	p.ld[sl.dev].inf += ni - sl.inf
	sl.dec, sl.inf = nd, ni
	sl.members = append(sl.members, s)
	p.at[s], p.slotOf[s] = sl.dev, int32(bi)
	p.markModels(s, sl.dev)
	return true
}

// convert opens a new slot for a stream that does not fit: a full-time stream that
// may rotate at this level (lowest priority first, the last placed first) shares its
// capacity with it.
func (p *planner) convert(s int32) bool {
	bo, bd := int32(-1), int32(-1)
	var bg float64
	for d := range p.devs {
		c := p.ci(s, int32(d))
		if !p.feas[c] {
			continue
		}
		cuda := p.devs[d].cuda
		for _, o := range p.occ[d] {
			if p.at[o] != int32(d) || p.slotOf[o] >= 0 || !p.lvl.rotates(&p.ss[o]) {
				continue
			}
			co := p.ci(o, int32(d))
			nd, ni := max(p.dec[co], p.dec[c]), max(p.inf[co], p.inf[c])
			if !p.fits(int32(d), nd-p.dec[co], ni-p.inf[co], 0) {
				continue
			}
			g := weight(cuda, nd, ni) - weight(cuda, p.dec[co], p.inf[co])
			if bo >= 0 {
				if k := cmp.Compare(p.ss[o].cls, p.ss[bo].cls); k > 0 || k == 0 && (g > bg+eps*eps || g >= bg-eps*eps && p.seq[o] < p.seq[bo]) {
					continue
				}
			}
			bo, bd, bg = o, int32(d), g
		}
	}
	if bo < 0 {
		return false
	}
	co, c := p.ci(bo, bd), p.ci(s, bd)
	nd, ni := max(p.dec[co], p.dec[c]), max(p.inf[co], p.inf[c])
	p.ld[bd].dec += nd - p.dec[co]
	p.ld[bd].inf += ni - p.inf[co]
	i := p.newSlot(bd, nd, ni, bo, s)
	p.slotOf[bo], p.slotOf[s], p.at[s] = int32(i), int32(i), bd
	p.markModels(s, bd)
	return true
}

// unrotate takes streams out of their slot when they now fit full-time (room freed
// since the previous plan); a slot left with one stream is a full-time placement.
func (p *planner) unrotate() {
	for i := range p.slots {
		sl := &p.slots[i]
		l := &p.ld[sl.dev]
		for j := len(sl.members) - 1; j >= 0 && len(sl.members) > 1; j-- {
			m := sl.members[j]
			var rd, ri float64
			for k, o := range sl.members {
				if k != j {
					c := p.ci(o, sl.dev)
					rd, ri = max(rd, p.dec[c]), max(ri, p.inf[c])
				}
			}
			l.dec -= sl.dec - rd
			l.inf -= sl.inf - ri
			p.at[m] = -1
			p.reopen(false) // sl.dev has room again
			if d := p.best(m); d >= 0 {
				p.slotOf[m] = -1
				p.place(m, d)
				sl.members = slices.Delete(sl.members, j, j+1)
				sl.dec, sl.inf = rd, ri
				continue
			}
			l.dec += sl.dec - rd
			l.inf += sl.inf - ri
			p.at[m] = sl.dev
		}
		if len(sl.members) == 1 {
			o := sl.members[0]
			c := p.ci(o, sl.dev)
			l.dec -= sl.dec - p.dec[c]
			l.inf -= sl.inf - p.inf[c]
			p.slotOf[o] = -1
			p.occ[sl.dev] = append(p.occ[sl.dev], o)
			sl.members = sl.members[:0]
		}
	}
}

// overCapacity reports that level l cannot fit whatever the packing: without time
// sharing, every live stream takes at least its cheapest share of some device
// (decode + inference on a CPU, decode and inference engines apart on a GPU, counted
// together against twice the target there), and their sum exceeds what all devices
// hold. The search skips such levels without packing them: on a large overloaded
// cluster most of the ladder below the answer is ruled out this way.
func (p *planner) overCapacity(l level) bool {
	if l.rot || len(p.devs) == 0 {
		return false
	}
	p.setLevel(l)
	room := 0.0
	for d := range p.devs {
		room += p.cfg.TargetUtil
		if p.devs[d].cuda {
			room += p.cfg.TargetUtil
		}
	}
	need := 0.0
	for _, si := range p.live {
		base, least := int(si)*p.np, huge
		for pi := range p.profs {
			if c := base + pi; p.feas[c] {
				least = min(least, p.dec[c]+p.inf[c])
			}
		}
		if least < huge {
			need += least
		}
	}
	return need > room+eps
}

// search finds the first level of the ladder at which everything fits in mode md.
func (p *planner) search(md mode) (level, bool) {
	try := func(l level) bool { return !p.overCapacity(l) && p.pack(l, md, false) }
	if try(level{}) {
		return level{}, true
	}
	for i := range p.classes {
		n := 0
		if p.gives[i] {
			n = steps
		}
		if p.rotCls[i] {
			n++
		}
		if n == 0 {
			continue // nothing to give: the class's end level is the previous one
		}
		cand := func(k int) level {
			if !p.gives[i] || k == steps {
				return level{cls: i, step: steps, rot: true}
			}
			return level{cls: i, step: k + 1}
		}
		if !try(cand(n - 1)) {
			continue
		}
		lo, hi := 0, n-1
		for lo < hi {
			mid := (lo + hi) / 2
			if try(cand(mid)) {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		return cand(hi), true
	}
	return level{}, false
}

// solve picks the level and mode and leaves the pack state at them. What does not fit
// at the top of the ladder even by priority is refused, and the rest searched again.
func (p *planner) solve() {
	for {
		if len(p.live) == 0 {
			p.reset(level{}, stable)
			p.readmit()
			return
		}
		for _, md := range []mode{stable, byPriority} {
			if l, ok := p.search(md); ok {
				if !p.valid || p.lvl != l || p.md != md {
					p.pack(l, md, true)
				}
				p.readmit()
				return
			}
		}
		top := level{cls: len(p.classes)}
		if p.pack(top, byPriority, true) {
			return
		}
		for _, s := range p.failed {
			p.ss[s].code = NoCapacity
		}
		refused := func(s int32) bool { return p.ss[s].code != "" }
		p.live = slices.DeleteFunc(p.live, refused)
		p.order = slices.DeleteFunc(p.order, refused)
		for d := range p.stickyDev {
			p.stickyDev[d] = slices.DeleteFunc(p.stickyDev[d], refused)
		}
	}
}

// readmit places a refused stream after all if the final plan has room for it at the
// final level (a refusal is decided at the top of the ladder; the plan that follows
// may be packed differently).
func (p *planner) readmit() {
	for si := range p.ss {
		s := &p.ss[si]
		if s.code != NoCapacity {
			continue
		}
		p.streamCosts(int32(si), p.lvl)
		p.reopen(true) // a refused stream may cost less than every live one
		if d := p.best(int32(si)); d >= 0 {
			p.place(int32(si), d)
			s.code = ""
		}
	}
}
