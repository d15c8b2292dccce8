package catalogue

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/cityeye/cityeye/store"
)

// RowError is one problem of one row: Row counts as a spreadsheet does (the header
// is row 1), Field is the column's English key.
type RowError struct {
	Row    int    `json:"row"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// MaxErrors bounds the report: a file wrong in every row says so in this many lines.
const MaxErrors = 1000

// Format is csv or xlsx.
type Format string

const (
	CSV  Format = "csv"
	XLSX Format = "xlsx"
)

// Row is a parsed, valid row and the line it came from.
type Row struct {
	Line   int
	Camera store.Camera
}

// Read parses a whole file. It returns the rows when every one is valid, else the
// errors (each row's every bad field, up to MaxErrors) and no rows.
func Read(r io.Reader, f Format) ([]Row, []RowError, error) {
	table, err := readTable(r, f)
	if err != nil {
		return nil, nil, err
	}
	if len(table) == 0 {
		return nil, []RowError{{Row: 1, Field: "", Reason: "the file is empty: the first row must be the header"}}, nil
	}
	cols, errs := header(table[0])
	if len(errs) > 0 {
		return nil, errs, nil
	}
	var rows []Row
	seen := map[string]int{}
	for i, rec := range table[1:] {
		line := i + 2
		if blank(rec) {
			continue
		}
		c, rowErrs := parseRow(line, rec, cols)
		if prev, dup := seen[c.DeviceID]; dup && c.DeviceID != "" {
			rowErrs = append(rowErrs, RowError{line, "device_id", fmt.Sprintf("%s is also in row %d", c.DeviceID, prev)})
		}
		seen[c.DeviceID] = line
		errs = append(errs, rowErrs...)
		if len(errs) >= MaxErrors {
			return nil, errs[:MaxErrors], nil
		}
		rows = append(rows, Row{Line: line, Camera: c})
	}
	if len(errs) > 0 {
		return nil, errs, nil
	}
	if len(rows) == 0 {
		return nil, []RowError{{Row: 2, Reason: "the file has a header and no cameras"}}, nil
	}
	return rows, nil, nil
}

func readTable(r io.Reader, f Format) ([][]string, error) {
	switch f {
	case CSV:
		cr := csv.NewReader(r)
		cr.FieldsPerRecord = -1
		cr.LazyQuotes = true
		t, err := cr.ReadAll()
		if err != nil {
			return nil, fmt.Errorf("not a readable CSV file: %v", err)
		}
		if len(t) > 0 && len(t[0]) > 0 {
			t[0][0] = strings.TrimPrefix(t[0][0], "\ufeff") // Excel's UTF-8 byte order mark
		}
		return t, nil
	case XLSX:
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, errors.New("cannot read the upload")
		}
		if t, err := readSheet(data); err == nil && len(t) > 0 {
			return t, nil
		}
		// what the scanner does not take (prefixed element names, say) excelize reads
		x, err := excelize.OpenReader(bytes.NewReader(data))
		if err != nil {
			return nil, errors.New("not a readable XLSX file")
		}
		defer x.Close()
		sheets := x.GetSheetList()
		if len(sheets) == 0 {
			return nil, errors.New("the XLSX file has no sheet")
		}
		t, err := x.GetRows(sheets[0], excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, fmt.Errorf("cannot read the first sheet: %v", err)
		}
		return t, nil
	}
	return nil, fmt.Errorf("format %q: want csv or xlsx", f)
}

// header maps each column to its field by Chinese name (a trailing * allowed) or
// English key; an unknown or repeated column, or a missing required one, is an error.
func header(h []string) ([]*Field, []RowError) {
	byName := map[string]*Field{}
	for i := range Fields {
		byName[Fields[i].Key] = &Fields[i]
		byName[strings.ToLower(Fields[i].Chinese)] = &Fields[i]
	}
	cols := make([]*Field, len(h))
	have := map[string]bool{}
	var errs []RowError
	for i, name := range h {
		n := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "*"))
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		f, ok := byName[n]
		if !ok {
			errs = append(errs, RowError{1, name, fmt.Sprintf("column %d: unknown column %q", i+1, name)})
			continue
		}
		if have[f.Key] {
			errs = append(errs, RowError{1, f.Key, fmt.Sprintf("column %d: %q appears twice", i+1, name)})
		}
		have[f.Key] = true
		cols[i] = f
	}
	for _, f := range Fields {
		if f.Required && !have[f.Key] {
			errs = append(errs, RowError{1, f.Key, fmt.Sprintf("required column missing: %s (%s)", f.Chinese, f.Key)})
		}
	}
	return cols, errs
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

func parseRow(line int, rec []string, cols []*Field) (store.Camera, []RowError) {
	var c store.Camera
	var errs []RowError
	got := map[string]bool{}
	for i, f := range cols {
		if f == nil {
			continue
		}
		v := ""
		if i < len(rec) {
			v = strings.TrimSpace(rec[i])
		}
		got[f.Key] = v != ""
		if v == "" && f.Required {
			errs = append(errs, RowError{line, f.Key, "required (" + f.Chinese + ")"})
			continue
		}
		if err := f.set(&c, v); err != nil {
			errs = append(errs, RowError{line, f.Key, err.Error()})
		}
	}
	if len(errs) == 0 {
		if field, err := crossCheck(&c); err != nil {
			errs = append(errs, RowError{line, field, err.Error()})
		}
	}
	return c, errs
}

// Lang picks the header of a written file.
type Lang string

const (
	Chinese Lang = "zh"
	English Lang = "en"
)

// Write writes the cameras as a file of the format, every column, header first.
// Pull URLs are written as stored in the Camera: callers pass them without credentials.
func Write(w io.Writer, f Format, lang Lang, cams []store.Camera) error {
	head := make([]string, len(Fields))
	for i, fd := range Fields {
		head[i] = fd.Key
		if lang != English {
			head[i] = fd.Chinese
		}
	}
	row := func(c *store.Camera) []string {
		out := make([]string, len(Fields))
		for i, fd := range Fields {
			out[i] = fd.get(c)
		}
		return out
	}
	switch f {
	case CSV:
		cw := csv.NewWriter(w)
		cw.Write(head)
		for i := range cams {
			cw.Write(row(&cams[i]))
		}
		cw.Flush()
		return cw.Error()
	case XLSX:
		x := excelize.NewFile()
		defer x.Close()
		sw, err := x.NewStreamWriter("Sheet1")
		if err != nil {
			return err
		}
		cells := func(ss []string) []any {
			out := make([]any, len(ss))
			for i, s := range ss {
				out[i] = s // text cells: codes keep their leading zeros
			}
			return out
		}
		if err := sw.SetRow("A1", cells(head)); err != nil {
			return err
		}
		for i := range cams {
			cell, _ := excelize.CoordinatesToCellName(1, i+2)
			if err := sw.SetRow(cell, cells(row(&cams[i]))); err != nil {
				return err
			}
		}
		if err := sw.Flush(); err != nil {
			return err
		}
		var buf bytes.Buffer
		if _, err := x.WriteTo(&buf); err != nil {
			return err
		}
		_, err = w.Write(buf.Bytes())
		return err
	}
	return fmt.Errorf("format %q: want csv or xlsx", f)
}
