package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/gat1400"
)

// Analyst search (SearchRecords) runs on columns extracted from the GA/T 1400 body
// when a record is written, never on the JSON itself: plate_no, plate_color,
// vehicle_color, vehicle_class, the person and face attributes coat_color,
// trousers_color, gender and age_band, plus the camera's longitude and latitude, which
// the writer sets on Record. Every plate also goes into the plates dictionary, where a
// substring search starts. The tables and indexes that serve it are in the migrations
// (migrations/*/00001_baseline.sql, 00009_person_face_search.sql), each with the query
// it is for, and dialect.go's plateTrigram; docs/bench/search.md has the measurements.

// DefaultSearchWindow is the shot-time window of a search that gives no start: the
// last 24 hours before its end (now when no end is given either). A search always has
// a bounded window so the common query ("what happened here today") never scans the
// whole table by accident; an analyst who wants a month asks for it.
const DefaultSearchWindow = 24 * time.Hour

// MaxSearchLimit is the largest page; DefaultSearchLimit the page when none is asked.
const (
	MaxSearchLimit     = 1000
	DefaultSearchLimit = 50
)

// ErrBadCursor is returned for a cursor SearchRecords did not make.
var ErrBadCursor = errors.New("malformed cursor")

// BBox is a map rectangle in degrees (WGS 84, like Stream.Longitude/Latitude).
type BBox struct {
	MinLon, MinLat, MaxLon, MaxLat float64
}

// SearchQuery selects records for an analyst. Zero fields match everything; every
// filter is ANDed; the scope is always applied in the SQL.
type SearchQuery struct {
	From, To      time.Time // shot-time window, inclusive; zero To is now, zero From is To - DefaultSearchWindow
	DeviceIDs     []string  // any of these cameras
	Area          string    // admin division code with auth.AreaPrefix semantics: 441500 is all of Shanwei, 441502 one district
	BBox          *BBox     // where the camera stood; records with no position (0, 0) never match
	Types         []string  // any of these GA/T 1400 object names
	Plate         string    // exact plate (compared after NormalizePlate)
	PlatePart     string    // substring of the plate, case-insensitive on ASCII; % and _ are literal
	PlateColor    string    // ColorType code, e.g. "5" blue
	VehicleColor  string    // ColorType code
	VehicleClass  string    // GA 24.4 code, e.g. K33
	CoatColor     string    // ColorType code of a Person's coat
	TrousersColor string    // ColorType code of a Person's trousers
	Gender        string    // GB/T 2261.1: "1" male, "2" female (Face or Person)
	AgeBand       string    // decade of the estimated age: "30" is 30–39, "90" 90 and over
	TaskID        string
	Cursor        string // NextCursor of the previous page; empty for the first
	Limit         int    // default 50, at most 1000
	Scope         auth.Scope
}

// SearchPage is one page of results, newest shot first (ties by ID, descending).
type SearchPage struct {
	Records    []Record
	NextCursor string    // empty on the last page
	From, To   time.Time // the window actually searched
}

// ---- extraction at write time ----

// searchFields are the columns SaveRecord extracts from a record's body.
type searchFields struct {
	PlateNo, PlateColor, VehicleColor, VehicleClass string
	CoatColor, TrousersColor, Gender, AgeBand       string // Person and Face attributes
}

// extractSearch reads the searchable fields of a GA/T 1400 body: plate and vehicle
// fields (MotorVehicle, NonMotorVehicle), clothing colours (Person), gender and age
// range (Face, Person). Only these top-level fields are decoded, each on its own and
// leniently (numbers or strings, as peers send them), so one malformed field costs
// that field only. A body that is not a JSON object yields nothing: the record is
// still stored, just not findable by these.
func extractSearch(body []byte) searchFields {
	var raw struct {
		PlateNo, PlateColor, VehicleColor, VehicleClass json.RawMessage
		CoatColor, TrousersColor, GenderCode            json.RawMessage
		AgeUpLimit, AgeLowerLimit                       json.RawMessage
	}
	if json.Unmarshal(body, &raw) != nil {
		return searchFields{}
	}
	var f searchFields
	var s gat1400.FlexString
	if len(raw.PlateNo) > 0 && json.Unmarshal(raw.PlateNo, &s) == nil {
		f.PlateNo = NormalizePlate(string(s))
	}
	s = ""
	if len(raw.VehicleClass) > 0 && json.Unmarshal(raw.VehicleClass, &s) == nil {
		f.VehicleClass = NormalizeVehicleClass(string(s))
	}
	var c gat1400.ColorType
	if len(raw.PlateColor) > 0 && json.Unmarshal(raw.PlateColor, &c) == nil {
		f.PlateColor = NormalizeColor(string(c))
	}
	c = ""
	if len(raw.VehicleColor) > 0 && json.Unmarshal(raw.VehicleColor, &c) == nil {
		f.VehicleColor = NormalizeColor(string(c))
	}
	c = ""
	if len(raw.CoatColor) > 0 && json.Unmarshal(raw.CoatColor, &c) == nil {
		f.CoatColor = NormalizeColor(string(c))
	}
	c = ""
	if len(raw.TrousersColor) > 0 && json.Unmarshal(raw.TrousersColor, &c) == nil {
		f.TrousersColor = NormalizeColor(string(c))
	}
	var g gat1400.GenderCode
	if len(raw.GenderCode) > 0 && json.Unmarshal(raw.GenderCode, &g) == nil {
		f.Gender = NormalizeGender(string(g))
	}
	var lo, up gat1400.FlexInt
	okLo := len(raw.AgeLowerLimit) > 0 && json.Unmarshal(raw.AgeLowerLimit, &lo) == nil && lo > 0
	okUp := len(raw.AgeUpLimit) > 0 && json.Unmarshal(raw.AgeUpLimit, &up) == nil && up > 0
	switch {
	case okLo && okUp && up >= lo:
		f.AgeBand = AgeBand((int(lo) + int(up)) / 2)
	case okLo && !okUp:
		f.AgeBand = AgeBand(int(lo))
	case okUp && !okLo:
		f.AgeBand = AgeBand(int(up))
	}
	return f
}

// NormalizeGender keeps the two searchable GB/T 2261.1 codes, "1" male and "2"
// female; unknown (0) and unstated (9) are "", which no search matches.
func NormalizeGender(g string) string {
	switch NormalizeColor(g) { // same number-or-string leniency: "01" is 1
	case "1":
		return "1"
	case "2":
		return "2"
	}
	return ""
}

// AgeBand is the decade an age in years falls in ("35" → "30"), 90 and over being
// one band, "" for a negative or implausible (over 150) age. A band, not the range,
// is stored and searched so that an age filter is one equality an index serves; the
// band of a range is the band of its midpoint.
func AgeBand(age int) string {
	if age < 0 || age > 150 {
		return ""
	}
	return strconv.Itoa(min(age/10, 9) * 10)
}

// NormalizePlate is how plates are stored and compared: spaces and the separators
// some cameras print (粤B·12345, 粤B-12345) removed, full-width ASCII made
// half-width, ASCII letters upper-cased. Chinese characters are kept as they are.
func NormalizePlate(p string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(p) {
		if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII: Ｂ１２３ → B123
			r -= 0xFEE0
		}
		switch {
		case unicode.IsSpace(r) || r == '·' || r == '•' || r == '-' || r == 0x30FB: // 0x30FB: katakana middle dot, seen for ·
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// NormalizeColor writes a ColorType code without leading zeros ("05" and 5 are "5").
func NormalizeColor(c string) string {
	c = strings.TrimSpace(c)
	if n, err := strconv.Atoi(c); err == nil && n >= 0 {
		return strconv.Itoa(n)
	}
	return c
}

// NormalizeVehicleClass upper-cases a GA 24.4 vehicle class (k33 is K33).
func NormalizeVehicleClass(c string) string { return strings.ToUpper(strings.TrimSpace(c)) }

// ---- the query ----

// SearchRecords returns one page of the records q selects that q.Scope may see,
// newest shot first. Pages are keyed, not counted: NextCursor names the last record
// returned (its shot time and ID), and the next page continues strictly after it, so
// records arriving meanwhile (newer shots) neither shift nor repeat what follows. The
// cursor also carries the window's start, so a window defaulted on the first page
// stays the same on later ones.
func (s *DB) SearchRecords(ctx context.Context, q SearchQuery) (SearchPage, error) {
	var page SearchPage
	_, lateral := s.dialect.(postgresDialect)
	query, args, q, err := searchSQL(q, lateral)
	if err != nil {
		return page, err
	}
	page.From, page.To = q.From, q.To
	recs, err := queryAll(ctx, s, query, s.dialect.freshPlan(args), scanRecord)
	if err != nil {
		return page, err
	}
	if len(recs) > q.Limit { // one more than asked: there is a next page
		recs = recs[:q.Limit]
		last := recs[q.Limit-1]
		page.NextCursor = searchCursor{Shot: ms(last.ShotTime), ID: last.ID, From: ms(q.From)}.encode()
	}
	page.Records = recs
	return page, nil
}

// searchSQL builds the query (with ? placeholders) and its arguments, and returns q
// with its defaults filled in (window, limit). It asks for one row more than the page
// to learn whether there is a next one. lateral: the database has LATERAL joins
// (PostgreSQL; SQLite has not).
func searchSQL(q SearchQuery, lateral bool) (string, []any, SearchQuery, error) {
	var after *searchCursor
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor)
		if err != nil {
			return "", nil, q, err
		}
		after = &c
		if q.From.IsZero() {
			q.From = fromMS(c.From)
		}
	}
	if q.To.IsZero() {
		q.To = now()
	}
	if q.From.IsZero() {
		q.From = q.To.Add(-DefaultSearchWindow)
	}
	if q.Limit <= 0 {
		q.Limit = DefaultSearchLimit
	}
	q.Limit = min(q.Limit, MaxSearchLimit)

	scope, args := recordScope(q.Scope)
	where := []string{scope, "records.shot_time >= ?", "records.shot_time <= ?"}
	args = append(args, ms(q.From), ms(q.To))
	add := func(cond string, a ...any) { where, args = append(where, cond), append(args, a...) }
	if after != nil {
		// The bound shot_time <= t is implied by the OR; stated on its own it is an
		// index range condition on every (…, shot_time) index.
		add("records.shot_time <= ?", after.Shot)
		add("(records.shot_time < ? OR (records.shot_time = ? AND records.id < ?))", after.Shot, after.Shot, after.ID)
	}
	if len(q.DeviceIDs) > 0 {
		add("records.device_id IN ("+placeholders(len(q.DeviceIDs))+")", anys(q.DeviceIDs)...)
	}
	switch p := auth.AreaPrefix(q.Area); {
	case p == "":
	case len(p) == 6:
		// One district (441502): records carry the 6-digit code of their camera
		// (streams validate it), so this is an equality, and records_area_time
		// returns the district's records newest first, stopping at the page.
		add("records.admin_division = ?", p)
	default:
		// A city or province (4415, 44): LIKE states the meaning; the range is the
		// same set for digit codes and is what a plain B-tree on admin_division can
		// use in any collation (LIKE 'x%' needs the C collation or text_pattern_ops
		// on PostgreSQL, and SQLite's LIKE is case-insensitive, which its B-trees
		// cannot serve).
		add("records.admin_division LIKE ?", escapeLike(p)+"%")
		add("records.admin_division >= ?", p)
		if hi, ok := nextDigits(p); ok {
			add("records.admin_division < ?", hi)
		}
	}
	if b := q.BBox; b != nil {
		// longitude <> 0 is the predicate of the partial index records_geo_time: (0, 0)
		// is "position unknown", never a match.
		add("records.longitude <> 0")
		add("records.longitude >= ? AND records.longitude <= ? AND records.latitude >= ? AND records.latitude <= ?", b.MinLon, b.MaxLon, b.MinLat, b.MaxLat)
	}
	if len(q.Types) > 0 {
		add("records.type IN ("+placeholders(len(q.Types))+")", anys(q.Types)...)
	}
	if q.Plate != "" || q.PlatePart != "" {
		add("records.plate_no <> ''") // the predicate of the partial plate indexes
	}
	if q.Plate != "" {
		add("records.plate_no = ?", NormalizePlate(q.Plate))
	}
	if q.PlateColor != "" {
		add("records.plate_color = ?", NormalizeColor(q.PlateColor))
	}
	if q.VehicleColor != "" {
		add("records.vehicle_color = ?", NormalizeColor(q.VehicleColor))
	}
	if q.VehicleClass != "" {
		add("records.vehicle_class = ?", NormalizeVehicleClass(q.VehicleClass))
	}
	// Person and face attributes: the "<> ''" is the predicate of each partial
	// index (records_coat_time, …), stated so the planner need not prove it.
	// A value that normalises to "" (gender "0") matches nothing rather than
	// dropping the filter.
	for _, a := range []struct{ col, in, v string }{{"coat_color", q.CoatColor, NormalizeColor(q.CoatColor)},
		{"trousers_color", q.TrousersColor, NormalizeColor(q.TrousersColor)}, {"gender", q.Gender, NormalizeGender(q.Gender)}, {"age_band", q.AgeBand, q.AgeBand}} {
		if a.in != "" {
			add("records."+a.col+" <> '' AND records."+a.col+" = ?", a.v)
		}
	}
	if q.TaskID != "" {
		add("records.task_id = ?", q.TaskID)
	}
	const order = ` ORDER BY records.shot_time DESC, records.id DESC`
	if q.PlatePart != "" {
		// The matching plates come from the dictionary (its trigram index on
		// PostgreSQL), their records from records_plate_time. Stored plates are
		// upper-case ASCII, so a case-sensitive LIKE on the normalised input is
		// case-insensitive on ASCII (and SQLite's LIKE is anyway).
		pattern := "%" + escapeLike(NormalizePlate(q.PlatePart)) + "%"
		const plates = `SELECT plates.plate_no FROM plates WHERE plates.plate_no LIKE ? ESCAPE '\'`
		if !lateral {
			add(`records.plate_no IN (`+plates+`)`, pattern)
		} else {
			// PostgreSQL: plate by plate, each plate's newest page of sightings from
			// records_plate_time (LATERAL … LIMIT makes it a loop over the matching
			// plates whatever the planner estimates of the LIKE; left to itself it may
			// walk the department's month instead). The index covers the columns the
			// scope tests, so the plates' sightings are ranked from the index alone,
			// and only the page's rows are then read from the table: a fragment
			// matching a hundred plates costs a hundred short index scans, not
			// thousands of table pages.
			query := `SELECT ` + recordCols + ` FROM records WHERE records.id IN (SELECT m.id FROM (` + plates + `) p CROSS JOIN LATERAL (SELECT records.id, records.shot_time FROM records WHERE records.plate_no = p.plate_no AND ` +
				strings.Join(where, " AND ") + order + ` LIMIT ?) m ORDER BY m.shot_time DESC, m.id DESC LIMIT ?)` + order
			return query, append(append([]any{pattern}, args...), q.Limit+1, q.Limit+1), q, nil
		}
	}
	query := `SELECT ` + recordCols + ` FROM records WHERE ` + strings.Join(where, " AND ") + order + ` LIMIT ?`
	return query, append(args, q.Limit+1), q, nil
}

// searchCursor is the position after a record: its shot time and ID, plus the start of
// the window the first page searched.
type searchCursor struct {
	Shot int64
	ID   string
	From int64
}

// The cursor is opaque to clients: base64url of "1:<shot ms>:<from ms>:<id>". It only
// narrows a query the caller's scope already bounds, so it needs no signature.
func (c searchCursor) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte("1:" + strconv.FormatInt(c.Shot, 10) + ":" + strconv.FormatInt(c.From, 10) + ":" + c.ID))
}

func decodeCursor(s string) (searchCursor, error) {
	var c searchCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, fmt.Errorf("%w: not base64url", ErrBadCursor)
	}
	parts := strings.SplitN(string(b), ":", 4)
	if len(parts) != 4 || parts[0] != "1" || parts[3] == "" || len(parts[3]) > 64 {
		return c, fmt.Errorf("%w: not a search cursor", ErrBadCursor)
	}
	if c.Shot, err = strconv.ParseInt(parts[1], 10, 64); err != nil {
		return c, fmt.Errorf("%w: bad position", ErrBadCursor)
	}
	if c.From, err = strconv.ParseInt(parts[2], 10, 64); err != nil {
		return c, fmt.Errorf("%w: bad window", ErrBadCursor)
	}
	c.ID = parts[3]
	return c, nil
}

// escapeLike makes s match literally inside a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// nextDigits is the smallest digit string of the same length above p ("4415" → "4416",
// "4419" → "4420"); false for all nines, which has none (no upper bound is needed).
// Staying within digits keeps the range right in collations that ignore punctuation.
func nextDigits(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < '0' || b[i] > '9' {
			return "", false
		}
		if b[i] < '9' {
			b[i]++
			return string(b), true
		}
		b[i] = '0'
	}
	return "", false
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

func anys[T any](ss []T) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
