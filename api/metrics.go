package api

import (
	"context"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics exposes the live state in the Prometheus text format. It reads the
// worker, scheduler and database at scrape time, so nothing on the frame path pays
// for it: per stream decode rate, frames, drops and state; per task analysed frames,
// captures, alerts and granted fps; per model frames, batches, busy time and mean
// batch; degraded and suspended tasks; records by type.
type metrics struct{ s *Server }

var (
	mStreamFPS     = prometheus.NewDesc("cityeye_stream_decode_fps", "Decoded frames per second over the last ~2 s.", []string{"device_id"}, nil)
	mStreamFrames  = prometheus.NewDesc("cityeye_stream_frames_total", "Frames decoded.", []string{"device_id"}, nil)
	mStreamDropped = prometheus.NewDesc("cityeye_stream_dropped_frames_total", "Frames dropped because analysis fell behind (latest frame wins).", []string{"device_id"}, nil)
	mStreamUp      = prometheus.NewDesc("cityeye_stream_online", "1 while the stream delivers frames.", []string{"device_id", "state"}, nil)
	mTaskFrames    = prometheus.NewDesc("cityeye_task_frames_analysed_total", "Frames a task analysed.", []string{"task_id", "algorithm"}, nil)
	mTaskCaptures  = prometheus.NewDesc("cityeye_task_captures_total", "Records written by a task.", []string{"task_id", "algorithm"}, nil)
	mTaskAlerts    = prometheus.NewDesc("cityeye_task_alerts_total", "Alerts raised by a task.", []string{"task_id", "algorithm"}, nil)
	mTaskFPS       = prometheus.NewDesc("cityeye_task_granted_fps", "Frame rate the scheduler granted a task.", []string{"task_id"}, nil)
	mTasksState    = prometheus.NewDesc("cityeye_tasks", "Tasks by scheduling state (running, degraded, suspended, disabled).", []string{"state"}, nil)
	mModelFrames   = prometheus.NewDesc("cityeye_model_frames_total", "Frames a model analysed.", []string{"model", "version", "provider"}, nil)
	mModelBatches  = prometheus.NewDesc("cityeye_model_batches_total", "Inference calls (batches) of a model.", []string{"model", "version", "provider"}, nil)
	mModelBusy     = prometheus.NewDesc("cityeye_model_busy_seconds_total", "Time spent in a model's inference; busy/elapsed is its device utilisation.", []string{"model", "version", "provider"}, nil)
	mModelBatch    = prometheus.NewDesc("cityeye_model_mean_batch", "Mean batch size so far.", []string{"model", "version", "provider"}, nil)
	mModelSwaps    = prometheus.NewDesc("cityeye_model_swaps_total", "Hot swaps to a newly published version.", []string{"model"}, nil)
	mRecords       = prometheus.NewDesc("cityeye_records", "Stored GA/T 1400 records by type.", []string{"type"}, nil)
)

func (m metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{mStreamFPS, mStreamFrames, mStreamDropped, mStreamUp, mTaskFrames, mTaskCaptures, mTaskAlerts, mTaskFPS,
		mTasksState, mModelFrames, mModelBatches, mModelBusy, mModelBatch, mModelSwaps, mRecords} {
		ch <- d
	}
}

func (m metrics) Collect(ch chan<- prometheus.Metric) {
	g := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	c := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, l...)
	}
	if m.s.Worker != nil {
		for id, st := range m.s.Worker.Status() {
			g(mStreamFPS, st.Source.FPSIn, id)
			c(mStreamFrames, float64(st.Source.Frames), id)
			c(mStreamDropped, float64(st.Source.Dropped), id)
			up := 0.0
			if st.Source.State == "online" {
				up = 1
			}
			g(mStreamUp, up, id, string(st.Source.State))
			for _, t := range st.Tasks {
				c(mTaskFrames, float64(t.Frames), t.TaskID, t.Algorithm)
				c(mTaskCaptures, float64(t.Captures), t.TaskID, t.Algorithm)
				c(mTaskAlerts, float64(t.Alerts), t.TaskID, t.Algorithm)
			}
		}
		for _, b := range m.s.Worker.Batchers() {
			c(mModelFrames, float64(b.Frames), b.Model, b.Version, b.Provider)
			c(mModelBatches, float64(b.Batches), b.Model, b.Version, b.Provider)
			c(mModelBusy, b.BusySec, b.Model, b.Version, b.Provider)
			g(mModelBatch, b.MeanBatch, b.Model, b.Version, b.Provider)
			c(mModelSwaps, float64(b.Swaps), b.Model)
		}
	}
	if m.s.Scheduler != nil {
		states := map[string]float64{"running": 0, "degraded": 0, "suspended": 0, "disabled": 0}
		for id, gr := range m.s.Scheduler.Grants() {
			g(mTaskFPS, gr.GrantedFPS, id)
			switch {
			case gr.Reason == "disabled":
				states["disabled"]++
			case strings.HasPrefix(gr.Reason, "suspended") || gr.GrantedFPS == 0:
				states["suspended"]++
			case gr.Degraded:
				states["degraded"]++
			default:
				states["running"]++
			}
		}
		for st, n := range states {
			g(mTasksState, n, st)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if counts, err := m.s.DB.CountRecords(ctx); err == nil {
		for typ, n := range counts {
			g(mRecords, float64(n), typ)
		}
	}
}

// serveMetrics answers GET /metrics (Prometheus scrapes it with a bearer token).
func serveMetrics(s *Server, c *gin.Context) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics{s}, prometheus.NewGoCollector())
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(c.Writer, c.Request)
}
