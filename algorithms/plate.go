package algorithms

import (
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cityeye/cityeye/models/decode"
)

// Mainland China plate numbers (GA 36), as read by OCR on a vehicle crop.
//
// A plate is the province's one-character abbreviation, the issuing authority's
// letter and a serial:
//
//	ordinary (7):          粤B12345   serial of 5 digits or letters; letters never I or O
//	small new-energy (8):  粤BD12345  serial: an energy letter (D, A, B, C, E battery-
//	                                   electric; F, G, H, J, K other), a digit or letter,
//	                                   then 4 digits
//	large new-energy (8):  粤B12345D  serial: 5 digits, then D (electric) or F (other)
//	special (7):           粤B1234学  4 serial characters and 学 (driving school), 警
//	                                   (police), 挂 (trailer), 港 or 澳 (Hong Kong/Macau)
//
// The new-energy rule is GA 36-2018's (D/F at the third character of small and the
// eighth of large plates), with the further energy letters the Ministry of Public
// Security opened for small new-energy plates when the D and F ranges ran out (A-E
// and F-K: from memory of the announcement, not checked against its text).
// Military, armed-police (WJ) and embassy (使/领) plates are not accepted.

// plateProvinces are the 31 province-level abbreviations.
const plateProvinces = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

// plateTraditional maps traditional forms that OCR dictionaries also hold.
var plateTraditional = map[rune]rune{'滬': '沪', '遼': '辽', '魯': '鲁', '蘇': '苏', '贛': '赣', '閩': '闽', '貴': '贵',
	'粵': '粤', '陝': '陕', '寧': '宁', '瓊': '琼', '雲': '云', '晉': '晋', '黒': '黑'}

// PlateKind is the format a valid plate matched.
type PlateKind string

const (
	PlateOrdinary        PlateKind = "ordinary"
	PlateNewEnergySmall  PlateKind = "new_energy_small"
	PlateNewEnergyLarge  PlateKind = "new_energy_large"
	PlateSpecialSuffix   PlateKind = "special"
	plateSmallEnergyKeys           = "DABCEFGHJK"
	plateLargeEnergyKeys           = "DF"
	plateSuffixes                  = "学警挂港澳"
)

// NormalizePlate prepares an OCR read for validation: it drops separators and
// spaces (the plate's middle dot, dots, dashes, underscores…), turns full-width
// letters and digits into ASCII, upper-cases letters and replaces traditional
// province characters by the simplified ones the plates carry. It does not guess
// at confusable characters: ValidatePlate does that where the format fixes the class.
func NormalizePlate(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII
			r -= 0xFEE0
		}
		if t, ok := plateTraditional[r]; ok {
			r = t
		}
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r < 0x80 || unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r):
			// separators, spaces and stray marks: the plate has none
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ValidatePlate checks s (normalised first) against the mainland formats above and
// returns the plate as it must be stored. OCR confusions are corrected only where
// the format fixes the class of a position:
//
//   - serial positions never hold the letters I or O, so O→0 and I→1 there;
//   - positions that must be digits (the last 4 of a small new-energy plate, the
//     first 5 of a large one) get the same O→0, I→1;
//   - the authority position must be a letter, so 0→O there (O exists: provincial
//     police authorities). 1 is left alone: I is no authority letter.
//
// Anything else that does not fit is invalid: the read is rejected, not stored.
func ValidatePlate(s string) (string, PlateKind, bool) {
	rs := []rune(NormalizePlate(s))
	if len(rs) != 7 && len(rs) != 8 {
		return "", "", false
	}
	if !strings.ContainsRune(plateProvinces, rs[0]) {
		return "", "", false
	}
	if rs[1] == '0' {
		rs[1] = 'O'
	}
	if rs[1] < 'A' || rs[1] > 'Z' || rs[1] == 'I' {
		return "", "", false
	}
	serial := rs[2:]
	toDigit := func(r rune) rune {
		switch r {
		case 'O':
			return '0'
		case 'I':
			return '1'
		}
		return r
	}
	isDigit := func(r rune) bool { return r >= '0' && r <= '9' }
	isSerial := func(r rune) bool { return isDigit(r) || (r >= 'A' && r <= 'Z' && r != 'I' && r != 'O') }
	if len(rs) == 7 {
		for i := range serial {
			serial[i] = toDigit(serial[i])
		}
		kind := PlateOrdinary
		n := 5
		if strings.ContainsRune(plateSuffixes, serial[4]) {
			kind, n = PlateSpecialSuffix, 4
		}
		for _, r := range serial[:n] {
			if !isSerial(r) {
				return "", "", false
			}
		}
		return string(rs), kind, true
	}
	// 8 characters: new energy, small (energy letter first) or large (last)
	if strings.ContainsRune(plateSmallEnergyKeys, serial[0]) {
		serial[1] = toDigit(serial[1])
		for i := 2; i < 6; i++ {
			serial[i] = toDigit(serial[i])
		}
		if !isSerial(serial[1]) {
			return "", "", false
		}
		for _, r := range serial[2:] {
			if !isDigit(r) {
				return "", "", false
			}
		}
		return string(rs), PlateNewEnergySmall, true
	}
	if strings.ContainsRune(plateLargeEnergyKeys, serial[5]) {
		for i := 0; i < 5; i++ {
			serial[i] = toDigit(serial[i])
			if !isDigit(serial[i]) {
				return "", "", false
			}
		}
		return string(rs), PlateNewEnergyLarge, true
	}
	return "", "", false
}

// PlateRead is one valid plate read of a vehicle.
type PlateRead struct {
	Text  string    // the validated plate
	Kind  PlateKind //
	Score float32   // OCR confidence in (0,1]
	Color string    // plate colour classified on that read's pixels ("" if unsure)
	Box   decode.Box
}

// PlateCandidates turns the text lines OCR found in a vehicle crop into valid plate
// reads: each line on its own, and each pair of lines that could be the two rows of
// a double-row plate (the second below the first, overlapping horizontally) or one
// row split in two (side by side, same height), joined. Invalid text is dropped. The
// score of a joined read is the lower of its lines'.
func PlateCandidates(lines []TextLine) []PlateRead {
	var out []PlateRead
	add := func(text string, score float32, box decode.Box) {
		if p, kind, ok := ValidatePlate(text); ok {
			out = append(out, PlateRead{Text: p, Kind: kind, Score: score, Box: box})
		}
	}
	for i, a := range lines {
		add(a.Text, a.Score, a.Box)
		for j, b := range lines {
			if i == j || utf8.RuneCountInString(NormalizePlate(a.Text)) > 4 {
				continue // only a short first part (province + letter, maybe more) can start a plate
			}
			h := max(a.Box.H(), b.Box.H())
			overlapX := min(a.Box.X2, b.Box.X2) - max(a.Box.X1, b.Box.X1)
			below := b.Box.Y1 >= a.Box.Y1+0.5*a.Box.H() && b.Box.Y1-a.Box.Y2 < h && overlapX > 0
			beside := b.Box.X1 >= a.Box.X2-0.2*h && b.Box.X1-a.Box.X2 < 1.5*h && math.Abs(float64((a.Box.Y1+a.Box.Y2)/2-(b.Box.Y1+b.Box.Y2)/2)) < float64(0.5*h)
			if below || beside {
				box := decode.Box{X1: min(a.Box.X1, b.Box.X1), Y1: min(a.Box.Y1, b.Box.Y1), X2: max(a.Box.X2, b.Box.X2), Y2: max(a.Box.Y2, b.Box.Y2)}
				add(a.Text+b.Text, min(a.Score, b.Score), box)
			}
		}
	}
	return out
}

// PlateResult is the outcome of the vote over a vehicle's reads.
type PlateResult struct {
	Text        string
	Kind        PlateKind
	Color       string // the colour most of the winning reads' pixels had ("" if none)
	Reliability int    // 0-100, see PlateVote.Result
	Reads       int    // valid reads in the vote
	Agreeing    int    // of which read Text
}

// PlateVote collects a vehicle's valid plate reads across frames.
type PlateVote struct {
	reads []PlateRead
}

// Add records a valid read.
func (v *PlateVote) Add(r PlateRead) { v.reads = append(v.reads, r) }

// Len is the number of reads recorded.
func (v *PlateVote) Len() int { return len(v.reads) }

// Result elects the plate with the largest sum of OCR scores (ties: more reads, then
// the lexically smaller text, so the result is deterministic) and rates it
//
//	PlateReliability = round(100 × share × mean)
//
// share = the winner's summed score / all reads' summed score (how much the reads
// agree), mean = the winner's mean score (how sure OCR was of it). One clean read at
// 0.95 gives 95; two reads of A at 0.9 against one of B at 0.6 give 100×0.75×0.9 = 68.
// The colour is the score-weighted majority of the winner's reads' colours.
func (v *PlateVote) Result() (PlateResult, bool) {
	if len(v.reads) == 0 {
		return PlateResult{}, false
	}
	type tally struct {
		sum  float64
		n    int
		kind PlateKind
		cols map[string]float64
	}
	by := map[string]*tally{}
	var total float64
	for _, r := range v.reads {
		t := by[r.Text]
		if t == nil {
			t = &tally{kind: r.Kind, cols: map[string]float64{}}
			by[r.Text] = t
		}
		t.sum += float64(r.Score)
		t.n++
		if r.Color != "" {
			t.cols[r.Color] += float64(r.Score)
		}
		total += float64(r.Score)
	}
	texts := make([]string, 0, len(by))
	for k := range by {
		texts = append(texts, k)
	}
	sort.Slice(texts, func(i, j int) bool {
		a, b := by[texts[i]], by[texts[j]]
		if a.sum != b.sum {
			return a.sum > b.sum
		}
		if a.n != b.n {
			return a.n > b.n
		}
		return texts[i] < texts[j]
	})
	w := by[texts[0]]
	res := PlateResult{Text: texts[0], Kind: w.kind, Reads: len(v.reads), Agreeing: w.n}
	if total > 0 {
		res.Reliability = int(math.Round(100 * (w.sum / total) * (w.sum / float64(w.n))))
	}
	res.Reliability = min(max(res.Reliability, 0), 100)
	best := 0.0
	for _, c := range sortedKeys(w.cols) {
		if w.cols[c] > best {
			res.Color, best = c, w.cols[c]
		}
	}
	return res, true
}

func sortedKeys(m map[string]float64) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}
