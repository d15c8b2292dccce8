package workers

import (
	"context"
	"image"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/testdata"
	"github.com/cityeye/cityeye/testdata/testkit"
)

// BenchmarkBatching8Streams: 8 streams share one nanodet (each stream a sender that
// waits for its frame's result before sending the next, as a pipeline does), at
// max_batch 1, 2, 4 and 8 side by side in one run. Reported per setting: frames per
// second of process CPU (the machine's cost per frame), wall frames/s, the mean batch,
// the p99 added queue wait (the time the batcher held a frame for more) and its bound.
//
//	go test -run '^$' -bench Batching8Streams -benchtime 240x ./workers/
func BenchmarkBatching8Streams(b *testing.B) {
	m := testdata.Model(b, "nanodet")
	src := gocv.IMRead(testdata.Media(b, "dog.jpg"), gocv.IMReadColor)
	defer src.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	gocv.Resize(src, &frame, frame720p, 0, 0, gocv.InterpolationCubic)
	const streams, maxWait = 8, 10 * time.Millisecond
	for _, mb := range []int{1, 2, 4, 8} {
		b.Run("max_batch="+strconv.Itoa(mb), func(b *testing.B) {
			bt := NewBatcherCap(m, maxWait, mb)
			defer bt.Close()
			var left atomic.Int64
			left.Store(int64(b.N))
			var wg sync.WaitGroup
			cpu0, t0 := testkit.CPUTime(), time.Now()
			for s := range streams {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for left.Add(-1) >= 0 {
						if _, err := bt.Detect(context.Background(), strconv.Itoa(s), frame); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			cpu, wall := testkit.CPUTime()-cpu0, time.Since(t0)
			st := bt.Stats()
			b.ReportMetric(float64(b.N)/cpu.Seconds(), "frames/cpu-s")
			b.ReportMetric(float64(b.N)/wall.Seconds(), "frames/s")
			b.ReportMetric(st.MeanBatch, "mean-batch")
			b.ReportMetric(st.AddedWaitP99Sec*1e3, "p99-added-wait-ms")
			b.ReportMetric(st.MaxWaitSec*1e3, "bound-ms")
			b.Logf("max_batch %d: batch sizes %v, mean queue wait %.1f ms", mb, st.BatchSizes, st.WaitSec/float64(st.Frames)*1e3)
		})
	}
}

var frame720p = image.Pt(1280, 720)
