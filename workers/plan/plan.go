// Package plan holds the types the scheduler and the workers exchange: what a
// worker must run (stream and task plans, the lease), and what it reports back (the
// heartbeat with stream, task and model status). Types only, so that the scheduler
// can plan without importing the frame path and both sides share one wire format.
package plan

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/source"
)

// TaskPlan is one task as the scheduler grants it: FPS may be below the requested
// sample_fps when capacity is short (the degradation is reported, never silent).
type TaskPlan struct {
	Task    store.Task
	Params  algorithms.Params
	FPS     float64
	GrantID string // the sharing grant the task runs under, stamped on its records
}

// StreamPlan is one stream and the tasks to run on it.
type StreamPlan struct {
	Stream store.Stream
	Tasks  []TaskPlan
	// Device is where the planner put the stream on its worker: "" or "cpu" decodes
	// in software and infers on the CPU; "cuda:N" decodes on GPU N's NVDEC and runs
	// the models on its CUDA provider, each falling back (decode to software, the
	// session to the CPU) with the reason in the stream's and the model's status.
	Device string `json:",omitempty"`
	// Shadows are versions run beside the ones the tasks use, on the same decoded
	// frames, for comparison only: their detections reach no algorithm and no record.
	Shadows []Shadow `json:",omitempty"`
}

// Shadow runs Candidate (a batcher key, name@version or vendor/name@version) on
// every frame the stream's tasks run Primary on, and compares the detections.
type Shadow struct {
	RunID     string `json:"run_id"`
	Primary   string `json:"primary"`
	Candidate string `json:"candidate"`
}

// ShadowStats are a shadow run's counters on one worker: detections of the
// candidate matched to the primary's (same label, IoU ≥ 0.5), extra (the candidate
// only) and missed (the primary only); histograms of both sides' scores in tenths
// (ScoreHist[i] counts scores in [i/10, (i+1)/10)); wall time of each side's
// detection per frame, and the batchers' busy time per frame (the cost).
type ShadowStats struct {
	RunID              string    `json:"run_id"`
	Frames             int64     `json:"frames"`
	Matched            int64     `json:"matched"`
	Extra              int64     `json:"extra"`
	Missed             int64     `json:"missed"`
	PrimaryScores      [10]int64 `json:"primary_scores"`
	CandidateScores    [10]int64 `json:"candidate_scores"`
	PrimaryMS          float64   `json:"primary_ms"`   // summed over frames
	CandidateMS        float64   `json:"candidate_ms"` // summed over frames
	PrimaryCostMS      float64   `json:"primary_cost_ms_per_frame"`
	CandidateCostMS    float64   `json:"candidate_cost_ms_per_frame"`
	CandidateErrors    int64     `json:"candidate_errors"`
	LastCandidateError string    `json:"last_candidate_error,omitempty"`
}

// Lease is a heartbeat's answer: what the worker must run now, until TTL passes
// without a renewal.
type Lease struct {
	WorkerID string `json:"worker_id"`
	Epoch    uint64 `json:"epoch"`
	// LeaderEpoch is the epoch of the scheduler leader that granted the lease
	// (bumped at every takeover): a worker refuses a lease older than one it has
	// seen, from a server that no longer leads.
	LeaderEpoch uint64        `json:"leader_epoch"`
	TTL         time.Duration `json:"ttl_ns"`
	Plans       []StreamPlan  `json:"plans"`
	// WantFrames are streams of this lease whose latest frame the API asks for (a
	// console viewer): the worker uploads it (PUT /api/v1/workers/frames/:device_id).
	WantFrames []string `json:"want_frames,omitempty"`
	// Packages are the model versions the desired tasks use: a worker that lacks one
	// fetches it from the object store and installs it (workers.Delivery); the
	// planner places a task only on a worker that reports its model installed.
	Packages []Package `json:"packages,omitempty"`
}

// Package is one model version a worker must have: its manifest names every file
// with its sha256, which is also where the bytes lie in the object store
// (warehouse.BlobKey) and what the worker verifies them against.
type Package struct {
	Model    string          `json:"model"` // repository key: name (the platform's) or vendor/name
	Version  string          `json:"version"`
	Manifest json.RawMessage `json:"manifest"`
	// Published: tasks following Model run this version, so the worker moves its own
	// publication pointer to it once installed (its batchers then hot-swap).
	Published bool `json:"published"`
}

// TaskStatus is a running task's counters.
type TaskStatus struct {
	TaskID     string  `json:"task_id"`
	Algorithm  string  `json:"algorithm"`
	GrantedFPS float64 `json:"granted_fps"`
	Frames     int64   `json:"frames_analysed"`
	Captures   int64   `json:"captures"`
	Alerts     int64   `json:"alerts"`
}

// StreamStatus is a stream's decode state and its tasks.
type StreamStatus struct {
	StreamID string        `json:"device_id"`
	Source   source.Status `json:"source"`
	Tasks    []TaskStatus  `json:"tasks"`
	// Device is where the stream runs on its worker (its plan's Device): a new
	// scheduler leader keeps it there rather than moving it to the CPU.
	Device string `json:"device,omitempty"`
}

// BatchStats are one model's counters on a worker.
type BatchStats struct {
	Model     string  `json:"model"`
	Version   string  `json:"version"` // the version serving now
	Provider  string  `json:"provider"`
	Device    string  `json:"device"`             // the planner's device the batcher serves: "" (embedded), "cpu" or "cuda:N"
	Fallback  string  `json:"fallback,omitempty"` // why it runs on the CPU although its device is a GPU
	Frames    int64   `json:"frames"`
	Batches   int64   `json:"batches"`
	Errors    int64   `json:"errors"` // frames whose batch failed (preprocessing or inference)
	MeanBatch float64 `json:"mean_batch"`
	BusySec   float64 `json:"busy_seconds"`
	WaitSec   float64 `json:"queue_wait_seconds"` // summed over frames: time queued before their batch ran
	// BatchSizes is the batch-size histogram: BatchSizes[i] batches held i+1 frames.
	BatchSizes []int64 `json:"batch_sizes"`
	// AddedWaitP99Sec is the 99th percentile, over the last 4096 frames, of the time the
	// batcher held a frame waiting for more frames while it could have run it (from the
	// frame's arrival or the batch's start, whichever is later); it stays within
	// MaxWaitSec, the configured bound, but for the timer's wake-up on a loaded machine.
	AddedWaitP99Sec float64 `json:"added_wait_p99_seconds"`
	MaxWaitSec      float64 `json:"max_wait_seconds"`
	Swaps           int64   `json:"swaps"`      // hot swaps to another version since start
	SwapError       string  `json:"swap_error"` // why the last swap attempt failed; "" when it succeeded
}

// Heartbeat is what a remote worker sends every TTL/4: who it is, its hardware,
// and the state of what it runs. The server answers with a Lease.
type Heartbeat struct {
	ID          string                  `json:"id"`
	CapacityFPS float64                 `json:"capacity_fps"`    // > 0 caps the worker's model rates
	Cores       int                     `json:"cores"`           // CPU cores; sizes its CPU device
	GPUs        []GPU                   `json:"gpus"`            // each becomes a "cuda:N" device of the planner
	Bench       []DeviceBench           `json:"bench,omitempty"` // models measured on this worker's GPUs
	Status      map[string]StreamStatus `json:"status"`
	Batchers    []BatchStats            `json:"batchers"` // model counters, for /metrics
	// Installed lists the model versions in the worker's repository ("name@version",
	// "vendor/name@version"). Nil (a worker that does not say) counts as having every
	// model; an empty list as having none.
	Installed []string `json:"installed"`
	// DeliveryErrors says, by "model@version", why a package could not be installed
	// (object store unreachable, a digest that does not match).
	DeliveryErrors map[string]string `json:"delivery_errors,omitempty"`
	Shadows        []ShadowStats     `json:"shadows,omitempty"` // the shadow runs on this worker
	// CPUSeconds is the worker process's CPU time (user + system) so far: with the
	// batchers' and streams' counters it measures what a live frame really costs.
	CPUSeconds float64     `json:"cpu_seconds,omitempty"`
	Spool      *SpoolStats `json:"spool,omitempty"` // writes waiting for storage; nil: no spool
}

// SpoolStats is a worker's spool (workers.Spool): the writes waiting on its disk for
// storage to return, its limits, and what it did since the worker started. When
// full, new writes are refused (DroppedFull); writes older than MaxAgeSec are
// dropped unreplayed (DroppedExpired).
type SpoolStats struct {
	Writes         int     `json:"writes"` // waiting now
	Bytes          int64   `json:"bytes"`
	MaxBytes       int64   `json:"max_bytes"`
	MaxAgeSec      float64 `json:"max_age_seconds"`
	OldestAgeSec   float64 `json:"oldest_age_seconds"`
	Spooled        int64   `json:"spooled"`              // writes queued since start
	Replayed       int64   `json:"replayed"`             // queued writes committed since start
	DroppedFull    int64   `json:"dropped_full"`         // refused: the spool (or its disk) was full
	DroppedExpired int64   `json:"dropped_expired"`      // older than the age limit
	DroppedRefused int64   `json:"dropped_refused"`      // storage refused the content itself (store.Permanent)
	DroppedCorrupt int64   `json:"dropped_corrupt"`      // an unreadable file
	LastError      string  `json:"last_error,omitempty"` // why the oldest write is still waiting
}

// GPU is one NVIDIA GPU as the worker's NVML inventory sees it (workers/gpu). The
// planner sizes a "cuda:N" device from it: decode on its NVDEC engines, inference on
// its SMs at the rates measured on the same model of card (DeviceBench).
type GPU struct {
	Index    int    `json:"index"` // CUDA/NVML ordinal: the N of the "cuda:N" device
	UUID     string `json:"uuid"`
	Model    string `json:"model"` // NVML's name, e.g. "NVIDIA H100 80GB HBM3": the device class benchmarks are keyed by
	MemoryMB int    `json:"memory_mb"`
	UsedMB   int    `json:"memory_used_mb"`
	NVDEC    int    `json:"nvdec"` // decode engines
	NVENC    int    `json:"nvenc"` // encode engines
	// EnginesFrom says where NVDEC/NVENC come from: "nvml" (a MIG slice reports its
	// own), "table" (workers/gpu's per-model table: NVML does not report engine
	// counts of a whole GPU) or "assumed" (a model missing from the table: 1 NVDEC).
	EnginesFrom string `json:"engines_from"`
	UtilGPU     int    `json:"util_gpu"`     // % of the last sample period the SMs were busy
	UtilMemory  int    `json:"util_memory"`  // % memory controller
	UtilDecoder int    `json:"util_decoder"` // % NVDEC
	UtilEncoder int    `json:"util_encoder"` // % NVENC
	Driver      string `json:"driver"`
	CUDA        string `json:"cuda"` // highest CUDA version the driver supports, e.g. "12.4"
}

// DeviceID is the planner's name of the GPU on its worker.
func (g GPU) DeviceID() string { return fmt.Sprintf("cuda:%d", g.Index) }

// DeviceBench is one model measured on one kind of GPU on a worker (the warehouse
// benchmark run there): the planner sizes every GPU of that Model with it.
type DeviceBench struct {
	Device    string  `json:"device"` // GPU.Model, the device class
	Model     string  `json:"model"`
	Version   string  `json:"version"`
	Provider  string  `json:"provider"`   // what the session really ran on ("cuda"; "cpu" means CUDA failed and the result is not used)
	BatchSize int     `json:"batch_size"` // the batch size FPS was measured at (the fastest)
	FPS       float64 `json:"fps"`
}
