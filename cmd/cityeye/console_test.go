package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/api"
	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/testdata"
)

// consolePages is the console's menu (api/web/js/app.js): each page and the route it
// needs. The test expects a role to see exactly the pages whose route admits it in
// the API's own access table.
var consolePages = []struct{ id, method, path string }{
	{"overview", "GET", "/api/v1/streams"}, {"cameras", "GET", "/api/v1/streams"}, {"tasks", "GET", "/api/v1/tasks"},
	{"captures", "GET", "/api/v1/search"}, {"map", "GET", "/api/v1/alerts/stream"}, {"dispositions", "GET", "/api/v1/dispositions"}, {"warehouse", "GET", "/api/v1/warehouse/models"},
	{"admin", "GET", "/api/v1/users"}, {"cascade", "GET", "/api/v1/cascade/links"},
}

func expectedMenu(role auth.Role) []string {
	var out []string
	for _, p := range consolePages {
		for _, r := range api.Rules() {
			if r.Method == p.method && r.Path == p.path && slices.Contains(r.Roles, role) {
				out = append(out, "nav-"+p.id)
			}
		}
	}
	return out
}

const (
	unsharedCam = "44150200001310000051" // police's, not shared: department B must never see it
	unsharedNm  = "北门卡口 vtest"
	fireCam     = "44150200001310000052" // police's, shared unconditionally within 441500
)

// The console in a real browser against a real server: every role logs in and sees
// the menu the access table gives it; an operator registers a camera and draws a
// task's ROI and sees captures arrive; an analyst searches and opens a capture; a
// fire alert reaches the open map within 2 s; department B never sees department
// A's unshared camera; a vendor uploads a model and watches validation reach its
// report. Screenshots of each page go to CITYEYE_CONSOLE_SHOTS (docs/console).
func TestConsoleInBrowser(t *testing.T) {
	clip := flameClip(t) // the test media and the flame clip are the import folders
	s := startServer(t, t.TempDir(), "--loop-files", "--capacity-fps", "20", "--import-dirs", testdata.MediaDir()+","+filepath.Dir(clip))
	b := newBrowser(t, s.url)
	for _, d := range []map[string]any{
		{"id": "police", "name": "市公安局", "areas": []string{"441500"}, "quota": map[string]any{"streams": 10, "tasks": 10, "fps_share": 0.6}},
		{"id": "traffic", "name": "交通运输局", "areas": []string{"441500"}, "quota": map[string]any{"streams": 5, "tasks": 5}},
		{"id": "acme", "name": "Acme 算法公司", "areas": []string{"441500"}},
	} {
		s.post("/api/v1/departments", d)
	}
	users := map[auth.Role][2]string{ // role → user, department
		auth.DeptAdmin: {"pa1", "police"}, auth.Operator: {"op1", "police"}, auth.Analyst: {"an1", "police"},
		auth.Vendor: {"ven1", "acme"}, auth.Subscriber: {"sub1", "police"},
	}
	tokens := map[string]string{}
	for role, u := range users {
		s.post("/api/v1/users", map[string]any{"id": u[0], "name": "用户 " + u[0], "department": u[1], "role": role})
		if u[0] != "op1" { // op1's token is issued from the console below
			tokens[u[0]] = s.post("/api/v1/users/"+u[0]+"/tokens", map[string]any{"name": "test"})["token"].(string)
		}
	}
	s.post("/api/v1/users", map[string]any{"id": "tr1", "name": "交通 操作员", "department": "traffic", "role": auth.Operator})
	tokens["tr1"] = s.post("/api/v1/users/tr1/tokens", map[string]any{"name": "test"})["token"].(string)

	// run is t.Run whose tabs fail the subtest, not the parent
	run := func(name string, f func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			parent := b.t
			b.t = t
			defer func() { b.t = parent }()
			f(t)
		})
	}
	login := b.open("")
	login.shot("01-login")
	admin := b.open(s.token)

	run("admin issues a token from the console", func(t *testing.T) {
		admin.goTo("admin", `[data-testid=issue-op1]`)
		admin.do(clickQ(`[data-testid=issue-op1]`))
		admin.wait(`document.querySelector('[data-testid=new-token]')`, 10*time.Second, "the new token")
		var tok string
		admin.eval(`document.querySelector('[data-testid=new-token]').textContent`, &tok)
		tokens["op1"] = tok
		admin.shot("11-users-tokens")
	})

	run("each role sees the menu its access rules give", func(t *testing.T) {
		check := func(role auth.Role, tb *tab) {
			if got, want := tb.testids(`nav a`), expectedMenu(role); !slices.Equal(got, want) {
				t.Errorf("%s menu %v, want %v", role, got, want)
			}
		}
		check(auth.PlatformAdmin, admin)
		for role, u := range users {
			tb := b.open(tokens[u[0]])
			check(role, tb)
		}
		if m := expectedMenu(auth.Vendor); slices.Contains(m, "nav-cameras") || !slices.Contains(m, "nav-warehouse") {
			t.Errorf("vendor menu %v: the access table changed under the test", m)
		}
	})

	op := b.open(tokens["op1"])
	run("operator registers a camera and draws a task's ROI; captures appear", func(t *testing.T) {
		op.goTo("cameras/new", `[data-testid=create-camera]`)
		op.do(clickQ(`[data-testid=create-camera]`)) // empty form: the API names the first bad field
		op.wait(`document.querySelector('[data-field=device_id] .error').textContent.includes('device_id')`, 5*time.Second, "the error next to device_id")
		fill := map[string]string{"device_id": unsharedCam, "name": unsharedNm, "url": "file://" + testdata.Media(t, "vtest.avi"),
			"admin_division": "441502", "longitude": "115.36", "latitude": "22.79"}
		for name, v := range fill {
			op.eval(fmt.Sprintf(`(() => { const e = document.querySelector('[name=%s]'); e.value = %s; return true })()`, name, jsString(v)), new(bool))
		}
		op.do(clickQ(`[data-testid=create-camera]`))
		op.wait(`document.querySelector('[data-testid=camera-detail]')`, 10*time.Second, "the camera's page")
		op.goTo("tasks/new?device="+unsharedCam, `[data-testid=draw-canvas]`)
		// no task decodes the camera yet: the canvas shows a key frame grabbed for the page
		op.wait(`document.querySelector('[data-testid=draw-canvas]').dataset.frame === 'loaded' &&
			document.querySelector('[data-testid=frame-note]').textContent.startsWith('按需抓取的关键帧')`, 15*time.Second, "a key frame of the camera no task decodes")
		// each algorithm shows its own Chinese summary and its own options example
		for _, name := range []string{"fire_smoke", "waterlogging", "person_vehicle_capture"} {
			spec, _ := algorithms.Lookup(name)
			var got struct{ Summary, Placeholder, Label string }
			op.eval(fmt.Sprintf(`(() => { const a = document.querySelector('[name=algorithm]'); a.value = %s; a.dispatchEvent(new Event('change'));
				return {Summary: document.querySelector('[data-testid=algorithm-summary]').textContent,
					Placeholder: document.querySelector('[data-testid=options]').placeholder, Label: a.selectedOptions[0].textContent} })()`, jsString(name)), &got)
			want := "该算法没有选项"
			if spec.OptionsExample != nil {
				want = string(spec.OptionsExample)
			}
			if got.Summary != spec.SummaryZH || got.Placeholder != want || got.Label != spec.TitleZH {
				t.Errorf("new task with %s shows %+v, want its own Chinese title %q, summary %q and options example %s", name, got, spec.TitleZH, spec.SummaryZH, want)
			}
		}
		op.eval(`(() => { const a = document.querySelector('[name=algorithm]'); a.value = 'person_vehicle_capture'; a.dispatchEvent(new Event('change'));
			document.querySelector('[name=sample_fps]').value = '3'; return true })()`, new(bool))
		op.clickCanvas(`[data-testid=draw-canvas]`, [2]float64{0.05, 0.1}, [2]float64{0.95, 0.1}, [2]float64{0.95, 0.95}, [2]float64{0.05, 0.95})
		op.do(clickQ(`[data-testid=draw-close]`))
		op.shot("05-task-new")
		op.do(clickQ(`[data-testid=create-task]`))
		op.wait(`document.querySelector('[data-testid=grant]')`, 10*time.Second, "the task's page")
		var tasks struct {
			Tasks []struct {
				ID     string `json:"id"`
				Params struct {
					ROI [][2]float64 `json:"roi"`
				} `json:"params"`
			} `json:"tasks"`
		}
		s.get("/api/v1/tasks?device_id="+unsharedCam, &tasks)
		if len(tasks.Tasks) != 1 || len(tasks.Tasks[0].Params.ROI) != 4 || tasks.Tasks[0].Params.ROI[0][0] < 0.03 || tasks.Tasks[0].Params.ROI[0][0] > 0.07 {
			t.Fatalf("task as created from the drawing: %+v", tasks)
		}
		op.wait(`document.querySelectorAll('[data-testid=capture] img[src^="blob:"]').length > 0`, 60*time.Second, "captures on the task's page")
		op.shot("06-task")
		op.goTo("cameras/"+unsharedCam, `[data-testid=latest-frame]`)
		// the camera decodes in process (embedded mode): its page shows the live frame, not the latest capture
		op.wait(`document.querySelector('[data-testid=latest-frame]').dataset.live === 'true' && document.querySelector('[data-testid=latest-frame]').src.startsWith('blob:')`, 5*time.Second, "the camera's live frame")
		op.shot("04-camera")
		op.goTo("cameras", `[data-testid=cameras]`)
		op.shot("03-cameras")
	})

	run("analyst searches and opens a capture", func(t *testing.T) {
		an := b.open(tokens["an1"])
		an.goTo("captures", `[data-testid=capture]`)
		an.eval(`(() => { document.querySelector('[name=type]').value = 'Person'; return true })()`, new(bool))
		an.do(clickQ(`[data-testid=search]`))
		an.wait(`(() => { const imgs = [...document.querySelectorAll('[data-testid=capture] img')];
			return imgs.some(i => i.src.startsWith('blob:')) && imgs.every(i => i.src.startsWith('blob:') || i.classList.contains('broken')) })()`, 10*time.Second, "thumbnails")
		an.shot("07-captures")
		an.do(clickQ(`[data-testid=capture]`))
		an.wait(`document.querySelector('[data-testid=scene]') && document.querySelector('[data-testid=scene]').width > 300`, 10*time.Second, "the scene image with its box")
		if txt := an.text(); !strings.Contains(txt, unsharedCam) {
			t.Errorf("capture detail without its camera:\n%s", txt)
		}
		if bad := an.untranslated(`[data-testid=record] dt`, true); len(bad) > 0 {
			t.Errorf("capture fields not named in Chinese: %q", bad)
		}
		an.shot("08-capture")
	})

	run("an alert from a running task appears on the open map within 2 s", func(t *testing.T) {
		s.post("/api/v1/streams", map[string]any{"device_id": fireCam, "name": "后山林区", "url": "file://" + clip,
			"admin_division": "441502", "longitude": 115.41, "latitude": 22.80, "owner_department": "police", "point_type": 2, "sharing": 1})
		admin.goTo("map", `[data-testid=live].on`)
		s.post("/api/v1/tasks", map[string]any{"device_id": fireCam, "algorithm": "fire_smoke",
			"params": map[string]any{"sample_fps": 5, "options": map[string]any{"detector": "baseline"}}})
		var first string
		deadline := time.Now().Add(60 * time.Second)
		for first == "" && time.Now().Before(deadline) {
			var page struct {
				Alerts []struct{ ID string } `json:"alerts"`
			}
			s.get("/api/v1/alerts?limit=1", &page)
			if len(page.Alerts) > 0 {
				first = page.Alerts[0].ID
			}
			time.Sleep(50 * time.Millisecond)
		}
		if first == "" {
			t.Fatalf("the fire task raised no alert\n%s", s.logs)
		}
		seen := time.Now()
		admin.wait(fmt.Sprintf(`document.querySelector('[data-testid=alert-marker][data-id=%s]')`, jsString(first)), 2*time.Second, "the alert on the map")
		t.Logf("alert %s on the map %v after the API had it", first, time.Since(seen).Round(10*time.Millisecond))
		admin.do(clickQ(fmt.Sprintf(`[data-testid=alert-marker][data-id=%s]`, jsString(first))))
		admin.wait(`(document.querySelector('[data-testid=alert-snapshot]')?.src || '').startsWith('blob:')`, 10*time.Second, "the alert's snapshot")
		// a second map, open on the same alert in another tab, sees the acknowledgement live
		marker := fmt.Sprintf(`[data-testid=alert-marker][data-id=%s]`, jsString(first))
		op.goTo("map", `[data-testid=live].on`)
		op.wait(`document.querySelector('`+marker+`')`, 5*time.Second, "the alert on the second map")
		op.do(clickQ(marker))
		op.wait(`document.querySelector('[data-testid=ack]')`, 5*time.Second, "the second map's acknowledge button")
		// acknowledge it from the panel: the panel then names who, and the API has it
		admin.do(clickQ(`[data-testid=ack]`))
		admin.wait(`(document.querySelector('[data-testid=alert-ack]')?.textContent || '').startsWith('admin · ')`, 5*time.Second, "the acknowledgement in the panel")
		var acked struct {
			AckedBy string `json:"acked_by"`
		}
		if s.get("/api/v1/alerts/"+first, &acked); acked.AckedBy != "admin" {
			t.Errorf("the console's acknowledgement did not reach the API: %+v", acked)
		}
		acks := time.Now()
		op.wait(`(document.querySelector('[data-testid=alert-ack]')?.textContent || '').startsWith('admin · ') && document.querySelector('`+marker+`').classList.contains('acked')`,
			2*time.Second, "the acknowledgement pushed to the other open map")
		t.Logf("acknowledgement on the other map %v after the API had it", time.Since(acks).Round(10*time.Millisecond))
		admin.shot("09-map")
	})

	run("department B never sees department A's unshared camera", func(t *testing.T) {
		tr := b.open(tokens["tr1"])
		for _, route := range []string{"overview", "cameras", "tasks", "captures", "map"} {
			tr.goTo(route, `main h2`)
			time.Sleep(500 * time.Millisecond) // let the page's reads land
			if txt := tr.text(); strings.Contains(txt, unsharedCam) || strings.Contains(txt, unsharedNm) {
				t.Errorf("%s shows police's unshared camera to traffic:\n%s", route, txt)
			}
			var devices []string
			tr.eval(`[...document.querySelectorAll('[data-device]')].map(e => e.dataset.device)`, &devices)
			if slices.Contains(devices, unsharedCam) {
				t.Errorf("%s places the unshared camera on the map", route)
			}
		}
		tr.goTo("cameras", `[data-testid=cameras]`)
		if txt := tr.text(); !strings.Contains(txt, "后山林区") {
			t.Errorf("traffic does not see police's unconditionally shared camera:\n%s", txt)
		}
		tr.goTo("cameras/"+unsharedCam, `main`)
		tr.wait(`document.querySelector('main .form-error')`, 10*time.Second, "the refusal")
		if txt := tr.text(); strings.Contains(txt, unsharedNm) {
			t.Errorf("the unshared camera's page opens for traffic:\n%s", txt)
		}
	})

	run("vendor uploads a model, watches validation reach the report and requests publishing; the admin approves", func(t *testing.T) {
		m, dir, err := testdata.Repository().Resolve("blazeface-back", "")
		if err != nil {
			t.Fatalf("%v (run make setup)", err)
		}
		m.Vendor, m.Version, m.SHA256 = "acme", "9.0.0", ""
		raw, _ := json.Marshal(m)
		manifest := filepath.Join(t.TempDir(), "manifest.json")
		os.WriteFile(manifest, raw, 0o644)
		ven := b.open(tokens["ven1"])
		ven.goTo("warehouse", `[data-testid=upload]`)
		ven.setFile(`[data-testid=manifest]`, manifest)
		ven.setFile(`[data-testid=model-file]`, filepath.Join(dir, m.File))
		ven.do(clickQ(`[data-testid=upload]`))
		ven.wait(`document.querySelector('[data-testid=progress]')`, 20*time.Second, "the progress bar")
		// the page polls the version while it validates; the test records what it shows
		var seen []string
		deadline := time.Now().Add(90 * time.Second)
		for time.Now().Before(deadline) {
			var done bool // read first: the progress read next is then at least as new
			ven.eval(`['validated', 'rejected'].includes(document.querySelector('[data-testid=validation]')?.dataset.state)`, &done)
			var p string
			ven.eval(`(document.querySelector('[data-testid=progress]') || {}).textContent || ''`, &p)
			if len(seen) == 0 || seen[len(seen)-1] != p {
				seen = append(seen, p)
			}
			if done {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		ven.wait(`document.querySelector('[data-testid=report]') && document.querySelector('[data-testid=benchmark]')`, time.Second, "the report and benchmark once validation ended")
		if len(seen) < 2 || seen[len(seen)-1] != "100%" {
			t.Errorf("progress seen %v, want it to move and end at 100%%", seen)
		}
		if txt := ven.text(); !strings.Contains(txt, "验证通过") {
			t.Errorf("the report does not say the package passed:\n%s", txt)
		}
		t.Logf("validation progress as the vendor saw it: %v", seen)
		// the vendor requests publishing; the platform admin approves it from the console
		ven.do(clickQ(`[data-testid=publish]`))
		ven.wait(`document.body.innerText.includes('待平台审批')`, 10*time.Second, "the publish request")
		admin.goTo("warehouse/acme/blazeface-back/9.0.0", `[data-testid=reject-publish]`)
		admin.do(clickQ(`[data-testid=publish]`))
		admin.wait(`document.querySelector('[data-testid=validation]')?.dataset.state === 'published'`, 10*time.Second, "the approved version published")
		// the vendor's open page follows its request to the decision
		ven.wait(`document.querySelector('[data-testid=validation]')?.dataset.state === 'published'`, 10*time.Second, "the approval on the vendor's open page")
		ven.shot("10-warehouse")
	})

	run("overview and the English switch", func(t *testing.T) {
		admin.goTo("overview", `[data-testid=records-per-hour]`)
		var n string
		admin.eval(`document.querySelector('[data-testid=cameras-total] .value').textContent`, &n)
		if n != "2" {
			t.Errorf("overview counts %s cameras, want 2", n)
		}
		// the recorded 7-day online rate, as the API computes it over every camera
		var rates struct {
			Rates []struct {
				OnlineMS   float64 `json:"online_ms"`
				ObservedMS float64 `json:"observed_ms"`
			} `json:"rates"`
		}
		s.get("/api/v1/online-rate?by=department", &rates)
		var on, seen float64
		for _, r := range rates.Rates {
			on, seen = on+r.OnlineMS, seen+r.ObservedMS
		}
		want := "—"
		if seen > 0 {
			want = strings.TrimSuffix(strconv.FormatFloat(100*on/seen, 'f', 1, 64), ".0") + "%"
		}
		admin.wait(`document.querySelector('[data-testid=online-rate-7d] .value')?.textContent === `+jsString(want), 5*time.Second, "the 7-day online rate "+want)
		admin.wait(`document.querySelector('[data-testid=online-rate-today] .value')`, time.Second, "today's online rate")
		// the algorithms' outputs, the signed-in user and department read in the UI's language
		const labels = `[data-testid=algorithms] td, [data-testid=who] span span`
		if bad := admin.untranslated(labels, true); len(bad) > 0 {
			t.Errorf("English left in the Chinese overview: %q", bad)
		}
		admin.shot("02-overview")
		admin.do(clickQ(`[data-testid=lang]`))
		admin.wait(`document.querySelector('[data-testid=nav-overview]').textContent === 'Overview'`, 5*time.Second, "English menus")
		admin.wait(`document.querySelector('[data-testid=algorithms] th')?.textContent === 'algorithm'`, 10*time.Second, "the English overview")
		if bad := admin.untranslated(`[data-testid=algorithms] td`, false); len(bad) > 0 {
			t.Errorf("Chinese left in the English overview's algorithms: %q", bad)
		}
		admin.do(clickQ(`[data-testid=lang]`))
	})
}
