package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/testdata"
)

// The 布控 page in a real browser: a police operator sets a plate watch list from
// the console (an empty form's error shows next to the field the API names), sees
// it in force in the list, then with a hit (the capture beside the watched plate)
// and its count, and withdraws it with a reason; the English switch renames it all.
// Screenshots: 12-dispositions, 13-disposition-new, 14-disposition.
func TestConsoleDispositions(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, "--loop-files")
	s.post("/api/v1/departments", map[string]any{"id": "police", "name": "市公安局", "areas": []string{"441500"}, "quota": map[string]any{"streams": 5, "tasks": 5}})
	s.post("/api/v1/users", map[string]any{"id": "op1", "name": "民警 张三", "department": "police", "role": auth.Operator})
	tok := s.post("/api/v1/users/op1/tokens", map[string]any{"name": "test"})["token"].(string)
	const cam = "44150200001310000061"
	s.post("/api/v1/streams", map[string]any{"device_id": cam, "name": "东门卡口", "url": "file://" + testdata.Media(t, "vtest.avi"),
		"admin_division": "441502", "longitude": 115.36, "latitude": 22.79, "owner_department": "police", "point_type": 2, "sharing": 2})
	b := newBrowser(t, s.url)
	op := b.open(tok)
	if !strings.Contains(op.text(), "布控") {
		t.Errorf("the operator's menu has no 布控:\n%s", op.text())
	}

	op.goTo("dispositions/new", `[data-testid=disp-create]`)
	op.do(clickQ(`[data-testid=disp-create]`)) // empty: the API names title first
	op.wait(`document.querySelector('[data-field=title] .error').textContent.includes('title')`, 5*time.Second, "the error next to title")
	fill := map[string]string{"title": "盗抢车辆", "plates": "粤B12345\n粤B23456", "reason": "案件 2026-118"}
	for name, v := range fill {
		op.eval(fmt.Sprintf(`(() => { document.querySelector('[name=%s]').value = %s; return true })()`, name, jsString(v)), new(bool))
	}
	op.eval(`(() => { document.querySelector('[name=devices][value="`+cam+`"]').checked = true; return true })()`, new(bool))
	op.eval(`(() => { document.querySelector('[name=end]').value = '2020-01-01T00:00'; return true })()`, new(bool))
	op.do(clickQ(`[data-testid=disp-create]`)) // an end in the past: the error sits next to end
	op.wait(`document.querySelector('[data-field=end] .error').textContent.includes('end')`, 5*time.Second, "the error next to end")
	op.eval(`(() => { const d = new Date(Date.now() + 7*86400e3); document.querySelector('[name=end]').value = d.toISOString().slice(0, 16); return true })()`, new(bool))
	op.shot("13-disposition-new")
	op.do(clickQ(`[data-testid=disp-create]`))
	op.wait(`document.querySelector('[data-testid=disp-detail]')`, 10*time.Second, "the new disposition's page")

	var list struct {
		Dispositions []struct {
			ID, Title, Category string
			Devices, Targets    []any
		} `json:"dispositions"`
	}
	s.get("/api/v1/dispositions", &list)
	if len(list.Dispositions) != 1 || list.Dispositions[0].Title != "盗抢车辆" || list.Dispositions[0].Category != "plate" || len(list.Dispositions[0].Devices) != 1 {
		t.Fatalf("the console set %+v", list.Dispositions)
	}
	id := list.Dispositions[0].ID
	if got := op.testids(`[data-testid=disp-targets] [data-testid=disp-target]`); len(got) != 2 {
		t.Errorf("detail shows %d targets, want the 2 plates", len(got))
	}

	// a hit, as the matcher stores it: the alarm's snapshot (alerts/<id>.jpg) is the capture
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(data, "cityeye.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	shot, err := os.ReadFile(testdata.Media(t, "car2.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(data, "objects", "alerts"), 0o755)
	if err := os.WriteFile(filepath.Join(data, "objects", "alerts", "disp-alert-1.jpg"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	a := &store.Alert{ID: "disp-alert-1", Kind: "disposition.plate", Level: 3, TaskID: "disposition", DeviceID: cam, DeptID: "police", Division: "441502",
		Longitude: 115.36, Latitude: 22.79, Time: time.Now(), Image: "alerts/disp-alert-1.jpg", Boxes: json.RawMessage(`[]`), Details: json.RawMessage(`{}`)}
	if err := db.SaveDispositionHit(ctx, &store.DispositionHit{DispositionID: id, RecordID: "rec-1", Target: 0, Score: 1, AlertID: a.ID}, a, nil); err != nil {
		t.Fatal(err)
	}
	op.goTo("dispositions", `[data-testid=dispositions]`)
	op.wait(`document.querySelector('[data-testid=disp-state]').dataset.state === 'in_force' && document.querySelector('[data-testid=disp-hits]').textContent === '1'`,
		5*time.Second, "the list's state and hit count")
	op.shot("12-dispositions")
	op.do(clickQ(`[data-testid=disp-link]`))
	op.wait(`(document.querySelector('[data-testid=disp-hit] img')?.src || '').startsWith('blob:') && document.querySelector('[data-testid=disp-hit-list] .plate')`,
		10*time.Second, "the hit's capture beside the watched plate")

	op.do(clickQ(`[data-testid=disp-withdraw]`)) // no reason: the error sits next to it
	op.wait(`document.querySelector('[data-testid=disp-withdraw-form] [data-field=reason] .error').textContent.includes('reason')`, 5*time.Second, "the error next to reason")
	op.eval(`(() => { document.querySelector('[data-testid=disp-withdraw-form] [name=reason]').value = '车辆已找回'; return true })()`, new(bool))
	op.do(clickQ(`[data-testid=disp-withdraw]`))
	op.wait(`document.querySelector('[data-testid=disp-state]')?.dataset.state === 'withdrawn' && !document.querySelector('[data-testid=disp-withdraw]')`, 10*time.Second, "the withdrawn state")
	if txt := op.text(); !strings.Contains(txt, "已撤控") || !strings.Contains(txt, "车辆已找回") {
		t.Errorf("the withdrawn disposition does not say so and why:\n%s", txt)
	}
	op.shot("14-disposition")
	op.do(clickQ(`[data-testid=lang]`))
	op.wait(`document.querySelector('[data-testid=nav-dispositions]').textContent === 'Watch lists' && document.body.innerText.includes('withdrawn by op1')`, 5*time.Second, "the page in English")
	op.do(clickQ(`[data-testid=lang]`))
}
