package catalogue

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"html"
	"io"
	"path"
	"strconv"
	"strings"
)

// readSheet returns the cell texts of an XLSX file's first sheet, row by row as the
// spreadsheet numbers them (missing rows are empty). It scans the sheet's XML bytes
// itself: excelize's GetRows decodes every cell with encoding/xml, about 15 s of CPU
// for a city's 80,000 rows × 33 columns (docs/bench/catalogue.md); this takes a
// fraction of that. The workbook and its relationships, small, go through encoding/xml.
func readSheet(data []byte) ([][]string, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, errors.New("not a readable XLSX file")
	}
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[strings.TrimPrefix(f.Name, "/")] = f
	}
	read := func(name string) ([]byte, error) {
		f, ok := files[name]
		if !ok {
			return nil, errors.New("the XLSX file has no " + name)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(io.LimitReader(rc, 1<<30))
	}
	sheet, err := firstSheet(read)
	if err != nil {
		return nil, err
	}
	var shared []string
	if _, ok := files["xl/sharedStrings.xml"]; ok {
		b, err := read("xl/sharedStrings.xml")
		if err != nil {
			return nil, err
		}
		shared = sharedStrings(b)
	}
	b, err := read(sheet)
	if err != nil {
		return nil, err
	}
	return sheetRows(b, shared)
}

// firstSheet finds the first sheet's part through the workbook and its relationships.
func firstSheet(read func(string) ([]byte, error)) (string, error) {
	var wb struct {
		Sheets []struct {
			RID string `xml:"http://schemas.openxmlformats.org/officeDocument/2006/relationships id,attr"`
		} `xml:"sheets>sheet"`
	}
	var rels struct {
		Rel []struct {
			ID     string `xml:"Id,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	b, err := read("xl/workbook.xml")
	if err != nil {
		return "", err
	}
	if err := xml.Unmarshal(b, &wb); err != nil || len(wb.Sheets) == 0 {
		return "", errors.New("the XLSX file has no sheet")
	}
	if b, err = read("xl/_rels/workbook.xml.rels"); err != nil {
		return "", err
	}
	if err := xml.Unmarshal(b, &rels); err != nil {
		return "", errors.New("the XLSX file's relationships are unreadable")
	}
	for _, r := range rels.Rel {
		if r.ID == wb.Sheets[0].RID {
			if strings.HasPrefix(r.Target, "/") {
				return strings.TrimPrefix(r.Target, "/"), nil
			}
			return path.Clean("xl/" + r.Target), nil
		}
	}
	return "", errors.New("the XLSX file's first sheet has no part")
}

// element returns the next <name …>…</name> (or <name …/>) at or after i: its
// attributes text, its content, and the index after it; ok false when there is none.
func element(b []byte, i int, name string) (attrs, content []byte, next int, ok bool) {
	open := []byte("<" + name)
	for {
		j := bytes.Index(b[i:], open)
		if j < 0 {
			return nil, nil, len(b), false
		}
		j += i
		k := j + len(open)
		if k >= len(b) || (b[k] != ' ' && b[k] != '>' && b[k] != '/' && b[k] != '\t' && b[k] != '\n' && b[k] != '\r') {
			i = k // a longer name such as <cols
			continue
		}
		end := bytes.IndexByte(b[k:], '>')
		if end < 0 {
			return nil, nil, len(b), false
		}
		end += k
		if b[end-1] == '/' {
			return b[k : end-1], nil, end + 1, true
		}
		closeTag := []byte("</" + name + ">")
		c := bytes.Index(b[end+1:], closeTag)
		if c < 0 {
			return nil, nil, len(b), false
		}
		c += end + 1
		return b[k:end], b[end+1 : c], c + len(closeTag), true
	}
}

// attr returns an attribute's value from an element's attributes text.
func attr(attrs []byte, name string) string {
	for i := 0; ; {
		j := bytes.Index(attrs[i:], []byte(name+`="`))
		if j < 0 {
			return ""
		}
		j += i
		if j == 0 || attrs[j-1] == ' ' || attrs[j-1] == '\t' || attrs[j-1] == '\n' || attrs[j-1] == '\r' {
			v := attrs[j+len(name)+2:]
			if e := bytes.IndexByte(v, '"'); e >= 0 {
				return string(v[:e])
			}
			return ""
		}
		i = j + 1
	}
}

// itemText joins the <t> runs of a string item, leaving out phonetic runs (<rPh>).
func itemText(b []byte) string {
	for {
		s := bytes.Index(b, []byte("<rPh"))
		if s < 0 {
			break
		}
		e := bytes.Index(b[s:], []byte("</rPh>"))
		if e < 0 {
			break
		}
		b = append(append([]byte{}, b[:s]...), b[s+e+len("</rPh>"):]...)
	}
	var sb strings.Builder
	for i := 0; ; {
		_, t, n, ok := element(b, i, "t")
		if !ok {
			break
		}
		sb.Write(t)
		i = n
	}
	return unescape(sb.String())
}

func unescape(s string) string {
	if strings.IndexByte(s, '&') < 0 {
		return s
	}
	return html.UnescapeString(s)
}

func sharedStrings(b []byte) []string {
	var out []string
	for i := 0; ; {
		_, si, n, ok := element(b, i, "si")
		if !ok {
			return out
		}
		out = append(out, itemText(si))
		i = n
	}
}

// sheetRows reads <sheetData>: rows by their r attribute, cells by their reference.
func sheetRows(b []byte, shared []string) ([][]string, error) {
	var rows [][]string
	for i := 0; ; {
		ra, rc, n, ok := element(b, i, "row")
		if !ok {
			return rows, nil
		}
		i = n
		idx := len(rows)
		if r := attr(ra, "r"); r != "" {
			v, err := strconv.Atoi(r)
			if err != nil || v < 1 || v > 1_048_576 {
				return nil, errors.New("the XLSX sheet has a bad row number")
			}
			idx = v - 1
		}
		for len(rows) <= idx {
			rows = append(rows, nil)
		}
		var cells []string
		for j := 0; ; {
			ca, cc, m, ok := element(rc, j, "c")
			if !ok {
				break
			}
			j = m
			col := len(cells)
			if ref := attr(ca, "r"); ref != "" {
				col = 0
				for _, ch := range ref {
					if ch < 'A' || ch > 'Z' {
						break
					}
					col = col*26 + int(ch-'A'+1)
				}
				col--
				if col < 0 || col > 16_383 {
					return nil, errors.New("the XLSX sheet has a bad cell reference")
				}
			}
			for len(cells) <= col {
				cells = append(cells, "")
			}
			switch attr(ca, "t") {
			case "s":
				_, v, _, _ := element(cc, 0, "v")
				k, err := strconv.Atoi(string(v))
				if err != nil || k < 0 || k >= len(shared) {
					return nil, errors.New("the XLSX sheet names a shared string it does not have")
				}
				cells[col] = shared[k]
			case "inlineStr":
				_, is, _, _ := element(cc, 0, "is")
				cells[col] = itemText(is)
			default:
				_, v, _, _ := element(cc, 0, "v")
				cells[col] = unescape(string(v))
			}
		}
		rows[idx] = cells
	}
}
