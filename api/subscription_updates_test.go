package api_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cityeye/cityeye/gat1400"
)

// Issue 21 item 5: a record that changes after it was sent (a better shot, a
// disappear time) reaches the subscriber once more, marked ExecuteOperation 2 and
// carrying the new version; a record that does not change is not sent again.
func TestSubscriberReceivesUpdatesOnce(t *testing.T) {
	f := newFixture(t)
	v := f.viidPeer(t)
	v.register("s3cret-pass", false)
	rcv := newReceiver(t)
	const dev = "44150200001190000007"
	subID := gat1400.BusinessID("441502000000", gat1400.BusinessSubscribe, time.Now().In(gat1400.Location), 3)
	if code, out := v.do("POST", "/VIID/Subscribes", map[string]any{"SubscribeListObject": map[string]any{"SubscribeObject": []any{map[string]any{
		"SubscribeID": subID, "Title": "faces", "SubscribeDetail": "12", "ResourceURI": dev,
		"ReceiveAddr": rcv.URL + "/VIID/SubscribeNotifications", "ReportInterval": 1, "OperateType": 0}}}}); code != 200 || statuses(t, out)[0]["StatusCode"] != 0.0 {
		t.Fatalf("subscribe: %d %v", code, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := f.srv.RunNotifier(ctx, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	shot := time.Date(2026, 11, 22, 9, 0, 0, 0, gat1400.Location)
	changing, still := viidFace(t, dev, shot, 1), viidFace(t, dev, shot, 2)
	v.do("POST", "/VIID/Faces", faceList(changing, still))
	received := func(id string, n int) []int {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			rcv.mu.Lock()
			got := slices.Clone(rcv.ops[id])
			rcv.mu.Unlock()
			if len(got) >= n {
				return got
			}
		}
		t.Fatalf("record %s not received %d times", id, n)
		return nil
	}
	received(changing.FaceID, 1)
	received(still.FaceID, 1)

	// the face leaves the scene: the same FaceID comes in again with its disappear time
	changing.FaceDisAppearTime = gat1400.FormatTime(shot.Add(40 * time.Second))
	changing.Name = "better shot"
	v.do("POST", "/VIID/Faces", faceList(changing))
	ops := received(changing.FaceID, 2)
	time.Sleep(2500 * time.Millisecond) // a third delivery, or one of the unchanged face, would show now
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if !slices.Equal(rcv.ops[changing.FaceID], []int{1, 2}) {
		t.Errorf("changed face received with operations %v, want [1 2] (added, then updated once)", rcv.ops[changing.FaceID])
	}
	if !slices.Equal(rcv.ops[still.FaceID], []int{1}) {
		t.Errorf("unchanged face received with operations %v, want [1]", rcv.ops[still.FaceID])
	}
	versions := rcv.faces[changing.FaceID]
	if len(versions) != 2 || versions[1].FaceDisAppearTime != changing.FaceDisAppearTime || versions[1].Name != "better shot" || versions[0].Name != "" {
		t.Errorf("versions received: %+v (ops %v)", versions, ops)
	}
}
