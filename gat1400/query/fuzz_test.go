package query

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// checkSQLShape verifies that where and orderBy hold nothing but the schema's columns,
// placeholders, operators, parentheses, commas and this package's keywords: every
// value from the input must travel in args.
func checkSQLShape(s Schema, where, orderBy string, args []any) error {
	var cols []string
	for _, f := range s.Fields {
		cols = append(cols, f.Column)
	}
	sort.Slice(cols, func(i, j int) bool { return len(cols[i]) > len(cols[j]) })
	rest := where
	for _, c := range cols {
		rest = strings.ReplaceAll(rest, c, " ")
	}
	rest = strings.ReplaceAll(rest, "ESCAPE '!'", " ")
	for _, w := range strings.Fields(rest) {
		switch strings.Trim(w, "(),") {
		case "", "?", "AND", "OR", "NOT", "IN", "LIKE", "BETWEEN", "=", "<>", "<", ">", "<=", ">=":
			continue
		}
		return fmt.Errorf("where %q: unexpected %q", where, w)
	}
	if n := strings.Count(where, "?"); n != len(args) {
		return fmt.Errorf("where %q: %d placeholders, %d args", where, n, len(args))
	}
	if strings.Count(where, "(") != strings.Count(where, ")") {
		return fmt.Errorf("where %q: unbalanced parentheses", where)
	}
	for _, a := range args {
		switch a.(type) {
		case string, int64, float64:
		default:
			return fmt.Errorf("arg %#v of type %T", a, a)
		}
	}
	if orderBy == "" {
		return nil
	}
	for _, k := range strings.Split(orderBy, ", ") {
		col, dir, ok := strings.Cut(k, " ")
		known := false
		for _, c := range cols {
			known = known || c == col
		}
		if !ok || !known || dir != "ASC" && dir != "DESC" {
			return fmt.Errorf("orderBy %q: bad key %q", orderBy, k)
		}
	}
	return nil
}

var fuzzSeeds = []string{
	"",
	"RecordStartNo=1&PageRecordNum=20&(Face.ShotTime%20BETWEEN%20'20261122080000'%20and%20'20261122090000')&(Sort%20=%20Face.ShotTime)",
	"((Face.DeviceID = '44150200001310000001' OR Face.DeviceID = '44150200001310000002') AND Face.ShotTime >= '20261122000000')",
	"RecordStartNo=0&PageRecordNum=10&Faces.DeviceID=44150200001310000001",
	"IDList=f1,f2,'f3'&(IDList = 'a', b)",
	"(Face.AgeUpLimit !> 30)&(Face.AgeUpLimit !< 3)&(Face.AgeUpLimit <> 4)&(Face.AgeUpLimit != 5)",
	"(Face.Name LIKE '50\\%25 a\\_b\\*c!d\\\\')&(Face.Name NOT LIKE '*x_')",
	"(NOT (Face.DeviceID IN ('a','b') OR Face.ShotTime NOT IN ('20261122080000', '20261122080000123')))",
	"(Face.Similaritydegree BETWEEN 0.5 AND 1e0)&(Face.AgeUpLimit NOT BETWEEN -1 AND 2)",
	"%28Face.Name+%3D+%27a%26b%27%29&PageRecordNum=5",
	"(Face.Name = 'A&B')&(Sort = Face.ShotTime DESC, Face.DeviceID ASC)&MaxNumRecordReturn=7",
	"Face.Name=O'Brien+(x)&Sort=Face.ShotTime+desc",
	"Face.AgeUpLimit>30+AND+Face.AgeUpLimit<40",
	"(Face.DeviceID = Face.FaceID)",
	"(Face.DeviceID = '1'",
	"(Face.ShotTime LIKE '2026*')",
	"((((NOT NOT Face.GenderCode = 1))))",
	"(Face.Name%3d%27%E5%BC%A0%E4%B8%89%27)&(Face.Name='%ff')",
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := Parse(raw, faceSchema)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Msg == "" {
				t.Fatalf("Parse(%q): error %#v is not a *Error with a message", raw, err)
			}
			if q != nil {
				t.Fatalf("Parse(%q): query returned with error", raw)
			}
			return
		}
		where, args, order := q.SQL()
		if err := checkSQLShape(faceSchema, where, order, args); err != nil {
			t.Fatalf("Parse(%q): %v", raw, err)
		}
		if l, o := q.Limit(), q.Offset(); l < 1 || l > MaxPageRecordNum || o < 0 {
			t.Fatalf("Parse(%q): limit %d offset %d", raw, l, o)
		}
		// The clause must be valid SQL (a syntax error would be a 500, not a 400).
		if _, err := selectIDs(t, q); err != nil {
			t.Fatalf("Parse(%q): SQLite rejects where %q order %q: %v", raw, where, order, err)
		}
	})
}

func TestSQLShapeOfExamples(t *testing.T) {
	for _, raw := range fuzzSeeds {
		q, err := Parse(raw, faceSchema)
		if err != nil {
			continue
		}
		where, args, order := q.SQL()
		if err := checkSQLShape(faceSchema, where, order, args); err != nil {
			t.Errorf("%q: %v", raw, err)
		}
	}
	// The checker itself must catch a leak.
	if checkSQLShape(faceSchema, "name = 'x'", "", nil) == nil || checkSQLShape(faceSchema, "name = ?", "name; DROP", []any{"x"}) == nil {
		t.Error("checkSQLShape accepts a value in the SQL")
	}
}
