package query

import (
	"database/sql"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

var (
	dbOnce sync.Once
	testDB *sql.DB
	dbErr  error
)

// faceDB is an in-memory SQLite table for faceSchema with a few rows.
func faceDB(t testing.TB) *sql.DB {
	dbOnce.Do(func() {
		testDB, dbErr = sql.Open("sqlite", "file:viidquery?mode=memory&cache=shared")
		if dbErr != nil {
			return
		}
		testDB.SetMaxOpenConns(1)
		at := func(wire string, extra time.Duration) int64 { return ms(wire, extra).(int64) }
		stmts := []struct {
			q    string
			args []any
		}{
			{q: `CREATE TABLE faces (face_id TEXT PRIMARY KEY, device_id TEXT, shot_time INTEGER,
				age_up INTEGER, similarity REAL, name TEXT, gender TEXT)`},
			{q: `INSERT INTO faces VALUES (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?),
				(?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?)`, args: []any{
				"f1", "A", at(t0800, 500*time.Millisecond), 30, 0.9, "张三", "1",
				"f2", "B", at("20261122083000", 0), 40, 0.5, "O'Brien", "2",
				"f3", "A", at(t0900, 999*time.Millisecond), 25, 0.7, "100% real", "1",
				"f4", "C", at("20261122090001", 0), 50, 0.95, "a_b!c", "9",
				"f5", "B", at("20261122100000", 0), nil, nil, "张三丰", nil,
			}},
		}
		for _, s := range stmts {
			if _, dbErr = testDB.Exec(s.q, s.args...); dbErr != nil {
				return
			}
		}
	})
	if dbErr != nil {
		t.Fatalf("sqlite: %v", dbErr)
	}
	return testDB
}

// selectIDs runs q against faceDB: face_ids in the query's order (face_id when
// unsorted), paged by Limit/Offset.
func selectIDs(t testing.TB, q *Query) ([]string, error) {
	where, args, order := q.SQL()
	stmt := "SELECT face_id FROM faces"
	if where != "" {
		stmt += " WHERE " + where
	}
	if order == "" {
		order = "face_id"
	}
	stmt += " ORDER BY " + order + " LIMIT ? OFFSET ?"
	rows, err := faceDB(t).Query(stmt, append(args, q.Limit(), q.Offset())...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func TestSQLite(t *testing.T) {
	cases := []struct {
		raw  string
		want string
	}{
		{"", "f1 f2 f3 f4 f5"},
		{"(Face.ShotTime BETWEEN '" + t0800 + "' AND '" + t0900 + "')", "f1 f2 f3"}, // f3 is 09:00:00.999
		{"(Face.ShotTime = '" + t0800 + "')", "f1"},                                 // f1 is 08:00:00.500
		{"Face.ShotTime=" + t0800, "f1"},
		{"(Face.ShotTime = '20261122080000500')", "f1"},
		{"(Face.ShotTime = '20261122080000499')", ""},
		{"(Face.ShotTime <> '" + t0800 + "')", "f2 f3 f4 f5"},
		{"(Face.ShotTime <= '" + t0900 + "')", "f1 f2 f3"},
		{"(Face.ShotTime !> '" + t0900 + "')", "f1 f2 f3"},
		{"(Face.ShotTime < '" + t0900 + "')", "f1 f2"},
		{"(Face.ShotTime > '" + t0900 + "')", "f4 f5"},
		{"(Face.ShotTime >= '" + t0900 + "')", "f3 f4 f5"},
		{"(Face.ShotTime !< '" + t0900 + "')", "f3 f4 f5"},
		{"(Face.ShotTime NOT BETWEEN '" + t0800 + "' AND '" + t0900 + "')", "f4 f5"},
		{"(Face.ShotTime IN ('" + t0800 + "', '20261122090001'))", "f1 f4"},
		{"(Face.ShotTime NOT IN ('" + t0800 + "', '20261122090001'))", "f2 f3 f5"},
		{"(Face.Name LIKE '张三')", "f1 f5"},
		{"(Face.Name LIKE '张三_')", "f5"},
		{"(Face.Name NOT LIKE '张*')", "f2 f3 f4"},
		{"(Face.Name LIKE '100\\%25*')", "f3"},
		{"(Face.Name LIKE '0\\%25')", "f3"},
		{"(Face.Name LIKE 'a\\_b')", "f4"},
		{"(Face.Name LIKE 'a_b')", ""}, // a wildcard: anchored, no "contains"
		{"(Face.Name LIKE 'a_b*')", "f4"},
		{"(Face.Name LIKE '*b!c')", "f4"},
		{"(Face.Name LIKE 'b!c')", "f4"},
		{"(Face.Name LIKE 'a!')", ""},
		{"(Face.Name = 'O''Brien')", "f2"},
		{"Face.Name=O'Brien", "f2"},
		{"((Face.DeviceID = 'A' OR Face.DeviceID = 'C') AND Face.AgeUpLimit >= 30)", "f1 f4"},
		{"(Face.DeviceID = 'A' AND Face.AgeUpLimit >= 30 OR Face.DeviceID = 'C')", "f1 f4"},
		{"(NOT Face.DeviceID = 'A')", "f2 f4 f5"},
		{"(NOT (Face.DeviceID = 'A' OR Face.DeviceID = 'B'))", "f4"},
		{"(Face.AgeUpLimit IN (25, 50))", "f3 f4"},
		{"(Face.AgeUpLimit NOT IN (25, 50))", "f1 f2"},
		{"(Face.AgeUpLimit BETWEEN 25 AND 30)", "f1 f3"},
		{"(Face.AgeUpLimit NOT BETWEEN 25 AND 30)", "f2 f4"},
		{"(Face.AgeUpLimit != 30)", "f2 f3 f4"},
		{"(Face.Similaritydegree !< 0.9)", "f1 f4"},
		{"DeviceID=B&GenderCode=2", "f2"},
		{"IDList=f5,f1,f9", "f1 f5"},
		{"IDList=f1,f2,f3&(Face.DeviceID = 'A' OR Face.DeviceID = 'C')", "f1 f3"},
		{"(Sort = Face.ShotTime DESC)", "f5 f4 f3 f2 f1"},
		{"(Sort = Face.DeviceID DESC, Face.ShotTime)", "f4 f2 f5 f1 f3"},
		{"(Sort = Face.ShotTime DESC)&PageRecordNum=2&RecordStartNo=2", "f4 f3"},
		{"(Sort = Face.ShotTime)&PageRecordNum=2&RecordStartNo=0", "f1 f2"},
		{"(Sort = Face.ShotTime)&PageRecordNum=2&RecordStartNo=1", "f1 f2"},
		{"(Sort = Face.ShotTime)&MaxNumRecordReturn=3", "f1 f2 f3"},
		{"RecordStartNo=1&PageRecordNum=20&Faces.DeviceID=A&(Face.ShotTime%20BETWEEN%20'" + t0800 + "'%20and%20'" + t0900 + "')&(Sort%20=%20Face.ShotTime%20DESC)", "f3 f1"},
	}
	for _, c := range cases {
		q, err := Parse(c.raw, faceSchema)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.raw, err)
			continue
		}
		got, err := selectIDs(t, q)
		if err != nil {
			where, args, order := q.SQL()
			t.Errorf("%q: %v (where %q args %v order %q)", c.raw, err, where, args, order)
			continue
		}
		want := strings.Fields(c.want)
		if want == nil {
			want = []string{}
		}
		if !reflect.DeepEqual(got, want) {
			where, args, _ := q.SQL()
			t.Errorf("%q selected %v, want %v (where %q args %v)", c.raw, got, want, where, args)
		}
	}
}
