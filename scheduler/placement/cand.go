package placement

import (
	"math"
	"slices"
)

// cands keeps best's scan short on large clusters without changing its answer. A device
// is "touched" once its worker has load or models placed (or preloaded); the untouched
// devices of one class (same profile and session limit) are interchangeable — same
// costs, zero load, no models — so best needs only the first of each class: a later one
// ties with it and loses on order. A touched device that cannot fit even the cheapest
// live stream at the current level is "closed" and dropped from the scan until loads
// may fall again (reopen). The scan still goes in device order, as best's ties need.
type cands struct {
	class   []int32   // per device
	members [][]int32 // per class: its devices, ascending
	cursor  []int     // per class: first member not touched
	touched []bool
	all     []int32 // touched devices, ascending
	open    []int32 // touched devices not closed, ascending
	hwFirst []int32 // per worker: its first device (devices of a worker are contiguous)
	minTot  []float64
	minDec  []float64
	minInf  []float64
	pruneOK bool // minima hold for every stream best may be asked about
	// room[k] (k ≥ 1) holds the touched CPU devices with at least tau[k] of their
	// second free (lazily: ones found with less are dropped), tau[k] = cheapest CPU
	// stream × √2^k; cuda holds the touched GPU devices. A stream that costs c on every
	// CPU profile scans room[k] for the largest tau[k] ≤ c, cuda and the class heads
	// instead of open: the devices it skips cannot fit it.
	room     [][]int32
	tau      []float64
	cuda     []int32
	heads    []int32
	preTouch []int32 // devices of workers with preloaded models: touched at every reset
}

func (p *planner) initCands() {
	c := &p.cand
	key := map[[2]int]int32{}
	c.class = make([]int32, len(p.devs))
	for d, dv := range p.devs {
		k := [2]int{dv.prof, dv.maxSess}
		ci, ok := key[k]
		if !ok {
			ci = int32(len(c.members))
			key[k] = ci
			c.members = append(c.members, nil)
		}
		c.class[d] = ci
		c.members[ci] = append(c.members[ci], int32(d))
		for len(c.hwFirst) <= dv.hw {
			c.hwFirst = append(c.hwFirst, int32(d))
		}
		for m := 0; m < p.nm; m++ {
			if p.wLoaded[dv.hw*p.nm+m] {
				c.preTouch = append(c.preTouch, int32(d))
				break
			}
		}
	}
	c.cursor = make([]int, len(c.members))
	c.touched = make([]bool, len(p.devs))
	c.minTot, c.minDec, c.minInf = make([]float64, p.np), make([]float64, p.np), make([]float64, p.np)
}

// resetCands: nothing placed (reset), costs at the level just set.
func (p *planner) resetCands() {
	c := &p.cand
	clear(c.touched)
	clear(c.cursor)
	c.all, c.open, c.cuda = c.all[:0], c.open[:0], c.cuda[:0]
	for _, d := range c.preTouch {
		p.touchDev(d)
	}
	for pi := range p.np {
		c.minTot[pi], c.minDec[pi], c.minInf[pi] = huge, huge, huge
	}
	for _, si := range p.live {
		base := int(si) * p.np
		for pi := range p.np {
			if i := base + pi; p.feas[i] {
				c.minTot[pi] = min(c.minTot[pi], p.dec[i]+p.inf[i])
				c.minDec[pi], c.minInf[pi] = min(c.minDec[pi], p.dec[i]), min(c.minInf[pi], p.inf[i])
			}
		}
	}
	c.pruneOK = true
	cheapest := huge
	for pi := range p.np {
		if !p.profs[pi].cuda {
			cheapest = min(cheapest, c.minTot[pi])
		}
	}
	c.tau = c.tau[:0]
	if cheapest > 0 && cheapest < huge {
		for t := math.Sqrt2 * cheapest; t <= p.cfg.TargetUtil; t *= math.Sqrt2 {
			c.tau = append(c.tau, t)
		}
	}
	for len(c.room) < len(c.tau) {
		c.room = append(c.room, nil)
	}
	p.rebuildRoom()
}

// rebuildRoom refills the room lists and cuda from every touched device (c.all is in
// device order, so appending keeps them sorted).
func (p *planner) rebuildRoom() {
	c := &p.cand
	for k := range c.room {
		c.room[k] = c.room[k][:0]
	}
	c.cuda = c.cuda[:0]
	for _, d := range c.all {
		if p.devs[d].cuda {
			c.cuda = append(c.cuda, d)
			continue
		}
		for k := range c.tau {
			c.room[k] = append(c.room[k], d)
		}
	}
}

// addRoom puts touched device d in the room lists (and cuda), in device order.
func (p *planner) addRoom(d int32) {
	c := &p.cand
	if p.devs[d].cuda {
		c.cuda = insertSorted(c.cuda, d)
		return
	}
	for k := range c.tau {
		c.room[k] = insertSorted(c.room[k], d)
	}
}

// roomFor is the room list index for a stream costing at least c on every CPU
// profile, -1 when none applies (scan open).
func (p *planner) roomFor(cost float64) int {
	c := &p.cand
	if !c.pruneOK {
		return -1
	}
	k := -1
	for i, t := range c.tau {
		if t > cost {
			break
		}
		k = i
	}
	return k
}

const huge = 1e300

// touchWorker marks every device of d's worker touched (its models changed).
func (p *planner) touchWorker(d int32) {
	c := &p.cand
	hw := p.devs[d].hw
	for i := c.hwFirst[hw]; int(i) < len(p.devs) && p.devs[i].hw == hw; i++ {
		p.touchDev(i)
	}
}

func (p *planner) touchDev(d int32) {
	c := &p.cand
	if c.touched[d] {
		return
	}
	c.touched[d] = true
	c.all = insertSorted(c.all, d)
	c.open = insertSorted(c.open, d)
	p.addRoom(d)
	ci := c.class[d]
	for c.cursor[ci] < len(c.members[ci]) && c.touched[c.members[ci][c.cursor[ci]]] {
		c.cursor[ci]++
	}
}

func insertSorted(s []int32, d int32) []int32 {
	i, _ := slices.BinarySearch(s, d)
	return slices.Insert(s, i, d)
}

// reopen puts every touched device back in the scan (loads fell, or a stream outside
// the minima is about to be placed); noPrune keeps them there.
func (p *planner) reopen(noPrune bool) {
	c := &p.cand
	c.open = append(c.open[:0], c.all...)
	p.rebuildRoom()
	if noPrune {
		c.pruneOK = false
	}
}

// closed reports whether touched device d can fit no live stream at this level.
func (p *planner) closed(d int32) bool {
	c := &p.cand
	if !c.pruneOK {
		return false
	}
	dv, l := &p.devs[d], &p.ld[d]
	if dv.maxSess > 0 && l.sess+1 > dv.maxSess {
		return true
	}
	t := p.cfg.TargetUtil + eps
	if dv.cuda {
		return l.dec+c.minDec[dv.prof] > t || l.inf+c.minInf[dv.prof] > t
	}
	return l.dec+l.inf+c.minTot[dv.prof] > t
}

// heads is the first untouched device of each class, in device order.
func (p *planner) heads() []int32 {
	c := &p.cand
	c.heads = c.heads[:0]
	for ci, ms := range c.members {
		if k := c.cursor[ci]; k < len(ms) {
			c.heads = append(c.heads, ms[k])
		}
	}
	slices.Sort(c.heads)
	return c.heads
}

// bestInOpen visits the open touched devices (dropping the closed ones met) merged
// with the class heads, in device order.
func (p *planner) bestInOpen(base int, heads []int32, consider func(int32)) {
	c := &p.cand
	h, k := 0, 0
	for _, d := range c.open {
		for h < len(heads) && heads[h] < d {
			consider(heads[h])
			h++
		}
		if p.closed(d) {
			continue
		}
		c.open[k] = d
		k++
		if p.feas[base+p.devs[d].prof] {
			consider(d)
		}
	}
	c.open = c.open[:k]
	for ; h < len(heads); h++ {
		consider(heads[h])
	}
}

// bestInRoom visits room[r] (dropping devices with less than tau[r] free), the GPUs
// and the class heads, in device order.
func (p *planner) bestInRoom(r int, heads []int32, consider func(int32)) {
	c := &p.cand
	t := p.cfg.TargetUtil + eps - c.tau[r]
	list := c.room[r]
	i, g, h, k := 0, 0, 0, 0
	for {
		next := int32(math.MaxInt32)
		from := 0
		if i < len(list) {
			next, from = list[i], 1
		}
		if g < len(c.cuda) && c.cuda[g] < next {
			next, from = c.cuda[g], 2
		}
		if h < len(heads) && heads[h] < next {
			next, from = heads[h], 3
		}
		switch from {
		case 0:
			c.room[r] = list[:k]
			return
		case 1:
			i++
			l, dv := &p.ld[next], &p.devs[next]
			if l.dec+l.inf > t || dv.maxSess > 0 && l.sess >= dv.maxSess {
				continue // less than tau[r] free: it fits no stream scanning this list
			}
			list[k] = next
			k++
		case 2:
			g++
		case 3:
			h++
		}
		consider(next)
	}
}
