package api

import (
	"context"
	"runtime"
	"strings"
	"time"

	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/plan"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics exposes the live state in the Prometheus text format. It reads the
// workers (the in-process one, or every remote worker's last heartbeat), scheduler
// and database at scrape time, so nothing on the frame path pays for it: per worker
// liveness, cores and GPUs (memory, engine utilisation, NVDEC/NVENC count); per stream decode rate, frames, drops and state; per task
// analysed frames, captures, alerts and granted fps; per model frames, batches, busy
// time (÷ cores: utilisation), queue wait and mean batch; degraded, suspended and
// unplaced tasks; records by type.
type metrics struct{ s *Server }

var (
	mStreamFPS      = prometheus.NewDesc("cityeye_stream_decode_fps", "Decoded frames per second over the last ~2 s.", []string{"worker", "device_id"}, nil)
	mStreamFrames   = prometheus.NewDesc("cityeye_stream_frames_total", "Frames decoded.", []string{"worker", "device_id"}, nil)
	mStreamDropped  = prometheus.NewDesc("cityeye_stream_dropped_frames_total", "Frames dropped because analysis fell behind (latest frame wins).", []string{"worker", "device_id"}, nil)
	mStreamUp       = prometheus.NewDesc("cityeye_stream_online", "1 while the stream delivers frames.", []string{"worker", "device_id", "state"}, nil)
	mTaskFrames     = prometheus.NewDesc("cityeye_task_frames_analysed_total", "Frames a task analysed.", []string{"worker", "task_id", "algorithm"}, nil)
	mTaskCaptures   = prometheus.NewDesc("cityeye_task_captures_total", "Records written by a task.", []string{"worker", "task_id", "algorithm"}, nil)
	mTaskAlerts     = prometheus.NewDesc("cityeye_task_alerts_total", "Alerts raised by a task.", []string{"worker", "task_id", "algorithm"}, nil)
	mTaskFPS        = prometheus.NewDesc("cityeye_task_granted_fps", "Frame rate the scheduler granted a task.", []string{"task_id"}, nil)
	mTasksState     = prometheus.NewDesc("cityeye_tasks", "Tasks by scheduling state (running, degraded, suspended, disabled).", []string{"state"}, nil)
	mModelFrames    = prometheus.NewDesc("cityeye_model_frames_total", "Frames a model analysed.", []string{"worker", "model", "version", "provider"}, nil)
	mModelBatches   = prometheus.NewDesc("cityeye_model_batches_total", "Inference calls (batches) of a model.", []string{"worker", "model", "version", "provider"}, nil)
	mModelBusy      = prometheus.NewDesc("cityeye_model_busy_seconds_total", "Time spent in a model's inference; busy/elapsed is its device utilisation.", []string{"worker", "model", "version", "provider"}, nil)
	mModelBatch     = prometheus.NewDesc("cityeye_model_mean_batch", "Mean batch size so far.", []string{"worker", "model", "version", "provider"}, nil)
	mModelSwaps     = prometheus.NewDesc("cityeye_model_swaps_total", "Hot swaps to a newly published version.", []string{"worker", "model"}, nil)
	mModelWait      = prometheus.NewDesc("cityeye_model_queue_wait_seconds_total", "Time frames waited for their batch, summed; ÷ frames is the mean queue wait.", []string{"worker", "model", "version", "provider"}, nil)
	mModelBatchHist = prometheus.NewDesc("cityeye_model_batch_size", "Histogram of a model's batch sizes (frames per inference call).", []string{"worker", "model", "version", "provider"}, nil)
	mModelAddedWait = prometheus.NewDesc("cityeye_model_added_wait_p99_seconds", "99th percentile of the time the batcher held a frame for more frames (last 4096 frames); stays within the configured bound.", []string{"worker", "model", "version", "provider"}, nil)
	mWorkerUp       = prometheus.NewDesc("cityeye_worker_up", "1 while a worker heartbeats (distributed), or for the in-process worker.", []string{"worker"}, nil)
	mWorkerCores    = prometheus.NewDesc("cityeye_worker_cores", "CPU cores a worker reports; rate(cityeye_model_busy_seconds_total) ÷ cores is its CPU utilisation by inference.", []string{"worker"}, nil)
	mGPUMemory      = prometheus.NewDesc("cityeye_gpu_memory_bytes", "GPU memory a worker's NVML reports, total and used.", []string{"worker", "gpu", "model", "kind"}, nil)
	mGPUUtil        = prometheus.NewDesc("cityeye_gpu_utilisation_ratio", "Share of the last NVML sample period a GPU engine was busy: sm (inference), decoder (NVDEC), encoder (NVENC), memory.", []string{"worker", "gpu", "model", "engine"}, nil)
	mGPUEngines     = prometheus.NewDesc("cityeye_gpu_engines", "Video engines of a GPU (nvdec, nvenc) the planner sizes its decode budget with.", []string{"worker", "gpu", "model", "engine"}, nil)
	mPlacement      = prometheus.NewDesc("cityeye_placement_tasks", "Tasks by placement state across remote workers (ok, degraded, rotated, unplaced); reasons in GET /api/v1/workers.", []string{"state"}, nil)
	mRecords        = prometheus.NewDesc("cityeye_records", "Stored GA/T 1400 records by type.", []string{"type"}, nil)
	mSpoolWrites    = prometheus.NewDesc("cityeye_spool_writes", "Writes (records, alerts with their snapshots) waiting in a worker's spool for storage to return.", []string{"worker"}, nil)
	mSpoolBytes     = prometheus.NewDesc("cityeye_spool_bytes", "Bytes in a worker's spool, and its limit (kind=limit): when full, new writes are refused and counted as dropped (reason=full).", []string{"worker", "kind"}, nil)
	mSpoolOldest    = prometheus.NewDesc("cityeye_spool_oldest_age_seconds", "Age of the oldest write waiting in a worker's spool (dropped past its age limit, reason=expired).", []string{"worker"}, nil)
	mSpoolEvents    = prometheus.NewDesc("cityeye_spool_writes_total", "Writes a worker queued in its spool (event=spooled) and wrote from it (event=replayed) since it started.", []string{"worker", "event"}, nil)
	mSpoolDropped   = prometheus.NewDesc("cityeye_spool_dropped_total", "Writes a worker's spool lost: full (refused), expired (past the age limit), refused (storage rejected the content), corrupt.", []string{"worker", "reason"}, nil)
	mOnlineRate     = prometheus.NewDesc("cityeye_online_rate", "Today's (China Standard Time) online time over observed time of the cameras of a department or area (target 0.95).", []string{"by", "key"}, nil)
)

func (m metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{mStreamFPS, mStreamFrames, mStreamDropped, mStreamUp, mTaskFrames, mTaskCaptures, mTaskAlerts, mTaskFPS,
		mTasksState, mModelFrames, mModelBatches, mModelBusy, mModelBatch, mModelSwaps, mModelWait, mModelBatchHist, mModelAddedWait, mWorkerUp, mWorkerCores, mGPUMemory, mGPUUtil, mGPUEngines, mPlacement, mRecords, mOnlineRate,
		mSpoolWrites, mSpoolBytes, mSpoolOldest, mSpoolEvents, mSpoolDropped} {
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
	// every worker's pipelines and models: the in-process one, or the remote ones
	type source struct {
		id       string
		up       bool
		cores    int
		status   map[string]plan.StreamStatus
		batchers []plan.BatchStats
		gpus     []plan.GPU
		spool    *plan.SpoolStats
	}
	var sources []source
	if m.s.Worker != nil {
		sources = append(sources, source{"local", true, runtime.NumCPU(), m.s.Worker.Status(), m.s.Worker.Batchers(), nil, m.s.Worker.Spool()})
	}
	if m.s.Cluster != nil && !m.s.Cluster.LocalOnly { // embedded: the one member is the worker above
		for _, mb := range m.s.Cluster.Members() {
			sources = append(sources, source{mb.ID, mb.Alive, mb.Cores, mb.Status, mb.Batchers, mb.GPUs, mb.Spool})
		}
	}
	for _, src := range sources {
		up := 0.0
		if src.up {
			up = 1
		}
		g(mWorkerUp, up, src.id)
		g(mWorkerCores, float64(src.cores), src.id)
		if sp := src.spool; sp != nil { // kept while a worker is silent: its disk still holds them
			g(mSpoolWrites, float64(sp.Writes), src.id)
			g(mSpoolBytes, float64(sp.Bytes), src.id, "used")
			g(mSpoolBytes, float64(sp.MaxBytes), src.id, "limit")
			g(mSpoolOldest, sp.OldestAgeSec, src.id)
			c(mSpoolEvents, float64(sp.Spooled), src.id, "spooled")
			c(mSpoolEvents, float64(sp.Replayed), src.id, "replayed")
			for reason, n := range map[string]int64{"full": sp.DroppedFull, "expired": sp.DroppedExpired, "refused": sp.DroppedRefused, "corrupt": sp.DroppedCorrupt} {
				c(mSpoolDropped, float64(n), src.id, reason)
			}
		}
		if !src.up {
			continue
		}
		for _, gp := range src.gpus {
			id := gp.DeviceID()
			g(mGPUMemory, float64(gp.MemoryMB)*(1<<20), src.id, id, gp.Model, "total")
			g(mGPUMemory, float64(gp.UsedMB)*(1<<20), src.id, id, gp.Model, "used")
			for e, u := range map[string]int{"sm": gp.UtilGPU, "decoder": gp.UtilDecoder, "encoder": gp.UtilEncoder, "memory": gp.UtilMemory} {
				g(mGPUUtil, float64(u)/100, src.id, id, gp.Model, e)
			}
			g(mGPUEngines, float64(gp.NVDEC), src.id, id, gp.Model, "nvdec")
			g(mGPUEngines, float64(gp.NVENC), src.id, id, gp.Model, "nvenc")
		}
		for id, st := range src.status {
			g(mStreamFPS, st.Source.FPSIn, src.id, id)
			c(mStreamFrames, float64(st.Source.Frames), src.id, id)
			c(mStreamDropped, float64(st.Source.Dropped), src.id, id)
			online := 0.0
			if st.Source.State == "online" {
				online = 1
			}
			g(mStreamUp, online, src.id, id, string(st.Source.State))
			for _, t := range st.Tasks {
				c(mTaskFrames, float64(t.Frames), src.id, t.TaskID, t.Algorithm)
				c(mTaskCaptures, float64(t.Captures), src.id, t.TaskID, t.Algorithm)
				c(mTaskAlerts, float64(t.Alerts), src.id, t.TaskID, t.Algorithm)
			}
		}
		for _, b := range src.batchers {
			c(mModelFrames, float64(b.Frames), src.id, b.Model, b.Version, b.Provider)
			c(mModelBatches, float64(b.Batches), src.id, b.Model, b.Version, b.Provider)
			c(mModelBusy, b.BusySec, src.id, b.Model, b.Version, b.Provider)
			c(mModelWait, b.WaitSec, src.id, b.Model, b.Version, b.Provider)
			g(mModelBatch, b.MeanBatch, src.id, b.Model, b.Version, b.Provider)
			g(mModelAddedWait, b.AddedWaitP99Sec, src.id, b.Model, b.Version, b.Provider)
			if len(b.BatchSizes) > 0 { // cumulative buckets by batch size 1..max
				buckets, cum, sum := map[float64]uint64{}, uint64(0), 0.0
				for i, n := range b.BatchSizes {
					cum += uint64(n)
					sum += float64(n) * float64(i+1)
					buckets[float64(i+1)] = cum
				}
				ch <- prometheus.MustNewConstHistogram(mModelBatchHist, cum, sum, buckets, src.id, b.Model, b.Version, b.Provider)
			}
			c(mModelSwaps, float64(b.Swaps), src.id, b.Model)
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
	if m.s.Cluster != nil {
		states := map[string]float64{"ok": 0, "degraded": 0, "rotated": 0, "unplaced": 0}
		for _, gr := range m.s.Cluster.Grants() {
			states[string(gr.State)]++
		}
		for st, n := range states {
			g(mPlacement, n, st)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if counts, err := m.s.DB.CountRecords(ctx); err == nil {
		for typ, n := range counts {
			g(mRecords, float64(n), typ)
		}
	}
	today := store.DayOf(m.s.now())
	for _, by := range []string{"department", "area"} {
		rates, err := m.s.DB.OnlineRates(ctx, by, today, today, nil)
		if err != nil {
			break
		}
		for _, r := range rates {
			g(mOnlineRate, r.Rate, by, r.Key)
		}
	}
}

// serveMetrics answers GET /metrics (Prometheus scrapes it with a bearer token).
func serveMetrics(s *Server, c *gin.Context) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics{s}, cascadeMetrics{s}, collectors.NewGoCollector())
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(c.Writer, c.Request)
}
