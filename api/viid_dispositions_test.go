package api_test

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/cityeye/cityeye/testdata"
)

// /VIID/Dispositions as a peer speaks it: a plate disposition set with the peer's
// own DispositionID (its status in the ResponseStatusListObject), listed and read
// with DispositionStatus, withdrawn with PUT (OperateType 1, DispositionRemove*)
// once; what CityEye cannot watch is refused per object naming the field; the
// REST view shows the same disposition; setting and withdrawing are audited.
func TestVIIDDispositions(t *testing.T) {
	f := newFixture(t)
	v := f.viidPeer(t) // acts as market_op
	v.register("s3cret-pass", false)
	const id = "441502000000012026112208000000007"
	disp := func(o map[string]any) map[string]any {
		base := map[string]any{"DispositionID": id, "Title": "stolen van", "DispositionCategory": "3", "TargetFeature": "粤B12345;粤BD34567",
			"PriorityLevel": 1, "BeginTime": "20261122080000", "EndTime": "20261201000000", "OperateType": 0, "DispositionRange": "2",
			"DispositionArea": "441502", "Reason": "case 2026-121", "ApplicantName": "Officer Li"}
		for k, x := range o {
			base[k] = x
		}
		return base
	}
	_, out := v.do("POST", "/VIID/Dispositions", map[string]any{"DispositionListObject": map[string]any{"DispositionObject": []any{
		disp(nil),
		disp(map[string]any{"DispositionID": "", "DispositionCategory": "5"}),
		disp(map[string]any{"DispositionID": "", "DispositionCategory": "2", "TargetImageURI": "http://10.0.0.9/photo.jpg"}),
		disp(map[string]any{"DispositionID": "", "DispositionArea": "440300"}),
	}}})
	sts := statuses(t, out)
	if len(sts) != 4 {
		t.Fatalf("answer: %v", out)
	}
	checkStatus(t, "set", sts[0], id, "/VIID/Dispositions", 0)
	for i, field := range map[int]string{1: "DispositionCategory", 2: "SubImageList", 3: "DispositionArea"} {
		if sts[i]["StatusCode"] != 8.0 || !strings.Contains(fmt.Sprint(sts[i]["StatusString"]), field) {
			t.Errorf("object %d: %v, want StatusCode 8 naming %s", i, sts[i], field)
		}
	}
	_, out = v.do("GET", "/VIID/Dispositions", nil)
	ds, list := listOf(t, out, "Disposition")
	if len(ds) != 1 || list["TotalNum"] != 1.0 || ds[0]["DispositionID"] != id || ds[0]["DispositionStatus"] != 0.0 || ds[0]["TargetFeature"] != "粤B12345;粤BD34567" {
		t.Fatalf("list: %v", out)
	}
	if code, out := v.do("GET", "/VIID/Dispositions?"+url.PathEscape("(Disposition.Title = 'x')"), nil); code != 400 || out["field"] == nil {
		t.Errorf("a filter on dispositions: %d %v", code, out)
	}
	rest := f.must("GET", "/api/v1/dispositions/"+id, "market_op", "", 200)
	if rest["category"] != "plate" || rest["in_force"] != true || len(rest["targets"].([]any)) != 2 {
		t.Errorf("REST view: %v", rest)
	}
	f.must("GET", "/api/v1/dispositions/"+id, "police_op", "", 404) // another department's

	withdraw := map[string]any{"DispositionObject": map[string]any{"DispositionID": id, "OperateType": 1, "DispositionRemoveOrg": "Market bureau",
		"DispositionRemovePerson": "Officer Li", "DispositionRemoveReason": "van found"}}
	code, out := v.do("PUT", "/VIID/Dispositions/"+id, withdraw)
	if code != 200 {
		t.Fatalf("withdraw: %d %v", code, out)
	}
	checkStatus(t, "withdraw", single(out), id, "/VIID/Dispositions/"+id, 0)
	_, out = v.do("GET", "/VIID/Dispositions/"+id, nil)
	o := out["DispositionObject"].(map[string]any)
	if o["DispositionStatus"] != 1.0 || o["OperateType"] != 1.0 || o["DispositionRemoveReason"] != "van found" || o["DispositionRemoveOrg"] != "Market bureau" {
		t.Errorf("withdrawn: %v", o)
	}
	if code, out := v.do("PUT", "/VIID/Dispositions/"+id, withdraw); code != 409 || single(out)["StatusCode"] != 4.0 {
		t.Errorf("withdrawn twice: %d %v", code, out)
	}
	// a face disposition: the photo in SubImageList, the threshold in Similaritydegree
	const faceID = "441502000000012026112208000000008"
	photo, _ := os.ReadFile(testdata.Media(t, "grace_hopper_512x512.jpg"))
	_, out = v.do("POST", "/VIID/Dispositions", map[string]any{"DispositionListObject": map[string]any{"DispositionObject": []any{
		disp(map[string]any{"DispositionID": faceID, "DispositionCategory": "2", "TargetFeature": "", "Similaritydegree": "0.8",
			"SubImageList": map[string]any{"SubImageInfoObject": []any{map[string]any{"Type": "11", "FileFormat": "Jpeg", "Data": base64.StdEncoding.EncodeToString(photo)}}}}),
	}}})
	checkStatus(t, "face disposition", statuses(t, out)[0], faceID, "/VIID/Dispositions", 0)
	face := f.must("GET", "/api/v1/dispositions/"+faceID, "market_op", "", 200)
	if face["category"] != "face" || face["threshold"] != 0.8 || len(face["targets"].([]any)) != 1 {
		t.Errorf("face disposition: %v", face)
	}
	if _, out := v.do("GET", "/VIID/Dispositions/"+faceID, nil); strings.Contains(fmt.Sprint(out), "/9j/") {
		t.Errorf("the photo's data is echoed back: %.300v", out)
	}
	if len(f.auditEntries("action=disposition.create&target="+id)) != 1 || len(f.auditEntries("action=disposition.withdraw&target="+id)) != 1 {
		t.Errorf("audit of set and withdraw")
	}
}
