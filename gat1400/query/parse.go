package query

import (
	"strconv"
	"strings"
)

// parser is a recursive-descent parser over one term's tokens.
type parser struct {
	q     *Query
	toks  []token
	pos   int
	depth int
	term  string // Error.Param for syntax errors
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func (p *parser) errf(msg string) error { return &Error{Param: p.term, Msg: msg} }

// closeParen consumes the ')' that closes a group; inExpr says AND/OR could come instead.
func (p *parser) closeParen(inExpr bool) error {
	switch t := p.peek(); t.kind {
	case tRParen:
		p.next()
		return nil
	case tEOF:
		return p.errf("unbalanced parentheses: missing ')'")
	default:
		if !inExpr {
			return p.errf("unexpected " + t.describe() + "; expected ')'")
		}
		return p.errf("unexpected " + t.describe() + "; expected ')', AND or OR")
	}
}

// expectEOF checks that the term is fully consumed; inExpr says AND/OR could come instead.
func (p *parser) expectEOF(inExpr bool) error {
	switch t := p.peek(); {
	case t.kind == tEOF:
		return nil
	case t.kind == tRParen:
		return p.errf("unbalanced parentheses: unexpected ')'")
	case inExpr:
		return p.errf("unexpected " + t.describe() + " (join conditions with AND or OR, or separate terms with '&')")
	default:
		return p.errf("unexpected " + t.describe())
	}
}

func (p *parser) isKeyword(t token, kw string) bool {
	return t.kind == tWord && strings.EqualFold(t.text, kw)
}

var keywords = [...]string{"AND", "OR", "NOT", "LIKE", "BETWEEN", "IN"}

func isKeyword(w string) bool {
	for _, k := range keywords {
		if strings.EqualFold(w, k) {
			return true
		}
	}
	return false
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errf("nested deeper than " + strconv.Itoa(MaxDepth) + " levels")
	}
	return nil
}

// expr = andexpr { "OR" andexpr } .
func (p *parser) parseOr() (Node, error) {
	var terms []Node
	for {
		n, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		if o, ok := n.(*Or); ok {
			terms = append(terms, o.Terms...)
		} else {
			terms = append(terms, n)
		}
		if !p.isKeyword(p.peek(), "OR") {
			break
		}
		p.next()
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return &Or{Terms: terms}, nil
}

// andexpr = notexpr { "AND" notexpr } .
func (p *parser) parseAnd() (Node, error) {
	var terms []Node
	for {
		n, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		terms = append(terms, n)
		if !p.isKeyword(p.peek(), "AND") {
			break
		}
		p.next()
	}
	return conj(terms), nil
}

// notexpr = "NOT" notexpr | primary .
func (p *parser) parseNot() (Node, error) {
	if !p.isKeyword(p.peek(), "NOT") {
		return p.parsePrimary()
	}
	p.next()
	if err := p.enter(); err != nil {
		return nil, err
	}
	x, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	p.depth--
	return &Not{X: x}, nil
}

// primary = "(" expr ")" | predicate .
func (p *parser) parsePrimary() (Node, error) {
	t := p.peek()
	switch {
	case t.kind == tLParen:
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if err := p.closeParen(true); err != nil {
			return nil, err
		}
		p.depth--
		return n, nil
	case t.kind == tWord && !isKeyword(t.text):
		return p.parsePredicate()
	case t.kind == tRParen && p.pos > 0 && p.toks[p.pos-1].kind == tLParen:
		return nil, p.errf("empty parentheses")
	case t.kind == tRParen && p.pos == 0:
		return nil, p.errf("unbalanced parentheses: unexpected ')'")
	case t.kind == tEOF && p.pos == 0:
		return nil, p.errf("empty term")
	}
	return nil, p.errf("expected an attribute or '(', got " + t.describe())
}

var cmpOps = map[string]Op{"=": Eq, "!=": Ne, "<>": Ne, ">": Gt, "<": Lt, ">=": Ge, "<=": Le, "!>": Le, "!<": Ge}

// predicate = attr cmpop value | attr [NOT] LIKE value
//
//	| attr [NOT] BETWEEN value AND value | attr [NOT] IN "(" value { "," value } ")" .
func (p *parser) parsePredicate() (Node, error) {
	attr := p.next().text
	name, f, err := p.q.resolve(attr)
	if err != nil {
		return nil, err
	}
	pr := &Pred{Attr: name, Field: f}
	t := p.next()
	if t.kind == tOp {
		op, ok := cmpOps[t.text]
		if !ok {
			return nil, &Error{Param: attr, Msg: "unknown operator " + strconv.Quote(t.text)}
		}
		pr.Op = op
		v, err := p.value(attr, f)
		if err != nil {
			return nil, err
		}
		pr.Values = []Value{v}
		return pr, nil
	}
	if t.kind != tWord {
		return nil, &Error{Param: attr, Msg: "expected an operator, got " + t.describe()}
	}
	not := strings.EqualFold(t.text, "NOT")
	if not {
		t = p.next()
	}
	switch {
	case p.isKeyword(t, "LIKE"):
		pr.Op = Like
		if not {
			pr.Op = NotLike
		}
		if f.Kind != String {
			return nil, &Error{Param: attr, Msg: "LIKE applies to text attributes only; this one is " + f.Kind.String()}
		}
		v, err := p.value(attr, f)
		if err != nil {
			return nil, err
		}
		pat, n := likePattern(v.Text)
		if n > MaxLikeWildcards {
			return nil, &Error{Param: attr, Msg: "LIKE pattern has more than " + strconv.Itoa(MaxLikeWildcards) + " '*' or '%' wildcards"}
		}
		v.V = pat
		pr.Values = []Value{v}
	case p.isKeyword(t, "BETWEEN"):
		pr.Op = Between
		if not {
			pr.Op = NotBetween
		}
		lo, err := p.value(attr, f)
		if err != nil {
			return nil, err
		}
		if !p.isKeyword(p.peek(), "AND") {
			return nil, &Error{Param: attr, Msg: "BETWEEN without AND: expected AND, got " + p.peek().describe()}
		}
		p.next()
		hi, err := p.value(attr, f)
		if err != nil {
			return nil, err
		}
		pr.Values = []Value{lo, hi}
	case p.isKeyword(t, "IN"):
		pr.Op = In
		if not {
			pr.Op = NotIn
		}
		if p.next().kind != tLParen {
			return nil, &Error{Param: attr, Msg: "IN needs a parenthesised list"}
		}
		for {
			v, err := p.value(attr, f)
			if err != nil {
				return nil, err
			}
			if len(pr.Values) >= MaxListLen {
				return nil, &Error{Param: attr, Msg: "IN list longer than " + strconv.Itoa(MaxListLen)}
			}
			pr.Values = append(pr.Values, v)
			if p.peek().kind != tComma {
				break
			}
			p.next()
		}
		if t := p.next(); t.kind != tRParen {
			return nil, &Error{Param: attr, Msg: "expected ',' or ')' in IN list, got " + t.describe()}
		}
	case t.kind == tEOF:
		return nil, &Error{Param: attr, Msg: "missing operator after NOT"}
	default:
		return nil, &Error{Param: attr, Msg: "unknown operator " + strconv.Quote(t.text)}
	}
	return pr, nil
}

// value reads one value token for attribute attr.
func (p *parser) value(attr string, f Field) (Value, error) {
	t := p.next()
	switch {
	case t.kind == tString:
		return p.q.value(attr, f, t.text, false)
	case t.kind == tWord && !isKeyword(t.text):
		return p.q.value(attr, f, t.text, true)
	case t.kind == tEOF:
		return Value{}, &Error{Param: attr, Msg: "missing value"}
	}
	return Value{}, &Error{Param: attr, Msg: "expected a value, got " + t.describe()}
}

// reserved parses the value part of a reserved term, after "=".
func (p *parser) reserved(r string) error {
	switch r {
	case rSort:
		for {
			t := p.next()
			if t.kind != tWord && t.kind != tString {
				return &Error{Param: rSort, Msg: "expected an attribute, got " + t.describe()}
			}
			name, f, err := p.q.resolve(t.text)
			if err != nil {
				return err
			}
			k := SortKey{Attr: name, Column: f.Column}
			if p.isKeyword(p.peek(), "DESC") {
				k.Desc = true
				p.next()
			} else if p.isKeyword(p.peek(), "ASC") {
				p.next()
			}
			p.q.addSort(k)
			if p.peek().kind != tComma {
				return nil
			}
			p.next()
		}
	case rIDList:
		for {
			t := p.next()
			if t.kind != tWord && t.kind != tString {
				return &Error{Param: rIDList, Msg: "expected an ID, got " + t.describe()}
			}
			if err := p.q.addID(t.text); err != nil {
				return err
			}
			if p.peek().kind != tComma {
				return nil
			}
			p.next()
		}
	}
	t := p.next()
	if t.kind != tWord && t.kind != tString {
		return &Error{Param: r, Msg: "expected a non-negative integer, got " + t.describe()}
	}
	return p.q.setInt(r, t.text)
}

// addSort appends k unless its column is already a sort key.
func (q *Query) addSort(k SortKey) {
	for _, s := range q.Sort {
		if s.Column == k.Column {
			return
		}
	}
	q.Sort = append(q.Sort, k)
}

// likePattern turns a GA/T LIKE value into a SQL pattern for ESCAPE '!':
// '*' and '%' match any run, '_' any one character, '\' quotes the next character;
// without any wildcard the pattern matches as "contains". Adjacent runs collapse
// into one '%'; runs counts the '%' of the result (matching cost grows with it).
func likePattern(v string) (pattern string, runs int) {
	var b strings.Builder
	wild, lastRun := false, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		run := false
		switch c {
		case '\\':
			if i+1 < len(v) {
				i++
				c = v[i]
			}
			if c == '%' || c == '_' || c == '!' {
				b.WriteByte('!')
			}
			b.WriteByte(c)
		case '*', '%':
			wild, run = true, true
			if !lastRun {
				b.WriteByte('%')
				runs++
			}
		case '_':
			wild = true
			b.WriteByte('_')
		case '!':
			b.WriteString("!!")
		default:
			b.WriteByte(c)
		}
		lastRun = run
	}
	if !wild {
		return "%" + b.String() + "%", 2
	}
	return b.String(), runs
}
