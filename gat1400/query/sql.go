package query

import (
	"strings"
	"time"
)

// SQL renders the query. where is a boolean SQL expression without the WHERE keyword
// ("" when nothing is filtered), safe to combine with other conditions by AND (a
// top-level OR comes parenthesised). It holds only schema columns, operators,
// keywords and '?' placeholders; args holds the values, in placeholder order, as
// string, int64, float64 or what Schema.TimeArg returns. orderBy is a comma-separated
// list of "column ASC|DESC" without the ORDER BY keyword ("" when unsorted). LIMIT and
// OFFSET are [Query.Limit] and [Query.Offset].
//
// Rebind the placeholders for databases that number them ($1 on PostgreSQL).
func (q *Query) SQL() (where string, args []any, orderBy string) {
	r := &renderer{timeArg: q.schema.TimeArg}
	if r.timeArg == nil {
		r.timeArg = func(t time.Time) any { return t.UnixMilli() }
	}
	var conds []Node
	if q.Where != nil {
		conds = append(conds, q.Where)
	}
	if len(q.IDs) > 0 {
		f := q.schema.Fields[q.schema.IDField]
		if q.idCol != "" {
			f.Column = q.idCol
		}
		p := &Pred{Attr: q.schema.IDField, Field: f, Op: In}
		for _, id := range q.IDs {
			v, err := q.value(rIDList, f, id, false)
			if err != nil { // checked by Parse; keep the text rather than lose the filter
				v = Value{Text: id, V: id}
			}
			p.Values = append(p.Values, v)
		}
		conds = append(conds, p)
	}
	if n := conj(conds); n != nil {
		s, sh := r.render(n)
		if sh == orShape {
			s = "(" + s + ")"
		}
		where = s
	}
	keys := make([]string, len(q.Sort))
	for i, k := range q.Sort {
		keys[i] = k.Column + " ASC"
		if k.Desc {
			keys[i] = k.Column + " DESC"
		}
	}
	return where, r.args, strings.Join(keys, ", ")
}

// shape is what a rendered fragment needs around it when embedded.
type shape int

const (
	atomShape  shape = iota // a single comparison
	parenShape              // already enclosed in parentheses
	andShape                // a AND b
	orShape                 // a OR b
	notShape                // NOT (…)
)

type renderer struct {
	args    []any
	timeArg func(time.Time) any
}

func (r *renderer) render(n Node) (string, shape) {
	switch n := n.(type) {
	case *Pred:
		return r.pred(n)
	case *And:
		if len(n.Terms) == 0 {
			return "1 = 1", atomShape
		}
		return r.join(n.Terms, " AND "), andShape
	case *Or:
		if len(n.Terms) == 0 {
			return "1 = 0", atomShape
		}
		return r.join(n.Terms, " OR "), orShape
	case *Not:
		s, sh := r.render(n.X)
		if sh == parenShape {
			return "NOT " + s, notShape
		}
		return "NOT (" + s + ")", notShape
	}
	return "1 = 0", atomShape // unknown node type: match nothing rather than everything
}

func (r *renderer) join(terms []Node, sep string) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		s, sh := r.render(t)
		if sh == andShape || sh == orShape {
			s = "(" + s + ")"
		}
		parts[i] = s
	}
	return strings.Join(parts, sep)
}

func (r *renderer) pred(p *Pred) (string, shape) {
	c := p.Field.Column
	if p.Field.Kind == Time && allTimes(p.Values) {
		return r.timePred(c, p.Op, p.Values)
	}
	for _, v := range p.Values {
		r.args = append(r.args, v.V)
	}
	switch p.Op {
	case Like, NotLike:
		return c + " " + p.Op.String() + " ? ESCAPE '!'", atomShape
	case Between, NotBetween:
		return c + " " + p.Op.String() + " ? AND ?", atomShape
	case In, NotIn:
		return c + " " + p.Op.String() + " (" + placeholders(len(p.Values)) + ")", atomShape
	}
	return c + " " + p.Op.String() + " ?", atomShape
}

func allTimes(vs []Value) bool {
	for _, v := range vs {
		if _, ok := v.V.(time.Time); !ok {
			return false
		}
	}
	return len(vs) > 0
}

// timePred renders a comparison with times that each stand for the span
// [t, t+Prec): see the package documentation.
func (r *renderer) timePred(c string, op Op, vs []Value) (string, shape) {
	lo := func(v Value) any { return r.timeArg(v.V.(time.Time)) }
	hi := func(v Value) any { return r.timeArg(v.V.(time.Time).Add(v.Prec)) }
	one := func(s string, a any) (string, shape) {
		r.args = append(r.args, a)
		return c + " " + s + " ?", atomShape
	}
	inside := "(" + c + " >= ? AND " + c + " < ?)"
	outside := "(" + c + " < ? OR " + c + " >= ?)"
	switch op {
	case Lt:
		return one("<", lo(vs[0]))
	case Le:
		return one("<", hi(vs[0]))
	case Gt:
		return one(">=", hi(vs[0]))
	case Ge:
		return one(">=", lo(vs[0]))
	case Eq, Ne:
		r.args = append(r.args, lo(vs[0]), hi(vs[0]))
		if op == Ne {
			return outside, parenShape
		}
		return inside, parenShape
	case Between, NotBetween:
		r.args = append(r.args, lo(vs[0]), hi(vs[len(vs)-1]))
		if op == NotBetween {
			return outside, parenShape
		}
		return inside, parenShape
	case In, NotIn:
		parts := make([]string, len(vs))
		for i, v := range vs {
			r.args = append(r.args, lo(v), hi(v))
			parts[i] = inside
		}
		s := parts[0]
		if len(parts) > 1 {
			s = "(" + strings.Join(parts, " OR ") + ")"
		}
		if op == NotIn {
			return "NOT " + s, notShape
		}
		return s, parenShape
	}
	// LIKE on a time (not produced by Parse): compare as given.
	for _, v := range vs {
		r.args = append(r.args, lo(v))
	}
	return c + " " + op.String() + " ?", atomShape
}

func placeholders(n int) string {
	if n <= 0 {
		return "NULL"
	}
	return strings.Repeat("?, ", n-1) + "?"
}
