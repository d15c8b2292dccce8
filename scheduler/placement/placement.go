// Package placement decides which worker and device runs each stream when there is
// more than one worker: it packs streams onto devices under a target utilisation,
// keeps placements where they are when little changes, and when demand exceeds
// capacity degrades in a fixed, reported order instead of overloading a device.
//
// The cost model, in fractions of one second of a device:
//
//   - A stream costs one decode whatever the number of its tasks: its native frame
//     rate × its pixels / 1920×1080 ÷ the device's full-decode frames/s for its codec.
//     When every task on it needs ≤ 1 fps the worker decodes keyframes only, which
//     costs Config.KeyframeCost of a full decode.
//   - A model costs the highest rate any task of the stream asks of it ÷ the device's
//     frames/s for that model: tasks at lower rates take a subset of the same frames.
//   - On a "cpu" device decode and inference share the cores, so the two add up. On a
//     "cuda" device decode runs on NVDEC and inference on the SMs, separate engines,
//     so each is held under the target on its own and utilisation is the larger.
//
// A stream runs on one device of one worker with all its tasks: one decode, one copy
// of each frame in memory, one batch queue per model.
//
// Placement (Place) is a greedy first-fit-decreasing with stickiness, in three
// passes. Streams placed by the previous plan stay where they are if they still fit
// (those whose cost did not grow first), previous time-share slots are kept as they
// were, and only the rest — new streams, streams of a lost worker, streams that grew
// out of their device — are placed, by priority and then by decreasing cost (the cost
// on the device kind the stream is most expensive on, so that in a mixed cluster the
// streams that gain most from a GPU get the GPUs first), each on the feasible device
// that spends the smallest share of itself on the stream (a GPU for heavy models, a
// CPU when the GPUs are full or do not run the model), then on a worker that already
// has the stream's models loaded, then on the fullest device it fits (so whole
// workers stay free for what comes next). Healthy streams are never moved to make a
// new one fit while degradation can make room; the price is that fragmentation is not
// repaired on its own (a Place with prev nil repacks from scratch).
//
// Greedy rather than an exact solver: the packing has to run in milliseconds on every
// change for thousands of streams, be explainable stream by stream, and above all be
// stable, which an optimiser re-solving from scratch is not. Ordering by the costliest
// device kind keeps its waste small: on the seeds' mix it needs the hand-computed
// optimum number of workers (capacity_test.go).
//
// When everything does not fit, a ladder of degradation levels is searched for the
// first level at which it does. Priorities are classes, lowest first; each class gives
// up everything it can before the class above gives anything:
//
//  1. its tasks' rates are lowered from requested toward their minimum, in steps of
//     5% of the range (the same fraction for every task of the class);
//  2. then, if the class may be time-shared (Config.RotatePriority), the streams
//     that still do not fit share slots: a full-time low-priority stream's capacity
//     becomes a slot that it and up to MaxRotated-1 others take in turns of Dwell,
//     the cycle being members × Dwell;
//  3. when no level fits with the previous placements kept, the ladder is searched
//     again with everything packed by priority (lower-priority streams lose their
//     place to higher ones); only when even its top level does not fit is anything
//     refused — what still does not fit, the lowest priorities — after which the
//     ladder is searched again for the rest.
//
// Every task gets a Grant with its state and, unless it runs as asked, a reason code
// and a message with the numbers. Nothing is overloaded silently.
package placement

import (
	"time"
)

// Node is one worker process as its heartbeat describes it.
type Node struct {
	ID      string
	Devices []Device
	// Loaded names the models the worker has in memory already: a stream that uses
	// them starts without a model load and without the memory of a second copy.
	Loaded map[string]bool
	// Healthy is false once the heartbeat timed out: the worker gets nothing and its
	// streams are placed elsewhere.
	Healthy bool
}

// Device is one execution device of a worker: its CPU as a whole, or one CUDA GPU.
type Device struct {
	ID   string // unique within the worker, e.g. "cpu", "cuda:0"
	Kind string // "cpu" or "cuda"
	// DecodeFPS is the full-decode frames/s the device sustains at 1920×1080 H.264
	// (all cores for "cpu", NVDEC for "cuda"); a stream's cost scales with its pixels.
	DecodeFPS float64
	// CodecFPS overrides DecodeFPS for other codecs, e.g. {"h265": 300} for a CPU
	// that decodes HEVC at half its H.264 rate; a codec not named decodes at DecodeFPS.
	CodecFPS map[string]float64
	// DecodeSessions caps concurrent decode sessions (NVDEC has a limit); 0 = none.
	DecodeSessions int
	// ModelFPS is each model's frames/s on this device at its best batch size, from the
	// warehouse benchmark for this device kind. A model not named does not run here.
	ModelFPS map[string]float64
}

// Stream is one camera with the tasks that analyse it.
type Stream struct {
	ID     string
	Pixels int     // width × height; 0 = 1920×1080
	FPS    float64 // native frame rate, what a full decode has to decode; 0 = 25
	Codec  string  // "" = h264
	Tasks  []Task
}

// Task is one analysis on a stream.
type Task struct {
	ID    string
	Model string // the per-frame model whose cost the task adds
	// FPS is the sample rate asked for (0 = every native frame; more than the stream's
	// native rate is granted the native rate). MinFPS is the lowest rate the task is
	// still useful at (0 = Config.MinFPS): degradation never goes below it.
	FPS, MinFPS float64
	Priority    int // higher = more important; equal priorities degrade together
}

// Config tunes placement; zero fields take the defaults in brackets.
type Config struct {
	TargetUtil   float64       // no device is planned above this share of its second [0.85]
	KeyframeCost float64       // keyframe-only decode as a fraction of a full decode [0.15]
	Dwell        time.Duration // how long a time-shared stream runs per turn [30s]
	// MaxRotated is how many streams may share one slot, which bounds the cycle to
	// MaxRotated × Dwell [4]; 1 turns time-sharing off.
	MaxRotated int
	// RotatePriority: a stream may be time-shared only when none of its tasks has a
	// priority above this [0]: a stream that carries an important task is never
	// switched off, it keeps its place or is refused.
	RotatePriority int
	MinFPS         float64 // minimum rate of tasks that give none [0.2]
}

func (c Config) withDefaults() Config {
	if c.TargetUtil <= 0 {
		c.TargetUtil = 0.85
	}
	if c.KeyframeCost <= 0 {
		c.KeyframeCost = 0.15
	}
	if c.Dwell <= 0 {
		c.Dwell = 30 * time.Second
	}
	if c.MaxRotated <= 0 {
		c.MaxRotated = 4
	}
	if c.MinFPS <= 0 {
		c.MinFPS = 0.2
	}
	return c
}

// Plan is the result of a placement; pass it back to the next Place as prev.
type Plan struct {
	// Assign says where each stream runs. Unplaced streams and streams without tasks
	// are absent.
	Assign map[string]Assignment `json:"assign"`
	// Grants holds every task of every stream passed in.
	Grants map[string]Grant `json:"grants"`
	// Rotation lists the time-shared slots; Assignment.Slot indexes it.
	Rotation []Slot `json:"rotation,omitempty"`
	// Util is the planned utilisation of every healthy device, keyed "worker/device":
	// the share of one second the device spends (decode + inference on a CPU, the
	// larger of NVDEC and SMs on a GPU). A slot counts its largest member.
	Util map[string]float64 `json:"util"`
}

// Assignment is where a stream runs.
type Assignment struct {
	Worker string `json:"worker"`
	Device string `json:"device"`
	// Cost is the stream's share of the device at its granted rates. The next Place
	// keeps the stream where it is first when its cost has not grown.
	Cost    float64       `json:"cost"`
	Rotated bool          `json:"rotated,omitempty"`
	Slot    int           `json:"slot,omitempty"`  // index into Plan.Rotation when Rotated
	Phase   time.Duration `json:"phase,omitempty"` // start of its turn within the slot's cycle
}

// Slot is device capacity that several streams take in turns: Streams[i] runs during
// [i×Dwell, (i+1)×Dwell) of every Cycle (= len(Streams) × Dwell), counted from a
// common epoch the worker chooses. A turn starts at a keyframe, so the first second or
// so of each turn is spent connecting.
type Slot struct {
	Worker   string        `json:"worker"`
	Device   string        `json:"device"`
	Streams  []string      `json:"streams"`
	Dwell    time.Duration `json:"dwell"`
	Cycle    time.Duration `json:"cycle"`
	Reserved float64       `json:"reserved"` // device share held: what the costliest member needs
}

// State is what became of a task.
type State string

const (
	OK       State = "ok"       // runs at its requested rate (or the stream's native rate)
	Degraded State = "degraded" // runs all the time at a lower rate
	Rotated  State = "rotated"  // runs in turns (Duty of the time) at its minimum rate
	Unplaced State = "unplaced" // does not run
)

// Code says why a task is not running as asked; "" when it is.
type Code string

const (
	FPSCapped  Code = "fps_capped"  // asked more than the stream's native rate (state ok)
	FPSLowered Code = "fps_lowered" // rate lowered toward its minimum (degraded)
	TimeShared Code = "time_shared" // its stream is rotated (rotated)
	NoWorker   Code = "no_worker"   // no healthy worker at all (unplaced)
	NoDevice   Code = "no_device"   // no healthy device runs all the stream's models (unplaced)
	TooBig     Code = "too_big"     // more than a whole device even at minimum rates (unplaced)
	NoCapacity Code = "no_capacity" // refused after every lower priority gave what it could (unplaced)
)

// Grant is what a task was given.
type Grant struct {
	Stream       string  `json:"stream"`
	State        State   `json:"state"`
	RequestedFPS float64 `json:"requested_fps"`
	GrantedFPS   float64 `json:"granted_fps"` // the rate while it runs; 0 when unplaced
	Duty         float64 `json:"duty"`        // share of the time it runs: 1, Dwell/Cycle when rotated, 0 when unplaced
	Code         Code    `json:"code,omitempty"`
	Message      string  `json:"message,omitempty"`
}

// Place assigns every stream to a device of a healthy worker and grants its tasks. prev
// is the plan in force (nil at start): what it placed stays put where it still fits,
// which is also how a lost or returning worker is handled — call Place with the new
// worker list and the previous plan; only the lost worker's streams move.
func Place(cfg Config, workers []Node, streams []Stream, prev *Plan) Plan {
	p := newPlanner(cfg.withDefaults(), workers, streams, prev)
	p.solve()
	return p.build()
}
