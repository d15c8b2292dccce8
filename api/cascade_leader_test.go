package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cityeye/cityeye/api"
	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/scheduler"
	"github.com/cityeye/cityeye/testdata/testkit"
)

// superiorLog is a superior view library that takes everything and counts what
// reaches it: sign-ins and sign-outs, and each face by ID.
type superiorLog struct {
	mu         sync.Mutex
	register   int
	unregister int
	faces      map[string]int
}

func (s *superiorLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var env struct {
		FaceListObject struct{ FaceObject []gat1400.Face }
	}
	json.Unmarshal(b, &env)
	s.mu.Lock()
	switch r.URL.Path {
	case "/VIID/System/Register":
		s.register++
	case "/VIID/System/UnRegister":
		s.unregister++
	}
	for _, fc := range env.FaceListObject.FaceObject {
		s.faces[fc.FaceID]++
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/VIID+JSON")
	w.Write([]byte(`{}`))
}

func (s *superiorLog) counts(face string) (register, unregister, pushes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.register, s.unregister, s.faces[face]
}

// Gap 1 of the HA work: two API servers on one database run the cascade runner,
// but only the scheduler leader runs the links: the superior sees one sign-in, and
// the follower runs nothing. When the lead moves (the leader died), the new leader
// signs in and pushes what came since; the old one stops without signing out the
// device the new leader now speaks for.
func TestCascadeRunsOnTheSchedulerLeaderOnly(t *testing.T) {
	sup := &superiorLog{faces: map[string]int{}}
	up := httptest.NewServer(sup)
	t.Cleanup(up.Close)
	f := newFixture(t)
	c1, c2 := scheduler.NewCluster(2*time.Second), scheduler.NewCluster(2*time.Second)
	c1.Lead(1)
	c2.Follow()
	f.srv.Cluster = c1
	second, _ := f.secondServer(func(s *api.Server) { s.Cluster = c2 })
	cam := f.viidPeer(t)
	cam.register("s3cret-pass", false)
	id := f.must("POST", "/api/v1/cascade/links", "admin", strings.Replace(cascadeLinkBody(up.URL), `"sharing":[1],`, "", 1), 201)["link"].(map[string]any)["id"].(string)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.srv.RunCascade(ctx, 50*time.Millisecond)
	second.RunCascade(ctx, 50*time.Millisecond)

	shot := time.Date(2026, 11, 22, 9, 0, 0, 0, gat1400.Location)
	push := func(serial int) string {
		face := viidFace(t, "44150200001190000007", shot, serial)
		cam.do("POST", "/VIID/Faces", faceList(face))
		testkit.WaitFor(t, 10*time.Second, "face "+face.FaceID+" at the superior", func() bool {
			_, _, n := sup.counts(face.FaceID)
			return n > 0
		})
		time.Sleep(300 * time.Millisecond) // six passes of each server: a second pusher would show
		return face.FaceID
	}
	first := push(1)
	if reg, _, n := sup.counts(first); reg != 1 || n != 1 {
		t.Fatalf("with one leader the superior saw %d sign-ins and face pushed %d times, want 1 and 1", reg, n)
	}
	if v := f.must("GET", "/api/v1/cascade/links/"+id, "admin", "", 200); v["runs_here"] != true {
		t.Errorf("the leader's view of the link: %v", v)
	}

	// the lead moves to the second server
	c1.Follow()
	c2.Lead(2)
	second2 := push(2)
	reg, unreg, n := sup.counts(second2)
	if reg != 2 || n != 1 {
		t.Errorf("after the lead moved the superior saw %d sign-ins (want 2: the new leader's) and the new face %d times (want 1)", reg, n)
	}
	if unreg != 0 {
		t.Errorf("the old leader signed the device out (%d UnRegister): that ends the new leader's session", unreg)
	}
	if v := f.must("GET", "/api/v1/cascade/links/"+id, "admin", "", 200); v["runs_here"] != false || v["status"].(map[string]any)["registered"] != false {
		t.Errorf("the old leader's view of the link: %v", v)
	}
	// removed on the follower: the leader signs the device out
	f.must("DELETE", "/api/v1/cascade/links/"+id, "admin", "", 204)
	testkit.WaitFor(t, 5*time.Second, "the leader signing out the removed link", func() bool {
		_, unreg, _ := sup.counts("")
		return unreg == 1
	})
}
