package query

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/gat1400"
)

var faceSchema = Schema{
	Object:  "Face",
	Aliases: []string{"Faces"},
	IDField: "FaceID",
	Fields: map[string]Field{
		"FaceID":           {Column: "face_id", Kind: String},
		"DeviceID":         {Column: "device_id", Kind: String},
		"ShotTime":         {Column: "shot_time", Kind: Time},
		"AgeUpLimit":       {Column: "age_up", Kind: Int},
		"Similaritydegree": {Column: "similarity", Kind: Float},
		"Name":             {Column: "name", Kind: String},
		"GenderCode":       {Column: "gender", Kind: String},
	},
}

var vehicleSchema = Schema{
	Object:  "MotorVehicle",
	Aliases: []string{"MotorVehicles"},
	IDField: "MotorVehicleID",
	Fields: map[string]Field{
		"MotorVehicleID": {Column: "mv_id", Kind: String},
		"DeviceID":       {Column: "device_id", Kind: String},
		"PassTime":       {Column: "pass_time", Kind: Time},
		"PlateNo":        {Column: "plate_no", Kind: String},
		"PlateColor":     {Column: "plate_color", Kind: String},
		"Speed":          {Column: "speed", Kind: Float},
	},
}

// ms is a wire time (14 or 17 digits, UTC+8) as Unix milliseconds, plus extra.
func ms(wire string, extra time.Duration) any {
	t, _, ok := parseWireTime(wire, gat1400.Location)
	if !ok {
		panic("bad test time " + wire)
	}
	return t.Add(extra).UnixMilli()
}

type sqlCase struct {
	name   string
	raw    string
	where  string
	args   []any
	order  string
	schema *Schema // default faceSchema
}

func runSQLCases(t *testing.T, cases []sqlCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := faceSchema
			if c.schema != nil {
				s = *c.schema
			}
			q, err := Parse(c.raw, s)
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.raw, err)
			}
			where, args, order := q.SQL()
			if where != c.where {
				t.Errorf("where\n got %q\nwant %q", where, c.where)
			}
			if len(args) != 0 || len(c.args) != 0 {
				if !reflect.DeepEqual(args, c.args) {
					t.Errorf("args\n got %#v\nwant %#v", args, c.args)
				}
			}
			if order != c.order {
				t.Errorf("orderBy got %q want %q", order, c.order)
			}
			if n := strings.Count(where, "?"); n != len(args) {
				t.Errorf("%d placeholders, %d args", n, len(args))
			}
		})
	}
}

const (
	t0800 = "20261122080000"
	t0900 = "20261122090000"
)

func TestExpressionStyle(t *testing.T) {
	mv := &vehicleSchema
	runSQLCases(t, []sqlCase{
		{name: "huazun example", schema: mv,
			raw:   "RecordStartNo=1&PageRecordNum=20&(MotorVehicle.PassTime%20BETWEEN%20'" + t0800 + "'%20and%20'" + t0900 + "')&(Sort%20=%20MotorVehicle.PassTime)",
			where: "(pass_time >= ? AND pass_time < ?)", args: []any{ms(t0800, 0), ms(t0900, time.Second)}, order: "pass_time ASC"},
		{name: "int =", raw: "(Face.AgeUpLimit = 30)", where: "age_up = ?", args: []any{int64(30)}},
		{name: "int !=", raw: "(Face.AgeUpLimit != 30)", where: "age_up <> ?", args: []any{int64(30)}},
		{name: "int <>", raw: "(Face.AgeUpLimit <> 30)", where: "age_up <> ?", args: []any{int64(30)}},
		{name: "int >", raw: "(Face.AgeUpLimit > -3)", where: "age_up > ?", args: []any{int64(-3)}},
		{name: "int <", raw: "(Face.AgeUpLimit<30)", where: "age_up < ?", args: []any{int64(30)}},
		{name: "int >=", raw: "(Face.AgeUpLimit >= '30')", where: "age_up >= ?", args: []any{int64(30)}},
		{name: "int <=", raw: "(Face.AgeUpLimit <= 30)", where: "age_up <= ?", args: []any{int64(30)}},
		{name: "int !>", raw: "(Face.AgeUpLimit !> 30)", where: "age_up <= ?", args: []any{int64(30)}},
		{name: "int !<", raw: "(Face.AgeUpLimit !< 30)", where: "age_up >= ?", args: []any{int64(30)}},
		{name: "int between", raw: "(Face.AgeUpLimit BETWEEN 20 AND 30)", where: "age_up BETWEEN ? AND ?", args: []any{int64(20), int64(30)}},
		{name: "int not between", raw: "(Face.AgeUpLimit not between 20 and 30)", where: "age_up NOT BETWEEN ? AND ?", args: []any{int64(20), int64(30)}},
		{name: "int in", raw: "(Face.AgeUpLimit IN (20, '30',40))", where: "age_up IN (?, ?, ?)", args: []any{int64(20), int64(30), int64(40)}},
		{name: "int not in", raw: "(Face.AgeUpLimit NOT IN (20))", where: "age_up NOT IN (?)", args: []any{int64(20)}},
		{name: "float", raw: "(Face.Similaritydegree >= 0.8)", where: "similarity >= ?", args: []any{0.8}},
		{name: "float exp", raw: "(Face.Similaritydegree < '1e0')", where: "similarity < ?", args: []any{1.0}},

		{name: "time =", raw: "(Face.ShotTime = '" + t0800 + "')", where: "(shot_time >= ? AND shot_time < ?)", args: []any{ms(t0800, 0), ms(t0800, time.Second)}},
		{name: "time <>", raw: "(Face.ShotTime <> " + t0800 + ")", where: "(shot_time < ? OR shot_time >= ?)", args: []any{ms(t0800, 0), ms(t0800, time.Second)}},
		{name: "time <", raw: "(Face.ShotTime < '" + t0800 + "')", where: "shot_time < ?", args: []any{ms(t0800, 0)}},
		{name: "time <=", raw: "(Face.ShotTime <= '" + t0800 + "')", where: "shot_time < ?", args: []any{ms(t0800, time.Second)}},
		{name: "time !>", raw: "(Face.ShotTime !> '" + t0800 + "')", where: "shot_time < ?", args: []any{ms(t0800, time.Second)}},
		{name: "time >", raw: "(Face.ShotTime > '" + t0800 + "')", where: "shot_time >= ?", args: []any{ms(t0800, time.Second)}},
		{name: "time >=", raw: "(Face.ShotTime >= '" + t0800 + "')", where: "shot_time >= ?", args: []any{ms(t0800, 0)}},
		{name: "time !<", raw: "(Face.ShotTime !< '" + t0800 + "')", where: "shot_time >= ?", args: []any{ms(t0800, 0)}},
		{name: "time ms", raw: "(Face.ShotTime = '20261122080000500')", where: "(shot_time >= ? AND shot_time < ?)",
			args: []any{ms(t0800, 500*time.Millisecond), ms(t0800, 501*time.Millisecond)}},
		{name: "time ms between", raw: "(Face.ShotTime BETWEEN '20261122080000000' AND '" + t0900 + "')", where: "(shot_time >= ? AND shot_time < ?)",
			args: []any{ms(t0800, 0), ms(t0900, time.Second)}},
		{name: "time not between", raw: "(Face.ShotTime NOT BETWEEN '" + t0800 + "' AND '" + t0900 + "')", where: "(shot_time < ? OR shot_time >= ?)",
			args: []any{ms(t0800, 0), ms(t0900, time.Second)}},
		{name: "time in", raw: "(Face.ShotTime IN ('" + t0800 + "','" + t0900 + "'))", where: "((shot_time >= ? AND shot_time < ?) OR (shot_time >= ? AND shot_time < ?))",
			args: []any{ms(t0800, 0), ms(t0800, time.Second), ms(t0900, 0), ms(t0900, time.Second)}},
		{name: "time not in", raw: "(Face.ShotTime NOT IN ('" + t0800 + "'))", where: "NOT (shot_time >= ? AND shot_time < ?)",
			args: []any{ms(t0800, 0), ms(t0800, time.Second)}},

		{name: "like contains", raw: "(MotorVehicle.PlateNo LIKE '粤A')", schema: mv, where: "plate_no LIKE ? ESCAPE '!'", args: []any{"%粤A%"}},
		{name: "like star", raw: "(MotorVehicle.PlateNo like '粤A*')", schema: mv, where: "plate_no LIKE ? ESCAPE '!'", args: []any{"粤A%"}},
		{name: "like percent", raw: "(MotorVehicle.PlateNo LIKE '%25A1_3')", schema: mv, where: "plate_no LIKE ? ESCAPE '!'", args: []any{"%A1_3"}},
		{name: "like unencoded percent", raw: "(MotorVehicle.PlateNo LIKE '粤A%')", schema: mv, where: "plate_no LIKE ? ESCAPE '!'", args: []any{"粤A%"}},
		{name: "like escapes", raw: `(Face.Name LIKE '50\%25 a\_b\*c!d\\')`, where: "name LIKE ? ESCAPE '!'", args: []any{`%50!% a!_b*c!!d\%`}},
		{name: "like runs collapse", raw: "(Face.Name LIKE '**a%25*%25b\\**')", where: "name LIKE ? ESCAPE '!'", args: []any{"%a%b*%"}},
		{name: "like 8 runs", raw: "(Face.Name LIKE '" + strings.Repeat("*a", MaxLikeWildcards) + "')", where: "name LIKE ? ESCAPE '!'",
			args: []any{strings.Repeat("%a", MaxLikeWildcards)}},
		{name: "not like", raw: "(Face.Name NOT LIKE '张*')", where: "name NOT LIKE ? ESCAPE '!'", args: []any{"张%"}},

		{name: "quote escaping", raw: "(Face.Name = 'O''Brien')", where: "name = ?", args: []any{"O'Brien"}},
		{name: "empty string", raw: "(Face.Name = '')", where: "name = ?", args: []any{""}},
		{name: "bare number as text", raw: "(Face.DeviceID = 44150200001310000001)", where: "device_id = ?", args: []any{"44150200001310000001"}},
		{name: "bare word as text", raw: "(MotorVehicle.PlateNo = 粤A12345)", schema: mv, where: "plate_no = ?", args: []any{"粤A12345"}},
		{name: "alias prefix", raw: "(Faces.DeviceID = 'x')", where: "device_id = ?", args: []any{"x"}},
		{name: "no prefix", raw: "(DeviceID = 'x')", where: "device_id = ?", args: []any{"x"}},
		{name: "case-insensitive attribute", raw: "(face.deviceid = 'x' and FACE.SimilarityDegree > 0.5)", where: "device_id = ? AND similarity > ?", args: []any{"x", 0.5}},
		{name: "unparenthesised", raw: "Face.AgeUpLimit+>+30", where: "age_up > ?", args: []any{int64(30)}},
		{name: "unparenthesised and", raw: "Face.AgeUpLimit>30+AND+Face.AgeUpLimit<40", where: "age_up > ? AND age_up < ?", args: []any{int64(30), int64(40)}},
		{name: "ideographic space", raw: "(Face.Name\u3000=\u3000'x')", where: "name = ?", args: []any{"x"}},
	})
}

func TestNesting(t *testing.T) {
	runSQLCases(t, []sqlCase{
		{name: "brief example",
			raw:   "((Face.DeviceID = '44150200001310000001' OR Face.DeviceID = '44150200001310000002') AND Face.ShotTime >= '20261122000000')",
			where: "(device_id = ? OR device_id = ?) AND shot_time >= ?",
			args:  []any{"44150200001310000001", "44150200001310000002", ms("20261122000000", 0)}},
		{name: "top-level or is parenthesised", raw: "(Face.DeviceID = 'a' OR Face.DeviceID = 'b' or Face.DeviceID = 'c')",
			where: "(device_id = ? OR device_id = ? OR device_id = ?)", args: []any{"a", "b", "c"}},
		{name: "and binds tighter than or", raw: "(Face.DeviceID = 'a' AND Face.AgeUpLimit = 1 OR Face.DeviceID = 'b')",
			where: "((device_id = ? AND age_up = ?) OR device_id = ?)", args: []any{"a", int64(1), "b"}},
		{name: "or flattened, and flattened", raw: "(((Face.DeviceID='a') OR (Face.DeviceID='b' OR Face.DeviceID='c')) AND (Face.AgeUpLimit=1 AND (Face.AgeUpLimit=2)))",
			where: "(device_id = ? OR device_id = ? OR device_id = ?) AND age_up = ? AND age_up = ?", args: []any{"a", "b", "c", int64(1), int64(2)}},
		{name: "or of ands inside and", raw: "((Face.DeviceID='a' AND Face.AgeUpLimit=1) OR (Face.DeviceID='b' AND Face.AgeUpLimit=2))&(Face.Name='n')",
			where: "((device_id = ? AND age_up = ?) OR (device_id = ? AND age_up = ?)) AND name = ?", args: []any{"a", int64(1), "b", int64(2), "n"}},
		{name: "between inside and", raw: "(Face.AgeUpLimit BETWEEN 1 AND 2 AND Face.DeviceID = 'a')",
			where: "age_up BETWEEN ? AND ? AND device_id = ?", args: []any{int64(1), int64(2), "a"}},
		{name: "time range inside or", raw: "(Face.ShotTime = '" + t0800 + "' OR Face.DeviceID = 'a')",
			where: "((shot_time >= ? AND shot_time < ?) OR device_id = ?)", args: []any{ms(t0800, 0), ms(t0800, time.Second), "a"}},
		{name: "not", raw: "(NOT Face.DeviceID = 'a')", where: "NOT (device_id = ?)", args: []any{"a"}},
		{name: "not group", raw: "(NOT (Face.DeviceID = 'a' OR Face.DeviceID = 'b'))", where: "NOT (device_id = ? OR device_id = ?)", args: []any{"a", "b"}},
		{name: "not time", raw: "(not Face.ShotTime = '" + t0800 + "')", where: "NOT (shot_time >= ? AND shot_time < ?)", args: []any{ms(t0800, 0), ms(t0800, time.Second)}},
		{name: "not not", raw: "(NOT NOT Face.DeviceID = 'a' AND Face.AgeUpLimit = 3)", where: "NOT (NOT (device_id = ?)) AND age_up = ?", args: []any{"a", int64(3)}},
		{name: "deep but allowed", raw: strings.Repeat("(", MaxDepth) + "Face.DeviceID='a'" + strings.Repeat(")", MaxDepth), where: "device_id = ?", args: []any{"a"}},
	})
}

func TestPlainStyle(t *testing.T) {
	runSQLCases(t, []sqlCase{
		{name: "alias prefix", raw: "Faces.DeviceID=44150200001310000001", where: "device_id = ?", args: []any{"44150200001310000001"}},
		{name: "object prefix", raw: "Face.DeviceID=1", where: "device_id = ?", args: []any{"1"}},
		{name: "bare", raw: "DeviceID=1&AgeUpLimit=30", where: "device_id = ? AND age_up = ?", args: []any{"1", int64(30)}},
		{name: "time equality", raw: "Face.ShotTime=" + t0800, where: "(shot_time >= ? AND shot_time < ?)", args: []any{ms(t0800, 0), ms(t0800, time.Second)}},
		{name: "literal value", raw: "Face.Name=O'Brien+(x)&PageRecordNum=3", where: "name = ?", args: []any{"O'Brien (x)"}},
		{name: "quoted value reads as expression", raw: "Face.Name='O''Brien'", where: "name = ?", args: []any{"O'Brien"}},
		{name: "empty value ignored", raw: "DeviceID=&Face.Name=&RecordStartNo=", where: ""},
		{name: "paging only", raw: "RecordStartNo=0&PageRecordNum=10", where: ""},
		{name: "empty terms", raw: "&&DeviceID=1&", where: "device_id = ?", args: []any{"1"}},
		{name: "leading question mark", raw: "?DeviceID=1", where: "device_id = ?", args: []any{"1"}},
		{name: "plain value may look like an attribute", raw: "Face.Name=Face.DeviceID", where: "name = ?", args: []any{"Face.DeviceID"}},
		{name: "plain like-looking value is literal", raw: "Face.Name=a*", where: "name = ?", args: []any{"a*"}},
		{name: "empty query", raw: "", where: ""},
	})
}

func TestIDList(t *testing.T) {
	runSQLCases(t, []sqlCase{
		{name: "plain", raw: "IDList=a,b,%20c%20", where: "face_id IN (?, ?, ?)", args: []any{"a", "b", "c"}},
		{name: "duplicates and empties", raw: "IDList=a,,b,a", where: "face_id IN (?, ?)", args: []any{"a", "b"}},
		{name: "quoted elements", raw: "IDList=a,'b'", where: "face_id IN (?, ?)", args: []any{"a", "b"}},
		{name: "term", raw: "(IDList = 'a', 'b')", where: "face_id IN (?, ?)", args: []any{"a", "b"}},
		{name: "empty quoted IDs skipped", raw: "(IDList = '', 'a')", where: "face_id IN (?)", args: []any{"a"}},
		{name: "only empty IDs", raw: "IDList=,&(IDList='')", where: ""},
		{name: "accumulates", raw: "IDList=a&(IDList=b)", where: "face_id IN (?, ?)", args: []any{"a", "b"}},
		{name: "with filter", raw: "IDList=a,b&(Face.DeviceID = 'd' OR Face.DeviceID = 'e')",
			where: "(device_id = ? OR device_id = ?) AND face_id IN (?, ?)", args: []any{"d", "e", "a", "b"}},
	})
}

func TestMixedAndEncodings(t *testing.T) {
	runSQLCases(t, []sqlCase{
		{name: "all three styles",
			raw:   "RecordStartNo=1&PageRecordNum=10&Faces.DeviceID=44150200001310000001&(Face.ShotTime%20BETWEEN%20'" + t0800 + "'%20AND%20'" + t0900 + "')&IDList=f1,f2&(Sort=Face.ShotTime%20DESC)",
			where: "device_id = ? AND (shot_time >= ? AND shot_time < ?) AND face_id IN (?, ?)",
			args:  []any{"44150200001310000001", ms(t0800, 0), ms(t0900, time.Second), "f1", "f2"}, order: "shot_time DESC"},
		{name: "plus for space", raw: "(Face.Name+=+'a+b')", where: "name = ?", args: []any{"a b"}},
		{name: "%27 quotes", raw: "(Face.Name%20=%20%27it%27%27s%27)", where: "name = ?", args: []any{"it's"}},
		{name: "everything encoded (java URLEncoder)", raw: "%28Face.Name+%3D+%27a%26b%27%29&PageRecordNum=5", where: "name = ?", args: []any{"a&b"}},
		{name: "unencoded & inside quotes", raw: "(Face.Name = 'A&B')&(Face.DeviceID = 'x')", where: "name = ? AND device_id = ?", args: []any{"A&B", "x"}},
		{name: "unencoded utf-8", raw: "(Face.Name = '张三')", where: "name = ?", args: []any{"张三"}},
		{name: "encoded utf-8", raw: "(Face.Name%3D%27%E5%BC%A0%E4%B8%89%27)", where: "name = ?", args: []any{"张三"}},
		{name: "encoded parens and operators", raw: "%28Face.AgeUpLimit%3E%3D1%29", where: "age_up >= ?", args: []any{int64(1)}},
		{name: "lower-case hex", raw: "(Face.Name%3d%27x%27)", where: "name = ?", args: []any{"x"}},
		{name: "%2B is a literal plus", raw: "(Face.Name='a%2Bb')", where: "name = ?", args: []any{"a+b"}},
	})
}

func TestReservedTerms(t *testing.T) {
	cases := []struct {
		raw              string
		start, page, max int
		offset, limit    int
		order            string
	}{
		{raw: "", offset: 0, limit: DefaultPageRecordNum},
		{raw: "RecordStartNo=0&PageRecordNum=10", offset: 0, limit: 10, page: 10},
		{raw: "RecordStartNo=1", start: 1, offset: 0, limit: 20},
		{raw: "(RecordStartNo=21)&(PageRecordNum=20)", start: 21, page: 20, offset: 20, limit: 20},
		{raw: "((RecordStartNo%20=%20'41'))", start: 41, offset: 40, limit: 20},
		{raw: "PageRecordNum=0", offset: 0, limit: DefaultPageRecordNum},
		{raw: "PageRecordNum=5000", page: 5000, limit: MaxPageRecordNum},
		{raw: "(MaxNumRecordReturn=100)", max: 100, limit: 100},
		{raw: "MaxNumRecordReturn=10&PageRecordNum=20", max: 10, page: 20, limit: 10},
		{raw: "MaxNumRecordReturn=50&PageRecordNum=20", max: 50, page: 20, limit: 20},
		{raw: "pagerecordnum=7&PageRecordNum=7", page: 7, limit: 7},
		{raw: "(Sort = Face.ShotTime)", limit: 20, order: "shot_time ASC"},
		{raw: "(Sort = Face.ShotTime DESC)", limit: 20, order: "shot_time DESC"},
		{raw: "(sort=Face.ShotTime desc, Face.DeviceID asc)", limit: 20, order: "shot_time DESC, device_id ASC"},
		{raw: "Sort=Face.ShotTime+DESC,DeviceID", limit: 20, order: "shot_time DESC, device_id ASC"},
		{raw: "(Sort=ShotTime)&(Sort = Faces.AgeUpLimit DESC)&(Sort=ShotTime DESC)", limit: 20, order: "shot_time ASC, age_up DESC"},
		{raw: "(Sort = 'Face.Name')", limit: 20, order: "name ASC"},
	}
	for _, c := range cases {
		q, err := Parse(c.raw, faceSchema)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.raw, err)
			continue
		}
		_, _, order := q.SQL()
		if q.RecordStartNo != c.start || q.PageRecordNum != c.page || q.MaxNumRecordReturn != c.max ||
			q.Offset() != c.offset || q.Limit() != c.limit || order != c.order {
			t.Errorf("Parse(%q): start %d page %d max %d offset %d limit %d order %q; want %d %d %d %d %d %q", c.raw,
				q.RecordStartNo, q.PageRecordNum, q.MaxNumRecordReturn, q.Offset(), q.Limit(), order,
				c.start, c.page, c.max, c.offset, c.limit, c.order)
		}
		if q.Where != nil {
			t.Errorf("Parse(%q): reserved terms produced a filter", c.raw)
		}
	}
}

func TestTree(t *testing.T) {
	q, err := Parse("(Face.DeviceID = 'a' OR NOT Face.AgeUpLimit !> 3)&IDList=x", faceSchema)
	if err != nil {
		t.Fatal(err)
	}
	or, ok := q.Where.(*Or)
	if !ok || len(or.Terms) != 2 {
		t.Fatalf("Where = %#v", q.Where)
	}
	p := or.Terms[0].(*Pred)
	if p.Attr != "DeviceID" || p.Op != Eq || p.Values[0].V != "a" {
		t.Errorf("first = %+v", p)
	}
	n := or.Terms[1].(*Not).X.(*Pred)
	if n.Attr != "AgeUpLimit" || n.Op != Le || n.Values[0].V != int64(3) || n.Op.String() != "<=" {
		t.Errorf("second = %+v", n)
	}
	if !reflect.DeepEqual(q.IDs, []string{"x"}) {
		t.Errorf("IDs = %v", q.IDs)
	}
}

func TestTimeArgAndLocation(t *testing.T) {
	s := faceSchema
	s.TimeArg = func(t time.Time) any { return t.UTC().Format("2006-01-02 15:04:05.000") }
	q, err := Parse("(Face.ShotTime BETWEEN '"+t0800+"' AND '"+t0900+"')", s)
	if err != nil {
		t.Fatal(err)
	}
	_, args, _ := q.SQL()
	if want := []any{"2026-11-22 00:00:00.000", "2026-11-22 01:00:01.000"}; !reflect.DeepEqual(args, want) {
		t.Errorf("args = %v, want %v", args, want)
	}
	s.Location = time.UTC
	q, _ = Parse("Face.ShotTime>="+t0800, s)
	if _, args, _ = q.SQL(); args[0] != "2026-11-22 08:00:00.000" {
		t.Errorf("UTC location: args = %v", args)
	}
}

func TestErrors(t *testing.T) {
	deep := strings.Repeat("(", MaxDepth+1) + "Face.DeviceID='a'" + strings.Repeat(")", MaxDepth+1)
	deepNot := "(" + strings.Repeat("NOT ", MaxDepth+1) + "Face.DeviceID='a')"
	noID := faceSchema
	noID.IDField = ""
	cases := []struct {
		raw    string
		param  string
		msg    string
		schema *Schema
	}{
		{raw: "(MotorVehicle.Colour = 1)", param: "MotorVehicle.Colour", schema: &vehicleSchema,
			msg: "unknown attribute; known: DeviceID, MotorVehicleID, PassTime, PlateColor, PlateNo, Speed"},
		{raw: "(Person.DeviceID = '1')", param: "Person.DeviceID", msg: `object "Person" does not belong to this endpoint; expected Face`},
		{raw: "Person.DeviceID=1", param: "Person.DeviceID", msg: "does not belong"},
		{raw: "(Face.Sub.DeviceID = '1')", param: "Face.Sub.DeviceID", msg: "unknown attribute"},
		{raw: "(Face. = '1')", param: "Face.", msg: "unknown attribute"},
		{raw: "Colour=1", param: "Colour", msg: "unknown attribute"},
		{raw: "(Face.ShotTime > '2026-11-22')", param: "Face.ShotTime", msg: "not a time"},
		{raw: "(Face.ShotTime > '20261322080000')", param: "Face.ShotTime", msg: "not a time"},
		{raw: "(Face.ShotTime > 2026112208000)", param: "Face.ShotTime", msg: "not a time"},
		{raw: "Face.ShotTime=yesterday", param: "Face.ShotTime", msg: "not a time"},
		{raw: "(Face.AgeUpLimit = abc)", param: "Face.AgeUpLimit", msg: `not an integer: "abc"`},
		{raw: "(Face.AgeUpLimit = 1.5)", param: "Face.AgeUpLimit", msg: "not an integer"},
		{raw: "(Face.AgeUpLimit = 99999999999999999999)", param: "Face.AgeUpLimit", msg: "not an integer"},
		{raw: "(Face.Similaritydegree > NaN)", param: "Face.Similaritydegree", msg: "not a number"},
		{raw: "(Face.Similaritydegree > 1e999)", param: "Face.Similaritydegree", msg: "not a number"},
		{raw: "(Face.Similaritydegree > 0x10)", param: "Face.Similaritydegree", msg: "not a number"},
		{raw: "(Face.DeviceID = '1'", param: "(Face.DeviceID = '1'", msg: "unbalanced parentheses: missing ')'"},
		{raw: "(Face.DeviceID = '1'))", param: "(Face.DeviceID = '1'))", msg: "unbalanced parentheses: unexpected ')'"},
		{raw: "Face.DeviceID = '1')", param: "Face.DeviceID = '1')", msg: "unbalanced parentheses"},
		{raw: "((PageRecordNum=3)", param: "((PageRecordNum=3)", msg: "unbalanced parentheses"},
		{raw: "(Face.DeviceID == '1')", param: "Face.DeviceID", msg: `unknown operator "=="`},
		{raw: "(Face.DeviceID => '1')", param: "Face.DeviceID", msg: `unknown operator "=>"`},
		{raw: "(Face.DeviceID CONTAINS '1')", param: "Face.DeviceID", msg: `unknown operator "CONTAINS"`},
		{raw: "(Face.DeviceID NOT = '1')", param: "Face.DeviceID", msg: `unknown operator "="`},
		{raw: "(Face.DeviceID)", param: "Face.DeviceID", msg: "expected an operator"},
		{raw: "(Face.DeviceID NOT)", param: "Face.DeviceID", msg: "unknown operator"},
		{raw: "(Face.AgeUpLimit BETWEEN 1 OR 2)", param: "Face.AgeUpLimit", msg: "BETWEEN without AND"},
		{raw: "(Face.AgeUpLimit BETWEEN 1)", param: "Face.AgeUpLimit", msg: "BETWEEN without AND"},
		{raw: "(Face.AgeUpLimit BETWEEN 1 AND)", param: "Face.AgeUpLimit", msg: "expected a value"},
		{raw: "(Face.DeviceID IN ())", param: "Face.DeviceID", msg: "expected a value"},
		{raw: "(Face.DeviceID IN 'a')", param: "Face.DeviceID", msg: "IN needs a parenthesised list"},
		{raw: "(Face.DeviceID IN ('a' 'b'))", param: "Face.DeviceID", msg: "expected ',' or ')' in IN list, got string \"b\""},
		{raw: "(Face.DeviceID = )", param: "Face.DeviceID", msg: "expected a value, got ')'"},
		{raw: "(Face.DeviceID =", param: "Face.DeviceID", msg: "missing value"},
		{raw: "(Face.DeviceID = AND)", param: "Face.DeviceID", msg: "expected a value"},
		{raw: "(Face.DeviceID = Face.FaceID)", param: "Face.DeviceID", msg: "not supported; quote the value"},
		{raw: "(Face.ShotTime LIKE '2026*')", param: "Face.ShotTime", msg: "LIKE applies to text attributes only"},
		{raw: "(Face.Name LIKE '" + strings.Repeat("*a", MaxLikeWildcards+1) + "')", param: "Face.Name", msg: "more than 8 '*' or '%' wildcards"},
		{raw: "(Face.Name='a%00b')", param: "(Face.Name='a\x00b')", msg: `control character '\x00' not allowed`},
		{raw: "(Face.Name='%C2%85')", param: "(Face.Name='\u0085')", msg: `control character '\u0085' not allowed`},
		{raw: "IDList=a,%1C", param: "IDList=a,\x1c", msg: "control character"},
		{raw: "(Face.Name = 'abc)", param: "(Face.Name = 'abc)", msg: "unterminated string"},
		{raw: `(Face.Name = "abc")`, param: `(Face.Name = "abc")`, msg: "unexpected character '\"'; quote strings with '"},
		{raw: "(Face.Name = 'a';)", param: "(Face.Name = 'a';)", msg: "unexpected character ';'"},
		{raw: "(Face.DeviceID = '1' Face.Name = '2')", param: "(Face.DeviceID = '1' Face.Name = '2')", msg: `unexpected "Face.Name"; expected ')', AND or OR`},
		{raw: "()", param: "()", msg: "empty parentheses"},
		{raw: "(AND)", param: "(AND)", msg: `expected an attribute or '(', got "AND"`},
		{raw: "(Face.DeviceID = 'a' OR)", param: "(Face.DeviceID = 'a' OR)", msg: "expected an attribute or '(', got ')'"},
		{raw: deep, param: termParam(deep), msg: "nested deeper than 32 levels"},
		{raw: deepNot, param: termParam(deepNot), msg: "nested deeper than 32 levels"},
		{raw: "(Face.Name='" + strings.Repeat("x", MaxQueryLen) + "')", param: "", msg: "query string longer than 8192 bytes"},
		{raw: "(Face.Name='%ff')", param: "(Face.Name='\uFFFD')", msg: "not valid UTF-8"},
		{raw: "(Face.DeviceID = '1' AND PageRecordNum = 3)", param: "PageRecordNum", msg: "reserved parameter; write it as a term of its own"},
		{raw: "PageRecordNum=-1", param: "PageRecordNum", msg: "not a non-negative integer"},
		{raw: "PageRecordNum=abc", param: "PageRecordNum", msg: "not a non-negative integer"},
		{raw: "(RecordStartNo = 1.5)", param: "RecordStartNo", msg: "not a non-negative integer"},
		{raw: "(MaxNumRecordReturn = )", param: "MaxNumRecordReturn", msg: "expected a non-negative integer, got ')'"},
		{raw: "RecordStartNo=99999999999", param: "RecordStartNo", msg: "not a non-negative integer"},
		{raw: "(PageRecordNum = 10)&PageRecordNum=20", param: "PageRecordNum", msg: "given twice with different values"},
		{raw: "(PageRecordNum = 10 20)", param: "(PageRecordNum = 10 20)", msg: `unexpected "20"; expected ')'`},
		{raw: "(Sort = Face.Colour)", param: "Face.Colour", msg: "unknown attribute"},
		{raw: "Sort=Face.ShotTime+UP", param: "Sort", msg: `unexpected "UP"`},
		{raw: "(Sort = )", param: "Sort", msg: "expected an attribute"},
		{raw: "Sort=Face.Name;", param: "Sort", msg: "unexpected character"},
		{raw: "IDList=a", param: "IDList", msg: "not supported on this endpoint", schema: &noID},
		{raw: "IDList=" + manyIDs(MaxListLen+1), param: "IDList", msg: "more than 1000 IDs"},
		{raw: "(IDList = )", param: "IDList", msg: "expected an ID"},
		{raw: "(Face.AgeUpLimit IN (" + manyIDs(MaxListLen+1) + "))", param: "Face.AgeUpLimit", msg: "IN list longer than 1000"},
	}
	for _, c := range cases {
		s := faceSchema
		if c.schema != nil {
			s = *c.schema
		}
		q, err := Parse(c.raw, s)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%.60q) = %v, %v; want *Error", c.raw, q, err)
			continue
		}
		if e.Param != c.param || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("Parse(%.60q): Param %q Msg %q; want Param %q, Msg containing %q", c.raw, e.Param, e.Msg, c.param, c.msg)
		}
		if q != nil {
			t.Errorf("Parse(%.60q) returned a query with its error", c.raw)
		}
	}
}

// manyIDs is "1,2,…,n".
func manyIDs(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(i))
	}
	return b.String()
}

func TestErrorString(t *testing.T) {
	_, err := Parse("(MotorVehicle.Colour=1)", vehicleSchema)
	if got, want := err.Error(), "MotorVehicle.Colour: unknown attribute; known: DeviceID, MotorVehicleID, PassTime, PlateColor, PlateNo, Speed"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := (&Error{Msg: "m"}).Error(); got != "m" {
		t.Errorf("Error() = %q", got)
	}
}

func TestLongTermParamIsShortened(t *testing.T) {
	raw := "(Face.Name = 'abc' " + strings.Repeat("x", 200) + ")"
	_, err := Parse(raw, faceSchema)
	var e *Error
	if !errors.As(err, &e) || len(e.Param) > 90 || !strings.HasSuffix(e.Param, "…") {
		t.Fatalf("err = %v", err)
	}
}
