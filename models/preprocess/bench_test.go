package preprocess_test

import (
	"image"
	"runtime"
	"testing"
	"time"

	"gocv.io/x/gocv"
	"golang.org/x/sys/unix"

	"github.com/cityeye/cityeye/models/preprocess"
)

// BenchmarkPreprocess720p turns a 1280×720 camera frame into a 640×640 float tensor
// (stretch, rgb, /255, NCHW). "fused" is ApplyInto with a reused tensor and Buffers,
// "before" the former path (reference), and "vs-resize" runs the fused path and bare
// OpenCV resizes of the same frame to 640×640 alternately in one loop, reporting each one's
// ms per frame and the ratios fused/resize (INTER_AREA is the resample the preprocessing
// does, INTER_LINEAR the cheapest OpenCV resize). The times are the thread's CPU time
// (the machine is shared: wall time counts other programs' turns). Run on one core:
// OPENCV_FOR_THREADS_NUM=1 taskset -c 1 go test -run '^$' -bench Preprocess720p ./models/preprocess/
func BenchmarkPreprocess720p(b *testing.B) {
	img := camera(b, "dog.jpg", 1280, 720)
	defer img.Close()
	s := preprocess.Spec{Width: 640, Height: 640, Resize: preprocess.Stretch, Color: "rgb", Layout: "nchw", Scale: 1.0 / 255}
	bufs := preprocess.NewBuffers()
	defer bufs.Close()
	dst := make([]float32, 3*640*640)
	resized := gocv.NewMat()
	defer resized.Close()
	fused := func() {
		if _, err := s.ApplyInto(dst, img, 640, 640, bufs); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("fused", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			fused()
		}
	})
	b.Run("before", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			reference(s, img, 640, 640)
		}
	})
	b.Run("vs-resize", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var tf, ta, tl time.Duration
		for i := 0; i < b.N; i++ {
			t0 := threadCPU()
			fused()
			t1 := threadCPU()
			gocv.Resize(img, &resized, image.Pt(640, 640), 0, 0, gocv.InterpolationArea)
			t2 := threadCPU()
			gocv.Resize(img, &resized, image.Pt(640, 640), 0, 0, gocv.InterpolationLinear)
			t3 := threadCPU()
			tf, ta, tl = tf+t1-t0, ta+t2-t1, tl+t3-t2
		}
		ms := func(d time.Duration) float64 { return float64(d) / float64(b.N) / 1e6 }
		b.ReportMetric(ms(tf), "fused-ms")
		b.ReportMetric(ms(ta), "area-resize-ms")
		b.ReportMetric(ms(tl), "linear-resize-ms")
		b.ReportMetric(float64(tf)/float64(ta), "fused/area")
		b.ReportMetric(float64(tf)/float64(tl), "fused/linear")
	})
}

// threadCPU is the calling thread's CPU time (OpenCV runs single-threaded here).
func threadCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
