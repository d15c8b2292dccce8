package main

import (
	"strings"
	"testing"
	"time"
)

// The cascade page for the platform admin (issue 21 in the console): a link added
// from the form (an empty form's error next to the field the API names) registers
// with a real superior process and shows so; a second link with a wrong password
// stays unregistered with the superior's refusal as its last error; pausing a link
// shows it paused and the API has it disabled. Screenshot: 16-cascade.
func TestConsoleCascadeLinks(t *testing.T) {
	city := startServer(t, t.TempDir())
	city.post("/api/v1/departments", map[string]any{"id": "city", "name": "City bureau", "areas": []string{"441500"}})
	city.post("/api/v1/users", map[string]any{"id": "district", "name": "District platform", "department": "city", "role": "operator"})
	city.post("/api/v1/viid/peers", map[string]any{"device_id": districtLib, "username": "district-lib", "user_id": "district", "password": "district-pass-1"})
	dist := startServer(t, t.TempDir(), "--outbound-allow", "127.0.0.1")

	b := newBrowser(t, dist.url)
	admin := b.open(dist.token)
	admin.goTo("cascade", `[data-testid=cas-create]`)
	if bad := admin.untranslated(`[data-testid=cas-form] label.check`, true); len(bad) > 0 {
		t.Errorf("record types not in Chinese on the cascade form: %q", bad)
	}
	admin.do(clickQ(`[data-testid=cas-create]`))
	admin.wait(`document.querySelector('[data-field=name] .error')?.textContent.includes('name')`, 5*time.Second, "the error next to name")
	add := func(name, password string) {
		fill := map[string]string{"name": name, "url": city.url, "device_id": districtLib, "username": "district-lib", "password": password, "keepalive_s": "1"}
		for k, v := range fill {
			admin.eval(`(() => { document.querySelector('[data-testid=cas-form] [name=`+k+`]').value = `+jsString(v)+`; return true })()`, new(bool))
		}
		admin.do(clickQ(`[data-testid=cas-create]`))
		admin.wait(`[...document.querySelectorAll('[data-testid=cascade-links] b')].some(e => e.textContent === `+jsString(name)+`)`, 10*time.Second, "the link "+name+" listed")
	}
	add("市级平台", "district-pass-1")
	add("错误密码", "wrong-pass")
	var links struct {
		Links []struct {
			Link struct{ ID, Name string } `json:"link"`
		} `json:"links"`
	}
	dist.get("/api/v1/cascade/links", &links)
	ids := map[string]string{}
	for _, l := range links.Links {
		ids[l.Link.Name] = l.Link.ID
	}
	state := func(name string) string {
		return `document.querySelector('[data-testid=cas-status][data-id=` + jsString(ids[name]) + `]')?.dataset.state`
	}
	admin.wait(state("市级平台")+` === 'registered'`, 20*time.Second, "the link registered with the superior")
	admin.wait(state("错误密码")+` === 'unregistered' && document.querySelector('[data-testid=cas-error]')?.textContent.length > 0`, 20*time.Second, "the refused link's last error")
	admin.eval(`(() => { window.scrollTo(0, 0); return true })()`, new(bool))
	admin.shot("16-cascade")
	admin.eval(`(() => { const row = document.querySelector('[data-testid=cas-status][data-id=`+jsString(ids["错误密码"])+`]').closest('tr'); row.querySelector('[data-testid=cas-toggle]').click(); return true })()`, new(bool))
	admin.wait(state("错误密码")+` === 'paused'`, 10*time.Second, "the paused link")
	var one struct {
		Link struct{ Enabled bool } `json:"link"`
	}
	if dist.get("/api/v1/cascade/links/"+ids["错误密码"], &one); one.Link.Enabled {
		t.Errorf("pausing from the console left the link enabled")
	}
	if txt := admin.text(); !strings.Contains(txt, "已注册") || !strings.Contains(txt, "已暂停") {
		t.Errorf("the page does not say registered and paused:\n%s", txt)
	}
	admin.do(clickQ(`[data-testid=lang]`))
	admin.wait(`document.querySelector('[data-testid=nav-cascade]').textContent === 'Cascade' && document.body.innerText.includes('registered')`, 5*time.Second, "the page in English")
	admin.do(clickQ(`[data-testid=lang]`))
}
