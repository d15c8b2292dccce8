package store

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// The person and face attributes of the synthetic city (BenchmarkSearchPostgres):
// clothing colours as a street sees them (dark coats and trousers dominate), gender
// and an age range on most faces, and the searches an analyst makes by them.

var (
	benchCoatColors     = weighted("1", 30, "2", 10, "3", 14, "5", 14, "4", 6, "8", 5, "9", 4, "6", 3, "12", 2, "10", 1, "11", 1, "99", 2, "", 8)
	benchTrousersColors = weighted("1", 44, "5", 24, "3", 12, "2", 5, "8", 5, "99", 2, "", 8)
	benchGenders        = weighted("1", 48, "2", 46, "0", 6)
)

// weighted expands ("a", 3, "b", 1) to a slice to pick from uniformly.
func weighted(pairs ...any) []string {
	var out []string
	for i := 0; i < len(pairs); i += 2 {
		for range pairs[i+1].(int) {
			out = append(out, pairs[i].(string))
		}
	}
	return out
}

// personAttrs returns the body fields of a Person's clothing colours and fills r.f.
func personAttrs(rng *rand.Rand, r *benchRow) string {
	coat, trousers := benchCoatColors[rng.IntN(len(benchCoatColors))], benchTrousersColors[rng.IntN(len(benchTrousersColors))]
	r.f.CoatColor, r.f.TrousersColor = coat, trousers
	var b strings.Builder
	if coat != "" {
		fmt.Fprintf(&b, `"CoatColor":%q,`, coat)
	}
	if trousers != "" {
		fmt.Fprintf(&b, `"TrousersColor":%q,`, trousers)
	}
	return b.String()
}

// faceAttrs returns the body fields of a Face's gender and age range and fills r.f:
// 90 % of faces have an age estimate, given as the estimate ± 5 years.
func faceAttrs(rng *rand.Rand, r *benchRow) string {
	g := benchGenders[rng.IntN(len(benchGenders))]
	r.f.Gender = NormalizeGender(g)
	s := fmt.Sprintf(`"GenderCode":%q,`, g)
	if rng.Float64() < 0.9 {
		age := 6 + int(74*rng.Float64()*rng.Float64()+10*rng.Float64()) // more young adults than elderly
		lo, up := max(age-5, 1), age+5
		r.f.AgeBand = AgeBand((lo + up) / 2)
		s += fmt.Sprintf(`"AgeLowerLimit":%d,"AgeUpLimit":%d,`, lo, up)
	}
	return s
}

// attrQueries are the attribute searches, each with a 24 h window and an area (a
// district or a whole city, half each) as the target states ("any one attribute
// combined with time and area"), by the police of that city. Values are drawn as
// often as they occur, so common colours are searched as often as rare ones are.
func attrQueries(windowEnd func(*rand.Rand, time.Duration) time.Time) []benchQuery {
	areaDay := func(rng *rand.Rand, q SearchQuery) SearchQuery {
		d := benchDistricts[rng.IntN(len(benchDistricts))]
		q.Area = d.code
		if rng.IntN(2) == 0 {
			q.Area = d.code[:4] + "00"
		}
		q.Scope = benchScopes["police_sw"]
		if strings.HasPrefix(d.code, "4403") {
			q.Scope = benchScopes["police_sz"]
		}
		q.To = windowEnd(rng, 24*time.Hour)
		q.From = q.To.Add(-24 * time.Hour)
		return q
	}
	pick := func(rng *rand.Rand, vs []string) string {
		for {
			if v := vs[rng.IntN(len(vs))]; v != "" && v != "0" {
				return v
			}
		}
	}
	const target = 50 * time.Millisecond
	return []benchQuery{
		{"coat colour + area + 24 h", "a coat colour (as often as worn), a district or city, a random day, police of that city", target, func(rng *rand.Rand) SearchQuery {
			return areaDay(rng, SearchQuery{CoatColor: pick(rng, benchCoatColors)})
		}},
		{"trousers colour + area + 24 h", "a trousers colour, a district or city, a random day", target, func(rng *rand.Rand) SearchQuery {
			return areaDay(rng, SearchQuery{TrousersColor: pick(rng, benchTrousersColors)})
		}},
		{"gender + area + 24 h", "male or female faces, a district or city, a random day", target, func(rng *rand.Rand) SearchQuery {
			return areaDay(rng, SearchQuery{Gender: pick(rng, benchGenders)})
		}},
		{"age band + area + 24 h", "an age decade (10–70, uniformly: rare bands too), a district or city, a random day", target, func(rng *rand.Rand) SearchQuery {
			return areaDay(rng, SearchQuery{AgeBand: fmt.Sprint(10 * (1 + rng.IntN(7)))})
		}},
	}
}
