package query

import (
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cityeye/cityeye/gat1400"
)

// Limits on input. Exceeding one is an [*Error].
const (
	MaxQueryLen          = 8 << 10 // bytes of raw (still percent-encoded) query string
	MaxDepth             = 32      // nesting of parentheses and NOT inside one term
	MaxListLen           = 1000    // elements of one IN list, and IDList elements in all
	MaxLikeWildcards     = 8       // '*'/'%' runs in one LIKE pattern (each can multiply matching cost)
	DefaultPageRecordNum = 20      // page size when PageRecordNum is absent or 0
	MaxPageRecordNum     = 1000    // page size cap
	maxReservedInt       = 1<<31 - 1
)

// Kind is how an attribute's values are read and compared.
type Kind int

const (
	String Kind = iota // text; LIKE allowed
	Int                // decimal integer (int64 arg)
	Float              // decimal number (float64 arg)
	Time               // YYYYMMDDhhmmss[MMM], compared as the second (or ms) it names
)

func (k Kind) String() string {
	switch k {
	case String:
		return "String"
	case Int:
		return "Int"
	case Float:
		return "Float"
	case Time:
		return "Time"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Field maps one GA/T 1400 attribute to SQL.
type Field struct {
	Column string // SQL expression, trusted (never taken from input), e.g. "device_id"
	Kind   Kind
}

// Schema describes one endpoint's object: which attributes may be queried and how.
type Schema struct {
	Object  string           // e.g. "Face": the prefix in Face.DeviceID
	Aliases []string         // other accepted prefixes, e.g. "Faces"
	Fields  map[string]Field // attribute name as in GA/T 1400 (e.g. "DeviceID") → column
	IDField string           // attribute (a key of Fields) that IDList matches, e.g. "FaceID"

	// TimeArg converts a Time value to the SQL argument. Nil means Unix milliseconds
	// (int64), CityEye's storage of times.
	TimeArg func(time.Time) any
	// Location is the zone wire times are read in. Nil means gat1400.Location.
	Location *time.Location
}

// Error is a rejected query. Param names what is wrong as the client wrote it: an
// attribute (MotorVehicle.Colour), a reserved parameter (PageRecordNum) or, for
// syntax errors, the term; it is empty only when the query as a whole is at fault.
type Error struct {
	Param string
	Msg   string
}

func (e *Error) Error() string {
	if e.Param == "" {
		return e.Msg
	}
	return e.Param + ": " + e.Msg
}

// Query is a parsed query string.
type Query struct {
	// Where is the conjunction of all filter terms (nil when there are none). IDs are
	// kept apart and joined in by SQL.
	Where Node
	IDs   []string  // from IDList, in order, without duplicates or empty IDs (may be empty: a DELETE must check)
	Sort  []SortKey // in order given

	// The paging parameters as given (0 when absent); see Offset and Limit.
	RecordStartNo      int
	PageRecordNum      int
	MaxNumRecordReturn int

	schema Schema
	idCol  string
	set    map[string]bool // reserved integers already given
}

// SortKey is one ORDER BY element.
type SortKey struct {
	Attr   string // canonical attribute name
	Column string
	Desc   bool
}

// Offset is the number of rows to skip: RecordStartNo is 1-based, 0 means 1.
func (q *Query) Offset() int {
	if q.RecordStartNo <= 1 {
		return 0
	}
	return q.RecordStartNo - 1
}

// Limit is the page size: PageRecordNum (default DefaultPageRecordNum), no more than
// MaxNumRecordReturn when that is given, and never more than MaxPageRecordNum.
func (q *Query) Limit() int {
	n := q.PageRecordNum
	if n == 0 {
		n = DefaultPageRecordNum
		if q.MaxNumRecordReturn > 0 {
			n = q.MaxNumRecordReturn
		}
	} else if q.MaxNumRecordReturn > 0 && q.MaxNumRecordReturn < n {
		n = q.MaxNumRecordReturn
	}
	return min(n, MaxPageRecordNum)
}

// Node is an expression tree node: *And, *Or, *Not or *Pred.
type Node interface{ node() }

// And is true when all its terms are.
type And struct{ Terms []Node }

// Or is true when any of its terms is.
type Or struct{ Terms []Node }

// Not negates X.
type Not struct{ X Node }

// Pred compares one attribute with values.
type Pred struct {
	Attr   string // canonical attribute name, e.g. "DeviceID"
	Field  Field
	Op     Op
	Values []Value // 1 (comparison, LIKE), 2 (BETWEEN) or more (IN)
}

// Value is one checked value.
type Value struct {
	Text string        // as written, unquoted
	V    any           // string, int64, float64 or time.Time; for LIKE the SQL pattern
	Prec time.Duration // for time.Time: the span it names (time.Second or time.Millisecond)
}

func (*And) node()  {}
func (*Or) node()   {}
func (*Not) node()  {}
func (*Pred) node() {}

// Op is a predicate operator. The aliases of the wire syntax are normalised:
// != and <> are Ne, !> is Le, !< is Ge.
type Op int

const (
	Eq Op = iota + 1
	Ne
	Lt
	Le
	Gt
	Ge
	Like
	NotLike
	Between
	NotBetween
	In
	NotIn
)

var opNames = [...]string{Eq: "=", Ne: "<>", Lt: "<", Le: "<=", Gt: ">", Ge: ">=",
	Like: "LIKE", NotLike: "NOT LIKE", Between: "BETWEEN", NotBetween: "NOT BETWEEN",
	In: "IN", NotIn: "NOT IN"}

func (o Op) String() string {
	if o > 0 && int(o) < len(opNames) {
		return opNames[o]
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// Parse parses a raw (still percent-encoded) query string, as in
// http.Request.URL.RawQuery; a leading '?' is allowed. Every failure is an *Error.
func Parse(rawQuery string, s Schema) (*Query, error) {
	if len(rawQuery) > MaxQueryLen {
		return nil, &Error{Msg: "query string longer than " + strconv.Itoa(MaxQueryLen) + " bytes"}
	}
	rawQuery = strings.TrimPrefix(rawQuery, "?")
	q := &Query{schema: s, set: map[string]bool{}}
	if q.schema.Location == nil {
		q.schema.Location = gat1400.Location
	}
	var conds []Node
	for _, t := range splitTerms(rawQuery) {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if !utf8.ValidString(t) {
			return nil, &Error{Param: termParam(strings.ToValidUTF8(t, "\uFFFD")), Msg: "not valid UTF-8"}
		}
		if i := strings.IndexFunc(t, isBadControl); i >= 0 {
			// NUL and friends: PostgreSQL refuses NUL in text, and none belongs in a query.
			r, _ := utf8.DecodeRuneInString(t[i:])
			return nil, &Error{Param: termParam(t), Msg: "control character " + strconv.QuoteRune(r) + " not allowed"}
		}
		n, err := q.term(t)
		if err != nil {
			return nil, err
		}
		if n != nil {
			conds = append(conds, n)
		}
	}
	q.Where = conj(conds)
	q.set = nil
	return q, nil
}

func isBadControl(r rune) bool {
	return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r'
}

// conj ANDs nodes, flattening nested Ands.
func conj(ns []Node) Node {
	var terms []Node
	for _, n := range ns {
		if a, ok := n.(*And); ok {
			terms = append(terms, a.Terms...)
		} else {
			terms = append(terms, n)
		}
	}
	switch len(terms) {
	case 0:
		return nil
	case 1:
		return terms[0]
	}
	return &And{Terms: terms}
}

// termParam shortens a term for use as Error.Param.
func termParam(t string) string {
	const max = 80
	if len(t) <= max {
		return t
	}
	i := max
	for i > 0 && !utf8.RuneStart(t[i]) {
		i--
	}
	return t[:i] + "…"
}

// Reserved parameter names, canonical spelling.
const (
	rRecordStartNo      = "RecordStartNo"
	rPageRecordNum      = "PageRecordNum"
	rMaxNumRecordReturn = "MaxNumRecordReturn"
	rSort               = "Sort"
	rIDList             = "IDList"
)

func reservedName(w string) string {
	for _, r := range [...]string{rRecordStartNo, rPageRecordNum, rMaxNumRecordReturn, rSort, rIDList} {
		if strings.EqualFold(w, r) {
			return r
		}
	}
	return ""
}

// term parses one decoded, trimmed, non-empty term. It returns the filter condition
// it contributes, or nil for reserved parameters.
func (q *Query) term(t string) (Node, error) {
	if key, val, ok := plainTerm(t); ok {
		return q.plain(key, val)
	}
	toks, err := lex(t)
	if err != nil {
		return nil, err
	}
	p := &parser{q: q, toks: toks, term: termParam(t)}
	// A reserved term: { "(" } resname "=" …
	k := 0
	for toks[k].kind == tLParen {
		k++
	}
	if toks[k].kind == tWord && toks[k+1].kind == tOp && toks[k+1].text == "=" {
		if r := reservedName(toks[k].text); r != "" {
			p.pos = k + 2
			if err := p.reserved(r); err != nil {
				return nil, err
			}
			for range k {
				if err := p.closeParen(false); err != nil {
					return nil, err
				}
			}
			return nil, p.expectEOF(false)
		}
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	return n, p.expectEOF(true)
}

// plainTerm recognises key=value with a key of name characters directly before the
// '=', and a value that does not start with a quote (which is read as an expression).
func plainTerm(t string) (key, val string, ok bool) {
	j := 0
	for j < len(t) && isKeyByte(t[j]) {
		j++
	}
	if j == 0 || j == len(t) || t[j] != '=' {
		return "", "", false
	}
	val = strings.TrimSpace(t[j+1:])
	if strings.HasPrefix(val, "=") || strings.HasPrefix(val, "'") {
		return "", "", false
	}
	return t[:j], val, true
}

func isKeyByte(c byte) bool {
	return c == '_' || c == '.' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// plain handles key=value: a reserved parameter or an equality.
func (q *Query) plain(key, val string) (Node, error) {
	if val == "" {
		return nil, nil
	}
	switch r := reservedName(key); r {
	case "":
	case rIDList:
		for _, id := range strings.Split(val, ",") {
			id = strings.TrimSpace(id)
			if len(id) >= 2 && id[0] == '\'' && id[len(id)-1] == '\'' {
				id = strings.ReplaceAll(id[1:len(id)-1], "''", "'")
			}
			if id == "" {
				continue
			}
			if err := q.addID(id); err != nil {
				return nil, err
			}
		}
		return nil, nil
	case rSort:
		toks, err := lex(val)
		if err != nil {
			err.(*Error).Param = rSort
			return nil, err
		}
		p := &parser{q: q, toks: toks, term: rSort}
		if err := p.reserved(r); err != nil {
			return nil, err
		}
		return nil, p.expectEOF(false)
	default:
		return nil, q.setInt(r, val)
	}
	name, f, err := q.resolve(key)
	if err != nil {
		return nil, err
	}
	v, err := q.value(key, f, val, false)
	if err != nil {
		return nil, err
	}
	return &Pred{Attr: name, Field: f, Op: Eq, Values: []Value{v}}, nil
}

func (q *Query) setInt(r, text string) error {
	n, err := strconv.Atoi(strings.TrimSpace(text))
	if err != nil || n < 0 || n > maxReservedInt {
		return &Error{Param: r, Msg: "not a non-negative integer: " + strconv.Quote(text)}
	}
	var dst *int
	switch r {
	case rRecordStartNo:
		dst = &q.RecordStartNo
	case rPageRecordNum:
		dst = &q.PageRecordNum
	default:
		dst = &q.MaxNumRecordReturn
	}
	if q.set[r] && *dst != n {
		return &Error{Param: r, Msg: "given twice with different values"}
	}
	q.set[r] = true
	*dst = n
	return nil
}

func (q *Query) addID(id string) error {
	if id == "" {
		return nil
	}
	if q.idCol == "" {
		f, ok := q.schema.Fields[q.schema.IDField]
		if q.schema.IDField == "" || !ok {
			return &Error{Param: rIDList, Msg: "not supported on this endpoint"}
		}
		q.idCol = f.Column
	}
	for _, x := range q.IDs {
		if x == id {
			return nil
		}
	}
	if len(q.IDs) >= MaxListLen {
		return &Error{Param: rIDList, Msg: "more than " + strconv.Itoa(MaxListLen) + " IDs"}
	}
	if _, err := q.value(rIDList, q.schema.Fields[q.schema.IDField], id, false); err != nil {
		return err
	}
	q.IDs = append(q.IDs, id)
	return nil
}

// resolve maps an attribute as written ([Object.]Attr) to its canonical name and Field.
func (q *Query) resolve(text string) (string, Field, error) {
	name := text
	if i := strings.IndexByte(text, '.'); i >= 0 {
		obj := text[:i]
		name = text[i+1:]
		if !q.objectMatches(obj) {
			return "", Field{}, &Error{Param: text, Msg: "object " + strconv.Quote(obj) +
				" does not belong to this endpoint; expected " + q.schema.Object}
		}
	}
	if r := reservedName(name); r != "" {
		return "", Field{}, &Error{Param: text, Msg: "reserved parameter; write it as a term of its own, e.g. (" + r + "=…)"}
	}
	if f, ok := q.schema.Fields[name]; ok && name != "" {
		return name, f, nil
	}
	found := ""
	for k := range q.schema.Fields {
		if strings.EqualFold(k, name) {
			if found != "" {
				found = ""
				break // ambiguous
			}
			found = k
		}
	}
	if found != "" && name != "" {
		return found, q.schema.Fields[found], nil
	}
	return "", Field{}, &Error{Param: text, Msg: "unknown attribute; known: " + q.known()}
}

func (q *Query) objectMatches(obj string) bool {
	if strings.EqualFold(obj, q.schema.Object) {
		return true
	}
	for _, a := range q.schema.Aliases {
		if strings.EqualFold(obj, a) {
			return true
		}
	}
	return false
}

func (q *Query) known() string {
	names := make([]string, 0, len(q.schema.Fields))
	for k := range q.schema.Fields {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// value checks and converts one value for field f. bare is true for an unquoted
// word in an expression (plain parameter values are taken literally).
func (q *Query) value(attr string, f Field, text string, bare bool) (Value, error) {
	bad := func(what string) error {
		return &Error{Param: attr, Msg: what + ": " + strconv.Quote(text)}
	}
	switch f.Kind {
	case String:
		if bare {
			if i := strings.IndexByte(text, '.'); i > 0 && q.objectMatches(text[:i]) {
				return Value{}, &Error{Param: attr, Msg: "comparing with attribute " + text +
					" is not supported; quote the value to compare with that text"}
			}
		}
		return Value{Text: text, V: text}, nil
	case Int:
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil {
			return Value{}, bad("not an integer")
		}
		return Value{Text: text, V: n}, nil
	case Float:
		t := strings.TrimSpace(text)
		if t == "" || strings.Trim(t, "0123456789+-.eE") != "" {
			return Value{}, bad("not a number")
		}
		x, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return Value{}, bad("not a number")
		}
		return Value{Text: text, V: x}, nil
	case Time:
		t, prec, ok := parseWireTime(strings.TrimSpace(text), q.schema.Location)
		if !ok {
			return Value{}, bad("not a time (want YYYYMMDDhhmmss or YYYYMMDDhhmmssMMM)")
		}
		return Value{Text: text, V: t, Prec: prec}, nil
	}
	return Value{}, &Error{Param: attr, Msg: "attribute has unsupported kind " + f.Kind.String()}
}

// parseWireTime reads YYYYMMDDhhmmss or YYYYMMDDhhmmssMMM in loc.
func parseWireTime(s string, loc *time.Location) (time.Time, time.Duration, bool) {
	if len(s) != 14 && len(s) != 17 {
		return time.Time{}, 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, 0, false
		}
	}
	t, err := time.ParseInLocation("20060102150405", s[:14], loc)
	if err != nil {
		return time.Time{}, 0, false
	}
	if len(s) == 14 {
		return t, time.Second, true
	}
	ms, _ := strconv.Atoi(s[14:])
	return t.Add(time.Duration(ms) * time.Millisecond), time.Millisecond, true
}
