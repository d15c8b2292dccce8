package track

import (
	"testing"
	"time"

	"github.com/cityeye/cityeye/models/decode"
)

func det(x float32, class int) decode.Detection {
	return decode.Detection{Box: decode.Box{X1: x, Y1: 0, X2: x + 10, Y2: 10}, Class: class, Score: 0.9}
}

func TestTrackerFollowsAndEnds(t *testing.T) {
	tr := New(0.3, time.Second)
	t0 := time.Unix(0, 0)
	a, _ := tr.Update(t0, []decode.Detection{det(0, 0), det(100, 0)})
	if a[0].ID == a[1].ID {
		t.Fatal("two objects share a track")
	}
	// both move 2px; a third object of another class appears on top of the first
	b, _ := tr.Update(t0.Add(100*time.Millisecond), []decode.Detection{det(102, 0), det(2, 0), det(2, 1)})
	if b[0].ID != a[1].ID || b[1].ID != a[0].ID || b[2].ID == a[0].ID || b[1].Hits != 2 {
		t.Fatalf("matching wrong: %+v %+v", a, b)
	}
	// object at 100 leaves; it ends after MaxAge, not before
	_, ended := tr.Update(t0.Add(600*time.Millisecond), []decode.Detection{det(4, 0)})
	if len(ended) != 0 {
		t.Fatal("ended too early")
	}
	_, ended = tr.Update(t0.Add(1200*time.Millisecond), []decode.Detection{det(6, 0)})
	if len(ended) != 2 { // the object at 100 and the class-1 object
		t.Fatalf("ended %d, want 2", len(ended))
	}
	if tr.Live() != 1 || len(tr.Flush()) != 1 || tr.Live() != 0 {
		t.Fatal("flush")
	}
}
