package decode

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// CTCConfig declares a CTC text-recognition decoder (PP-OCR rec). The model outputs
// per-timestep class probabilities [B, T, C]; class 0 is the CTC blank, classes
// 1..len(dict) are the dictionary's characters and, with SpaceChar, the last is ' '.
type CTCConfig struct {
	Output     string `json:"output"`
	Dictionary string `json:"dictionary"` // file in the model folder, one character per line
	SpaceChar  bool   `json:"space_char"`
}

// Text is recognised text with its mean character confidence.
type Text struct {
	Text  string
	Score float32
}

// LoadDictionary reads one token per line, as PP-OCR's ppocr_keys_v1.txt.
func LoadDictionary(r io.Reader, spaceChar bool) ([]string, error) {
	sc := bufio.NewScanner(r)
	var dict []string
	for sc.Scan() {
		dict = append(dict, strings.TrimRight(sc.Text(), "\r\n"))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if spaceChar {
		dict = append(dict, " ")
	}
	return dict, nil
}

// DecodeCTC greedily decodes batch index b: best class per step, repeats collapsed,
// blanks dropped.
func DecodeCTC(cfg CTCConfig, outs []Output, b int, dict []string) (Text, error) {
	o, ok := byName(outs, cfg.Output)
	if !ok {
		return Text{}, fmt.Errorf("ctc: no output %q", cfg.Output)
	}
	if len(o.Shape) != 3 {
		return Text{}, fmt.Errorf("ctc: output %q has shape %v, want [B,T,C]", cfg.Output, o.Shape)
	}
	t, c := int(o.Shape[1]), int(o.Shape[2])
	if c != len(dict)+1 {
		return Text{}, fmt.Errorf("ctc: output has %d classes but dictionary has %d entries (+1 blank)", c, len(dict))
	}
	data := o.Data[b*t*c : (b+1)*t*c]
	var sb strings.Builder
	var sum float32
	n, prev := 0, -1
	for i := 0; i < t; i++ {
		row := data[i*c : (i+1)*c]
		best, idx := row[0], 0
		for j, v := range row {
			if v > best {
				best, idx = v, j
			}
		}
		if idx != 0 && idx != prev {
			sb.WriteString(dict[idx-1])
			sum += best
			n++
		}
		prev = idx
	}
	if n == 0 {
		return Text{}, nil
	}
	return Text{Text: sb.String(), Score: sum / float32(n)}, nil
}
