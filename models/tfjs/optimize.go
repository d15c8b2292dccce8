package tfjs

import (
	"github.com/cityeye/cityeye/models/onnxpb"
)

// optimize simplifies the translated graph without changing any value it computes:
// chains of Transposes are composed (the NHWC<->NCHW pairs wrapped around every conv
// cancel against each other and against the NCHW<->NHWC Transposes TF converters
// insert), then nodes and initializers nothing reads are dropped. Values named in
// keep (the graph outputs) are always preserved.
func optimize(g *onnxpb.Graph, keep map[string]bool) {
	removeDead(g, keep)
	for composeTransposes(g, keep) {
		removeDead(g, keep)
	}
}

func permOf(n *onnxpb.NodeProto) []int64 {
	for _, a := range n.Attribute {
		if a.Name == "perm" {
			return a.Ints
		}
	}
	return nil
}

// composeTransposes rewrites Transpose(Transpose(x, p1), p2) as Transpose(x, p1∘p2), or
// as x itself when the composition is the identity. It reports whether it changed
// anything.
func composeTransposes(g *onnxpb.Graph, keep map[string]bool) bool {
	producer := map[string]*onnxpb.NodeProto{}
	for _, n := range g.Proto.Node {
		for _, o := range n.Output {
			producer[o] = n
		}
	}
	replace := map[string]string{} // value -> the value to read instead
	changed := false
	for _, n := range g.Proto.Node {
		if n.OpType != "Transpose" || len(n.Input) != 1 {
			continue
		}
		p := producer[n.Input[0]]
		if p == nil || p.OpType != "Transpose" || len(p.Input) != 1 {
			continue
		}
		p1, p2 := permOf(p), permOf(n)
		if p1 == nil || p2 == nil || len(p1) != len(p2) {
			continue
		}
		composed := make([]int64, len(p2))
		identity := true
		for i, k := range p2 {
			composed[i] = p1[k]
			identity = identity && composed[i] == int64(i)
		}
		n.Input[0] = p.Input[0]
		changed = true
		for _, a := range n.Attribute {
			if a.Name == "perm" {
				a.Ints = composed
			}
		}
		if identity {
			if keep[n.Output[0]] {
				n.OpType, n.Attribute = "Identity", nil
			} else {
				replace[n.Output[0]] = p.Input[0]
			}
		}
	}
	if len(replace) > 0 {
		resolve := func(s string) string {
			for {
				r, ok := replace[s]
				if !ok {
					return s
				}
				s = r
			}
		}
		for _, n := range g.Proto.Node {
			for i, s := range n.Input {
				n.Input[i] = resolve(s)
			}
		}
	}
	return changed
}

// removeDead drops nodes whose outputs nobody reads and unread initializers.
func removeDead(g *onnxpb.Graph, keep map[string]bool) {
	for {
		read := map[string]bool{}
		for k := range keep {
			read[k] = true
		}
		for _, n := range g.Proto.Node {
			for _, s := range n.Input {
				read[s] = true
			}
		}
		kept := g.Proto.Node[:0]
		removed := false
		for _, n := range g.Proto.Node {
			live := false
			for _, o := range n.Output {
				live = live || read[o]
			}
			if live {
				kept = append(kept, n)
			} else {
				removed = true
			}
		}
		g.Proto.Node = kept
		if !removed {
			inits := g.Proto.Initializer[:0]
			for _, t := range g.Proto.Initializer {
				if read[t.Name] {
					inits = append(inits, t)
				}
			}
			g.Proto.Initializer = inits
			return
		}
	}
}
