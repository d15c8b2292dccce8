package workers

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/netguard"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/testdata"
	"github.com/cityeye/cityeye/testdata/rtsp"
	"github.com/cityeye/cityeye/testdata/testkit"
)

// A camera no pipeline decodes gives one key frame on request: viewers at once and
// within Every share one stream open; the next grab opens it again; the outbound
// guard decides which addresses may be opened at all, before any connection.
func TestGrabberKeyFrame(t *testing.T) {
	cam := rtsp.Start(t, testkit.FreeAddr(), rtsp.Clip(t, testdata.Media(t, "faceclip.mp4")))
	st := store.Stream{ID: "44150200001310000001", URL: cam.URL()}
	g := &Grabber{Guard: netguard.MustNew("127.0.0.1/32"), Every: 2 * time.Second}
	ctx := context.Background()

	var wg sync.WaitGroup
	got := make([][]byte, 3)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, at, err := g.KeyFrame(ctx, st)
			if err != nil || time.Since(at) > 5*time.Second {
				t.Errorf("viewer %d: %v, frame at %v", i, err, at)
			}
			got[i] = b
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	m, err := gocv.IMDecode(got[0], gocv.IMReadColor)
	if err != nil || m.Cols() != 640 || m.Rows() != 480 {
		t.Fatalf("key frame %dx%d: %v", m.Cols(), m.Rows(), err)
	}
	m.Close()
	if b, _, _ := g.KeyFrame(ctx, st); string(b) != string(got[0]) || string(got[1]) != string(got[0]) || string(got[2]) != string(got[0]) {
		t.Error("viewers within Every got different frames")
	}
	if n := cam.Plays(); n != 1 {
		t.Fatalf("four viewers opened the camera %d times, want once", n)
	}
	time.Sleep(g.Every)
	if _, _, err := g.KeyFrame(ctx, st); err != nil || cam.Plays() != 2 {
		t.Fatalf("after Every: %v, %d opens, want a second one", err, cam.Plays())
	}

	// loopback not admitted: refused before connecting
	strict := &Grabber{Guard: netguard.MustNew()}
	if _, _, err := strict.KeyFrame(ctx, store.Stream{ID: "44150200001310000002", URL: cam.URL()}); !errors.Is(err, ErrAddressRefused) || cam.Plays() != 2 {
		t.Fatalf("loopback camera without loopback allowed: %v, %d opens", err, cam.Plays())
	}
	// a private address the tests never contact: refused at once, not after a timeout
	t0 := time.Now()
	if _, _, err := g.KeyFrame(ctx, store.Stream{ID: "44150200001310000003", URL: "rtsp://10.0.0.1/x"}); !errors.Is(err, ErrAddressRefused) || time.Since(t0) > time.Second {
		t.Fatalf("rtsp://10.0.0.1: %v after %v", err, time.Since(t0))
	}
	// a file outside the import folders is not opened
	if _, _, err := g.KeyFrame(ctx, store.Stream{ID: "44150200001310000004", URL: "file://" + testdata.Media(t, "faceclip.mp4")}); err == nil {
		t.Fatal("a file outside the import folders gave a frame")
	}
}

// At most Limit grabs run at once: another camera meanwhile is told to come back.
func TestGrabberLimit(t *testing.T) {
	cam := rtsp.Start(t, testkit.FreeAddr(), rtsp.Clip(t, testdata.Media(t, "faceclip.mp4")))
	cam.Pause() // the stream opens but sends nothing: the grab holds its slot
	g := &Grabber{Guard: netguard.MustNew("127.0.0.1/32"), Limit: 1, Timeout: 2 * time.Second}
	done := make(chan error)
	go func() {
		_, _, err := g.KeyFrame(context.Background(), store.Stream{ID: "44150200001310000001", URL: cam.URL()})
		done <- err
	}()
	testkit.WaitFor(t, 5*time.Second, "the first grab playing the stream", func() bool { return cam.Plays() == 1 })
	if _, _, err := g.KeyFrame(context.Background(), store.Stream{ID: "44150200001310000002", URL: cam.URL()}); !errors.Is(err, ErrGrabBusy) {
		t.Errorf("a second camera while the limit is reached: %v", err)
	}
	if err := <-done; err == nil {
		t.Error("a stalled camera gave a frame")
	} else {
		t.Logf("stalled camera: %v", err)
	}
}
