// Package plan holds the types the scheduler and the workers exchange: what a
// worker must run (stream and task plans, the lease), and what it reports back (the
// heartbeat with stream, task and model status). Types only, so that the scheduler
// can plan without importing the frame path and both sides share one wire format.
package plan

import (
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
}

// Lease is a heartbeat's answer: what the worker must run now, until TTL passes
// without a renewal.
type Lease struct {
	WorkerID string        `json:"worker_id"`
	Epoch    uint64        `json:"epoch"`
	TTL      time.Duration `json:"ttl_ns"`
	Plans    []StreamPlan  `json:"plans"`
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
}

// BatchStats are one model's counters on a worker.
type BatchStats struct {
	Model     string  `json:"model"`
	Version   string  `json:"version"` // the version serving now
	Provider  string  `json:"provider"`
	Frames    int64   `json:"frames"`
	Batches   int64   `json:"batches"`
	MeanBatch float64 `json:"mean_batch"`
	BusySec   float64 `json:"busy_seconds"`
	WaitSec   float64 `json:"queue_wait_seconds"` // summed over frames: time queued before their batch ran
	Swaps     int64   `json:"swaps"`              // hot swaps to another version since start
	SwapError string  `json:"swap_error"`         // why the last swap attempt failed; "" when it succeeded
}

// Heartbeat is what a remote worker sends every TTL/4: who it is, its hardware,
// and the state of what it runs. The server answers with a Lease.
type Heartbeat struct {
	ID          string                  `json:"id"`
	CapacityFPS float64                 `json:"capacity_fps"` // > 0 caps the worker's model rates
	Cores       int                     `json:"cores"`        // CPU cores; sizes its CPU device
	GPUs        int                     `json:"gpus"`         // reported, not placed on yet
	Status      map[string]StreamStatus `json:"status"`
	Batchers    []BatchStats            `json:"batchers"` // model counters, for /metrics
}
