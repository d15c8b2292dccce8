package catalogue

import (
	"bytes"
	"slices"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/cityeye/cityeye/store"
)

// The sheet scanner reads what excelize reads: a file excelize's stream writer made
// (inline strings, as exports are) and one made cell by cell as spreadsheet programs
// do (shared strings, rich text, numbers, booleans, escapes, gaps in rows and columns).
func TestSheetScannerReadsWhatExcelizeReads(t *testing.T) {
	var exported bytes.Buffer
	cams := []store.Camera{{DeviceID: "44150200001320000001", Name: `东门 <北> & "南"`, Longitude: 115.3, OwnerDept: "police"}, {DeviceID: "44150200001320000002", Name: "西门"}}
	if err := Write(&exported, XLSX, Chinese, cams); err != nil {
		t.Fatal(err)
	}
	x := excelize.NewFile()
	set := func(cell string, v any) {
		if err := x.SetCellValue("Sheet1", cell, v); err != nil {
			t.Fatal(err)
		}
	}
	set("A1", "设备编码*")
	set("C1", "name")
	set("A2", "44150200001320000001")
	set("B2", 115.370001)
	set("C2", `a&b <c> "d" 'e'`)
	set("D2", true)
	set("A5", "after a gap")
	set("AB5", 7)
	if err := x.SetCellRichText("Sheet1", "E2", []excelize.RichTextRun{{Text: "富"}, {Text: "文本", Font: &excelize.Font{Bold: true}}}); err != nil {
		t.Fatal(err)
	}
	x.NewSheet("Second")
	set2 := x.SetCellValue
	set2("Second", "A1", "not the first sheet")
	var made bytes.Buffer
	if _, err := x.WriteTo(&made); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"exported": exported.Bytes(), "made cell by cell": made.Bytes()} {
		got, err := readSheet(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		xf, _ := excelize.OpenReader(bytes.NewReader(data))
		want, _ := xf.GetRows(xf.GetSheetList()[0], excelize.Options{RawCellValue: true})
		if !slices.EqualFunc(trimRows(got), trimRows(want), slices.Equal[[]string]) {
			t.Errorf("%s:\nscanner  %q\nexcelize %q", name, got, want)
		}
	}
	if got, _ := readSheet(made.Bytes()); len(got) != 5 || got[1][2] != `a&b <c> "d" 'e'` || got[1][4] != "富文本" || got[4][27] != "7" {
		t.Errorf("cell by cell: %q", got)
	}
}

// trimRows drops trailing empty cells and rows, which the two readers may differ in.
func trimRows(rows [][]string) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		for len(r) > 0 && r[len(r)-1] == "" {
			r = r[:len(r)-1]
		}
		out[i] = r
	}
	for len(out) > 0 && len(out[len(out)-1]) == 0 {
		out = out[:len(out)-1]
	}
	return out
}
