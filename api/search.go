package api

import (
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/store"
)

// searchParams are the query parameters of GET /api/v1/search (the route table
// documents them; any other parameter is a 400, so a misspelt filter never silently
// widens a search).
var searchParams = []string{"from", "to", "device_id", "area", "bbox", "type", "plate", "plate_part",
	"plate_color", "vehicle_color", "vehicle_class", "coat_color", "trousers_color", "gender", "age", "task_id", "cursor", "limit"}

// MaxSearchDevices is the most cameras one search may name.
const MaxSearchDevices = 200

var (
	digits20     = regexp.MustCompile(`^[0-9]{20}$`)
	areaCode     = regexp.MustCompile(`^[0-9]{6}$`)
	vehicleClass = regexp.MustCompile(`^[A-Za-z][0-9A-Za-z]{2}$`) // GA 24.4: K33, H11, X99
	colorCodes   = map[string]bool{}
)

func init() {
	for _, c := range []gat1400.ColorType{gat1400.ColorBlack, gat1400.ColorWhite, gat1400.ColorGrey, gat1400.ColorRed, gat1400.ColorBlue,
		gat1400.ColorYellow, gat1400.ColorOrange, gat1400.ColorBrown, gat1400.ColorGreen, gat1400.ColorPurple, gat1400.ColorCyan,
		gat1400.ColorPink, gat1400.ColorTransparent, gat1400.ColorOther} {
		colorCodes[string(c)] = true
	}
}

// snapshotRef is a snapshot of a search hit: its object-store key and where the
// caller fetches it (watermarked and audited, like every snapshot read).
type snapshotRef struct {
	Key string `json:"key"`
	URL string `json:"url"`
}

// searchHit is a record as search returns it: the record and its snapshots.
type searchHit struct {
	store.Record
	Snapshots []snapshotRef `json:"snapshots"`
}

// searchRecords answers GET /api/v1/search: the analyst search over records, newest
// shot first, keyset-paged (pass next_cursor back as cursor, with the same filters).
// Every search is audited; results are limited to what the caller's scope may see.
func searchRecords(s *Server, c *gin.Context) {
	q, ok := searchQuery(s, c)
	if !ok {
		return
	}
	page, err := s.DB.SearchRecords(c, q)
	if errors.Is(err, store.ErrBadCursor) {
		fail(c, http.StatusBadRequest, "cursor", "cursor: "+err.Error()+"; pass next_cursor of the previous page unchanged")
		return
	}
	if err != nil {
		storeErr(c, err, "records")
		return
	}
	detail := strconv.Itoa(len(page.Records)) + " records"
	if page.NextCursor != "" {
		detail += ", more"
	}
	if _, ok := s.audit(c, "record.search", c.Request.URL.RawQuery, "", http.StatusOK, detail); !ok {
		return
	}
	hits := make([]searchHit, len(page.Records))
	for i, r := range page.Records {
		hits[i] = searchHit{Record: r, Snapshots: []snapshotRef{}}
		for _, k := range r.Images {
			hits[i].Snapshots = append(hits[i].Snapshots, snapshotRef{Key: k, URL: "/api/v1/objects/" + k})
		}
	}
	limit := q.Limit
	if limit == 0 {
		limit = store.DefaultSearchLimit
	}
	c.JSON(http.StatusOK, gin.H{"records": hits, "next_cursor": page.NextCursor, "from": page.From, "to": page.To, "limit": limit})
}

// searchQuery reads and checks the parameters; on bad input it answers 400 naming the
// parameter and returns false.
func searchQuery(s *Server, c *gin.Context) (store.SearchQuery, bool) {
	q := store.SearchQuery{Scope: who(c).Scope()}
	bad := func(field, msg string) (store.SearchQuery, bool) {
		fail(c, http.StatusBadRequest, field, field+": "+msg)
		return q, false
	}
	params := c.Request.URL.Query()
	for name, vs := range params {
		if !slices.Contains(searchParams, name) {
			return bad(name, "unknown parameter; the search takes "+strings.Join(searchParams, ", "))
		}
		if len(vs) > 1 && name != "device_id" && name != "type" {
			return bad(name, "given more than once")
		}
	}
	one := func(name string) string { return strings.TrimSpace(params.Get(name)) }
	list := func(name string) []string { // repeated or comma-separated
		var out []string
		for _, v := range params[name] {
			for _, x := range strings.Split(v, ",") {
				if x = strings.TrimSpace(x); x != "" {
					out = append(out, x)
				}
			}
		}
		return out
	}

	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if v := one(p.name); v != "" {
			t, err := parseTime(v)
			if err != nil {
				return bad(p.name, "use RFC 3339 (2026-11-22T08:00:00+08:00) or YYYYMMDDhhmmss (China time)")
			}
			*p.dst = t.UTC()
		}
	}
	// The window: to defaults to now, from to 24 h before to, except on a later page,
	// whose cursor carries the first page's from (so the window does not slide).
	if q.To.IsZero() {
		q.To = s.now()
	}
	if q.Cursor = one("cursor"); len(q.Cursor) > 200 {
		return bad("cursor", "not a cursor this API returned")
	}
	if q.From.IsZero() && q.Cursor == "" {
		q.From = q.To.Add(-store.DefaultSearchWindow)
	}
	if !q.From.IsZero() && q.From.After(q.To) {
		return bad("from", "after to")
	}

	q.DeviceIDs = list("device_id")
	if len(q.DeviceIDs) > MaxSearchDevices {
		return bad("device_id", "at most "+strconv.Itoa(MaxSearchDevices)+" cameras per search")
	}
	for _, d := range q.DeviceIDs {
		if !digits20.MatchString(d) {
			return bad("device_id", strconv.Quote(d)+" is not a 20-digit GB/T 28181 device ID")
		}
	}
	if q.Area = one("area"); q.Area != "" && !areaCode.MatchString(q.Area) {
		return bad("area", "a 6-digit GB/T 2260 code; 441500 is all of Shanwei, 441502 one district, 440000 the province")
	}
	if v := one("bbox"); v != "" {
		b, msg := parseBBox(v)
		if msg != "" {
			return bad("bbox", msg)
		}
		q.BBox = &b
	}
	q.Types = list("type")
	for _, t := range q.Types {
		if !recordTypes[t] {
			return bad("type", strconv.Quote(t)+" is not one of Face, Person, MotorVehicle, NonMotorVehicle")
		}
	}
	if q.Plate = one("plate"); q.Plate != "" {
		if n := utf8.RuneCountInString(store.NormalizePlate(q.Plate)); n == 0 || n > 16 {
			return bad("plate", "a plate number of 1 to 16 characters, e.g. 粤B12345")
		}
	}
	if q.PlatePart = one("plate_part"); q.PlatePart != "" {
		if n := utf8.RuneCountInString(store.NormalizePlate(q.PlatePart)); n < 3 || n > 16 {
			return bad("plate_part", "3 to 16 characters of a plate, e.g. B123 (shorter fragments match too much to search)")
		}
	}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"plate_color", &q.PlateColor}, {"vehicle_color", &q.VehicleColor}, {"coat_color", &q.CoatColor}, {"trousers_color", &q.TrousersColor}} {
		if v := one(p.name); v != "" {
			if *p.dst = store.NormalizeColor(v); !colorCodes[*p.dst] {
				return bad(p.name, "a GA/T 1400 colour code: 1 black, 2 white, 3 grey, 4 red, 5 blue, 6 yellow, 7 orange, 8 brown, 9 green, 10 purple, 11 cyan, 12 pink, 13 transparent, 99 other")
			}
		}
	}
	if q.VehicleClass = one("vehicle_class"); q.VehicleClass != "" && !vehicleClass.MatchString(q.VehicleClass) {
		return bad("vehicle_class", "a GA 24.4 vehicle class code such as K33")
	}
	if v := one("gender"); v != "" {
		if q.Gender = store.NormalizeGender(v); q.Gender == "" {
			return bad("gender", "1 male or 2 female (GB/T 2261.1)")
		}
	}
	if v := one("age"); v != "" {
		// Faces are stored by the decade of their estimated age (store.AgeBand); a
		// decade's start names it, so an age that is not one would silently mean its
		// decade.
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 90 || n%10 != 0 {
			return bad("age", "the decade of the estimated age: 0, 10, 20, … 90 (30 is 30–39, 90 is 90 and over)")
		}
		q.AgeBand = store.AgeBand(n)
	}
	if q.TaskID = one("task_id"); len(q.TaskID) > 64 {
		return bad("task_id", "at most 64 characters")
	}
	if v := one("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxSearchLimit {
			return bad("limit", "integer in [1, "+strconv.Itoa(store.MaxSearchLimit)+"]")
		}
		q.Limit = n
	}
	return q, true
}

// parseBBox reads "min_lon,min_lat,max_lon,max_lat" in degrees.
func parseBBox(v string) (store.BBox, string) {
	const want = "min_lon,min_lat,max_lon,max_lat in degrees, e.g. 115.30,22.70,115.45,22.85"
	parts := strings.Split(v, ",")
	if len(parts) != 4 {
		return store.BBox{}, want
	}
	var f [4]float64
	for i, p := range parts {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || x != x {
			return store.BBox{}, want
		}
		f[i] = x
	}
	b := store.BBox{MinLon: f[0], MinLat: f[1], MaxLon: f[2], MaxLat: f[3]}
	switch {
	case b.MinLon < -180 || b.MaxLon > 180 || b.MinLat < -90 || b.MaxLat > 90:
		return b, "longitude within [-180, 180], latitude within [-90, 90]; " + want
	case b.MinLon > b.MaxLon || b.MinLat > b.MaxLat:
		return b, "minimum above maximum; " + want
	}
	return b, ""
}
