package track

import "math"

// infeasible marks a pair that must never be matched (another family, no overlap).
const infeasible = math.MaxFloat64 / 4

// assign solves the linear assignment problem on cost (rows × cols) with a cost
// limit, like ByteTrack's lapjv(cost_limit): a pair is matched only if that is
// cheaper than leaving both unmatched, i.e. cost < limit. Each row gets a private
// dummy column of cost limit, and the square-or-wide matrix is solved exactly with
// the Hungarian method (shortest augmenting paths with potentials, O(n²·m)).
// It returns, per row, the matched column or -1. The rows and columns linked by pairs
// under the limit fall apart into small groups in a street scene (people far apart
// never compete), so each group is solved on its own.
func assign(cost [][]float64, limit float64) []int {
	out := make([]int, len(cost))
	for i := range out {
		out[i] = -1
	}
	if len(cost) == 0 || len(cost[0]) == 0 {
		return out
	}
	for _, g := range groups(cost, limit) {
		sub := make([][]float64, len(g.rows))
		for a, i := range g.rows {
			sub[a] = make([]float64, len(g.cols))
			for b, j := range g.cols {
				sub[a][b] = cost[i][j]
			}
		}
		for a, b := range hungarian(sub, limit) {
			if b >= 0 {
				out[g.rows[a]] = g.cols[b]
			}
		}
	}
	return out
}

type group struct{ rows, cols []int }

// groups splits rows and columns into the connected components of the pairs under
// limit (union-find over rows 0..n-1 and columns n..n+m-1); lone rows are left out.
func groups(cost [][]float64, limit float64) []group {
	n, m := len(cost), len(cost[0])
	parent := make([]int, n+m)
	for i := range parent {
		parent[i] = i
	}
	find := func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	linked := make([]bool, n+m)
	for i, row := range cost {
		for j, c := range row {
			if c < limit {
				linked[i], linked[n+j] = true, true
				if a, b := find(i), find(n+j); a != b {
					parent[a] = b
				}
			}
		}
	}
	idx := map[int]int{}
	var out []group
	for x := range n + m {
		if !linked[x] {
			continue
		}
		r := find(x)
		k, ok := idx[r]
		if !ok {
			k = len(out)
			idx[r] = k
			out = append(out, group{})
		}
		if x < n {
			out[k].rows = append(out[k].rows, x)
		} else {
			out[k].cols = append(out[k].cols, x-n)
		}
	}
	return out
}

// hungarian solves one group exactly; see assign.
func hungarian(cost [][]float64, limit float64) []int {
	n := len(cost)
	out := make([]int, n)
	for i := range out {
		out[i] = -1
	}
	if n == 0 {
		return out
	}
	m := len(cost[0])
	if m == 0 {
		return out
	}
	cols := m + n // real columns, then one dummy per row
	at := func(i, j int) float64 {
		switch {
		case j < m:
			if c := cost[i][j]; c < limit {
				return c
			}
			return infeasible
		case j-m == i:
			return limit
		}
		return infeasible
	}
	// 1-based arrays as in the classic formulation: p[j] is the row matched to column j.
	u := make([]float64, n+1)
	v := make([]float64, cols+1)
	p := make([]int, cols+1)
	way := make([]int, cols+1)
	minv := make([]float64, cols+1)
	used := make([]bool, cols+1)
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		for j := range minv {
			minv[j] = math.Inf(1)
			used[j] = false
		}
		for {
			used[j0] = true
			i0, delta, j1 := p[j0], math.Inf(1), 0
			for j := 1; j <= cols; j++ {
				if used[j] {
					continue
				}
				if c := at(i0-1, j-1) - u[i0] - v[j]; c < minv[j] {
					minv[j], way[j] = c, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := 0; j <= cols; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	for j := 1; j <= m; j++ {
		if i := p[j]; i > 0 && cost[i-1][j-1] < limit {
			out[i-1] = j - 1
		}
	}
	return out
}
