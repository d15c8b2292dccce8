package api_test

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/watermark"
)

// Every read of a record, search, export and snapshot is in the audit trail with
// who, what, from where and under which grant; only the platform office reads the
// trail; a leaked snapshot, re-compressed at JPEG quality 75, names its download.
func TestAuditTrailAndLeakedSnapshot(t *testing.T) {
	f := newFixture(t)
	cam := cameras[1]
	f.must("POST", "/api/v1/streams", "police_op", cam.body(), 201)
	r := f.seedRecord("market", cam, "", f.now.Add(-time.Minute), 1)

	f.must("GET", "/api/v1/records/"+r.id, "market_analyst", "", 200)
	f.must("GET", "/api/v1/records?type=Face", "market_analyst", "", 200)
	f.must("GET", "/api/v1/records/"+r.id, "police_op", "", 404) // refused reads are traced too

	// export: NDJSON of what the caller may see
	req, _ := http.NewRequest("GET", f.url+"/api/v1/records/export?type=Face", nil)
	req.Header.Set("Authorization", "Bearer "+f.tok["market_analyst"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" || strings.Count(string(body), "\n") != 1 || !strings.Contains(string(body), r.id) {
		t.Fatalf("export: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	// the snapshot as served: watermarked, same size; the stored original is untouched
	req, _ = http.NewRequest("GET", f.url+"/api/v1/objects/"+r.key, nil)
	req.Header.Set("Authorization", "Bearer "+f.tok["market_analyst"])
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	orig, _ := f.objs.Get(context.Background(), r.key)
	if resp.StatusCode != 200 || bytes.Equal(served, orig) {
		t.Fatalf("snapshot: %d, identical to the original: %v", resp.StatusCode, bytes.Equal(served, orig))
	}
	if _, err := watermark.Extract(orig, f.srv.WatermarkKey); err == nil {
		t.Fatal("the stored original carries a mark")
	}
	img, err := jpeg.Decode(bytes.NewReader(served))
	if err != nil {
		t.Fatal(err)
	}
	var leaked bytes.Buffer
	jpeg.Encode(&leaked, img, &jpeg.Options{Quality: 75})
	id, err := watermark.Extract(leaked.Bytes(), f.srv.WatermarkKey)
	if err != nil {
		t.Fatalf("mark lost at quality 75: %v", err)
	}
	e := f.must("GET", fmt.Sprintf("/api/v1/audit/%d", id), "admin", "", 200)
	if e["user_id"] != "market_analyst" || e["department"] != "market" || e["action"] != "snapshot.read" || e["target"] != r.key || e["remote"] != "127.0.0.1" {
		t.Fatalf("leak traced to %v", e)
	}

	// the trail: every read above, newest first, filterable; the platform office only
	entries := f.must("GET", "/api/v1/audit?user_id=market_analyst", "admin", "", 200)["entries"].([]any)
	var actions []string
	for _, x := range entries {
		actions = append(actions, x.(map[string]any)["action"].(string))
	}
	if got := strings.Join(actions, ","); got != "snapshot.read,record.export,record.search,record.read" {
		t.Errorf("market_analyst's trail: %s", got)
	}
	denied := f.must("GET", "/api/v1/audit?user_id=police_op&action=record.read", "admin", "", 200)["entries"].([]any)
	if len(denied) != 1 || denied[0].(map[string]any)["status"] != 404.0 {
		t.Errorf("refused read not traced: %v", denied)
	}
	f.must("GET", "/api/v1/audit", "market_admin", "", 403)
	f.must("GET", "/api/v1/audit", "police_admin", "", 403)
	// no route edits or deletes the trail
	for _, m := range []string{"PUT", "DELETE", "PATCH", "POST"} {
		if code, _ := f.do(m, fmt.Sprintf("/api/v1/audit/%d", id), "admin", "{}"); code != 404 && code != 405 {
			t.Errorf("%s on an audit entry: %d", m, code)
		}
	}
	if _, err := f.db.ListAudit(context.Background(), store.AuditFilter{}); err != nil {
		t.Fatal(err)
	}
}
