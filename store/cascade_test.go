package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestCascadeFeedRulesAndOutbox(t *testing.T) { forEachBackend(t, testCascadeFeedRulesAndOutbox) }

// A link's feed takes only what its rules allow (type, area, the camera's sharing
// attribute); the outbox batch and the cursor move together, so a pass that read
// a stale cursor stores nothing; a record changed after it went up comes again as
// an update, once; a record written after the settle bound waits.
func testCascadeFeedRulesAndOutbox(t *testing.T, db *DB) {
	ctx := context.Background()
	for _, st := range []Stream{{ID: "44150200001310000001", AdminDivision: "441502", Sharing: 1}, {ID: "44150200001310000002", AdminDivision: "441502", Sharing: 2}} {
		st.Name, st.URL, st.OwnerDept = "cam", "rtsp://127.0.0.1/x", "police"
		if err := db.CreateStream(ctx, &st); err != nil {
			t.Fatal(err)
		}
	}
	l := &CascadeLink{ID: "l1", Name: "city", URL: "http://city.example", DeviceID: "44150200005030000002", Username: "u", Password: "p",
		Types: []string{"Face"}, Areas: []string{"441502"}, Sharing: []int{1}, KeepaliveS: 30, Enabled: true}
	if err := db.CreateCascadeLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // records come after the link's start
	save := func(id, typ, dev, div, body string) {
		t.Helper()
		if _, err := db.SaveRecord(ctx, &Record{ID: id, Type: typ, DeviceID: dev, TaskID: "t", DeptID: "police", Division: div, TrackKey: "k" + id,
			ShotTime: time.Now(), Body: json.RawMessage(body), Images: []string{}}); err != nil {
			t.Fatal(err)
		}
	}
	save("a-in", "Face", "44150200001310000001", "441502", `{"v":1}`)
	save("b-notshared", "Face", "44150200001310000002", "441502", `{}`)
	save("c-person", "Person", "44150200001310000001", "441502", `{}`)
	save("d-area", "Face", "44150300001310000003", "441503", `{}`)
	save("e-nocamera", "Face", "44150200001190000009", "441502", `{}`)
	read := func() (CascadeLink, FeedPage) {
		t.Helper()
		link, err := db.GetCascadeLink(ctx, "l1")
		if err != nil || link.Password != "p" {
			t.Fatalf("link: %+v %v", link, err)
		}
		page, err := db.ReadFeed(ctx, link.Feed(time.Now().Add(time.Millisecond), 10))
		if err != nil {
			t.Fatal(err)
		}
		return link, page
	}
	ids := func(rs []Record) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	link, page := read()
	if !slices.Equal(ids(page.Added), []string{"a-in"}) || len(page.Updated) != 0 {
		t.Fatalf("first pass: added %v updated %v", ids(page.Added), ids(page.Updated))
	}
	if err := db.CascadeDispatch(ctx, link, &CascadeBatch{ID: "b1", Adds: ids(page.Added)}, page.Next); err != nil {
		t.Fatal(err)
	}
	// a second pass that read the cursor before the first moved it stores nothing
	if err := db.CascadeDispatch(ctx, link, &CascadeBatch{ID: "b2", Adds: ids(page.Added)}, page.Next); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale pass: %v", err)
	}
	if bs, _ := db.ListCascadeBatches(ctx, "l1", "", 10); len(bs) != 1 || bs[0].ID != "b1" {
		t.Fatalf("outbox after a stale pass: %+v", bs)
	}
	if _, page = read(); len(page.Added)+len(page.Updated) != 0 {
		t.Fatalf("nothing new, yet: added %v updated %v", ids(page.Added), ids(page.Updated))
	}
	time.Sleep(5 * time.Millisecond)
	save("a-in", "Face", "44150200001310000001", "441502", `{"v":2}`)
	link, page = read()
	if len(page.Added) != 0 || !slices.Equal(ids(page.Updated), []string{"a-in"}) || string(page.Updated[0].Body) != `{"v":2}` {
		t.Fatalf("after the change: added %v updated %v", ids(page.Added), ids(page.Updated))
	}
	if err := db.CascadeDispatch(ctx, link, &CascadeBatch{ID: "b3", Updates: ids(page.Updated)}, page.Next); err != nil {
		t.Fatal(err)
	}
	if _, page = read(); len(page.Added)+len(page.Updated) != 0 {
		t.Fatalf("the change went up twice: added %v updated %v", ids(page.Added), ids(page.Updated))
	}
	// the settle bound: a record written after it waits for the next pass
	link, _ = read()
	save("f-late", "Face", "44150200001310000001", "441502", `{}`)
	if page, _ := db.ReadFeed(ctx, link.Feed(time.Now().Add(-time.Hour), 10)); len(page.Added) != 0 {
		t.Fatalf("a record after the settle bound was taken: %v", ids(page.Added))
	}
	next, err := db.NextCascadeBatch(ctx, "l1")
	if err != nil || next.ID != "b1" {
		t.Fatalf("oldest pending: %+v %v", next, err)
	}
	db.CascadeAttempt(ctx, "b1", errors.New("down"), nil)
	db.CascadeAttempt(ctx, "b1", nil, []string{"a-in"})
	if c, _ := db.CascadeCounts(ctx, "l1"); c.Pending != 1 || c.Delivered != 1 || c.Attempts != 2 {
		t.Fatalf("counts: %+v", c)
	}
	if err := db.DeleteCascadeLink(ctx, "l1"); err != nil {
		t.Fatal(err)
	}
	if bs, _ := db.ListCascadeBatches(ctx, "l1", "", 10); len(bs) != 0 {
		t.Fatalf("batches left after the link was removed: %d", len(bs))
	}
}
