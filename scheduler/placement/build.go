package placement

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// build turns the pack state into a Plan with a grant and a reason for every task.
func (p *planner) build() Plan {
	ntasks := 0
	for i := range p.ss {
		ntasks += len(p.ss[i].tasks)
	}
	plan := Plan{
		Assign: make(map[string]Assignment, len(p.live)),
		Grants: make(map[string]Grant, ntasks),
		Util:   make(map[string]float64, len(p.devs)),
	}
	for d := range p.devs {
		plan.Util[p.devs[d].worker+"/"+p.devs[d].id] = round(p.util(int32(d)), 1e9)
	}
	slotIdx := make([]int, len(p.slots))
	for i := range p.slots {
		sl := &p.slots[i]
		slotIdx[i] = -1
		if len(sl.members) == 0 {
			continue
		}
		slotIdx[i] = len(plan.Rotation)
		ids := make([]string, len(sl.members))
		for k, s := range sl.members {
			ids[k] = p.ss[s].id
		}
		dv := &p.devs[sl.dev]
		plan.Rotation = append(plan.Rotation, Slot{Worker: dv.worker, Device: dv.id, Streams: ids, Dwell: p.cfg.Dwell,
			Cycle: time.Duration(len(ids)) * p.cfg.Dwell, Reserved: round(weight(dv.cuda, sl.dec, sl.inf), 1e9)})
	}
	msgs, slotMsg := map[msgKey]string{}, make([]string, len(plan.Rotation))
	for si := range p.ss {
		s := &p.ss[si]
		if s.code == "" && p.at[si] >= 0 {
			d := p.at[si]
			dv := &p.devs[d]
			c := p.ci(int32(si), d)
			a := Assignment{Worker: dv.worker, Device: dv.id, Cost: round(weight(dv.cuda, p.dec[c], p.inf[c]), 1e9)}
			if k := p.slotOf[si]; k >= 0 {
				sl := &p.slots[k]
				a.Rotated, a.Slot = true, slotIdx[k]
				for j, m := range sl.members {
					if m == int32(si) {
						a.Phase = time.Duration(j) * p.cfg.Dwell
					}
				}
			}
			plan.Assign[s.id] = a
		}
		switch {
		case s.code == NoCapacity:
			s.msg = p.refusal(int32(si))
		case s.code == "" && p.slotOf[si] >= 0:
			a := plan.Assign[s.id]
			if slotMsg[a.Slot] == "" {
				sl := plan.Rotation[a.Slot]
				slotMsg[a.Slot] = fmt.Sprintf("time-shared on %s/%s with %d other stream(s): runs %s of every %s at its tasks' minimum rates, because priority-%d streams do not all fit even at minimum rates; its turn starts at ",
					sl.Worker, sl.Device, len(sl.Streams)-1, sl.Dwell, sl.Cycle, p.classes[s.cls])
			}
			s.msg = slotMsg[a.Slot] + a.Phase.String()
		}
		for i := range s.tasks {
			plan.Grants[s.tasks[i].id] = p.grant(int32(si), &s.tasks[i], msgs)
		}
	}
	return plan
}

// msgKey identifies a degradation message: thousands of tasks share a few.
type msgKey struct {
	granted, asked, min float64
	prio, share         int
}

func (p *planner) grant(si int32, t *task, msgs map[msgKey]string) Grant {
	s := &p.ss[si]
	g := Grant{Stream: s.id, RequestedFPS: t.asked}
	if t.asked <= 0 {
		g.RequestedFPS = s.native
	}
	if s.code != "" {
		g.State, g.Code, g.Message = Unplaced, s.code, s.msg
		return g
	}
	f := round(p.lvl.fps(t), 1e6)
	g.GrantedFPS, g.Duty = f, 1
	if k := p.slotOf[si]; k >= 0 {
		g.State, g.Code, g.Duty, g.Message = Rotated, TimeShared, 1/float64(len(p.slots[k].members)), s.msg
		return g
	}
	if f < t.req-eps {
		share := 100
		if t.cls == p.lvl.cls {
			share = p.lvl.step * 100 / steps
		}
		g.State, g.Code = Degraded, FPSLowered
		k := msgKey{f, g.RequestedFPS, t.min, t.prio, share}
		m, ok := msgs[k]
		if !ok {
			m = fmt.Sprintf("lowered to %s fps (requested %s, minimum %s): demand exceeds capacity at the %.0f%% target utilisation, so priority-%d tasks give up %d%% of their range above minimum",
				num(f), num(g.RequestedFPS), num(t.min), p.cfg.TargetUtil*100, t.prio, share)
			msgs[k] = m
		}
		g.Message = m
		return g
	}
	g.State = OK
	if t.asked > s.native {
		g.Code = FPSCapped
		g.Message = fmt.Sprintf("asked %s fps, more than the stream's native %s fps: granted the native rate", num(t.asked), num(s.native))
	}
	return g
}

// refusal explains a no_capacity refusal with the stream's smallest need and the
// largest room left on a device that could run it.
func (p *planner) refusal(si int32) string {
	p.streamCosts(si, level{cls: math.MaxInt})
	base := int(si) * p.np
	need, room := math.Inf(1), 0.0
	bp := -1
	for d := range p.devs {
		dv := &p.devs[d]
		c := base + dv.prof
		if !p.feas[c] {
			continue
		}
		if w := weight(dv.cuda, p.dec[c], p.inf[c]); w < need {
			need, bp = w, dv.prof
		}
		l := &p.ld[d]
		r := p.cfg.TargetUtil - l.dec - l.inf
		if dv.cuda {
			r = p.cfg.TargetUtil - max(l.dec, l.inf)
		}
		if dv.maxSess > 0 && l.sess >= dv.maxSess {
			r = 0
		}
		room = max(room, r)
	}
	return fmt.Sprintf("refused: at minimum rates it needs %.3f of a %s device (decode %.3f, inference %.3f) and the most room left on a device that runs it is %.3f (target %.2f); lower-priority work already runs at minimum rates or time-shared",
		need, kindName(p.profs[bp].cuda), p.dec[base+bp], p.inf[base+bp], max(room, 0), p.cfg.TargetUtil)
}

func round(x, scale float64) float64 { return math.Round(x*scale) / scale }

func num(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
