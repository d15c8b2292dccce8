// Command bench measures what the CityEye pipeline costs in CPU against doing the
// same work by hand, with every phase run one after the other in this one process:
//
//   - baselines: decoding the clip's frames with go-astiav (and, for reference, the
//     ffmpeg CLI), and each detector's models.Model.Detect on those frames in a tight
//     loop;
//   - the full pipeline (source → sampler → batcher → model → algorithm → recorder)
//     with one task, with four tasks on one stream sharing two models, and as four
//     independent workers each decoding the clip and running its own model.
//
// CPU time is process user+sys from getrusage before and after each phase (all
// threads, GC included), not wall time: the machine may be shared. It prints a table
// and the ratios against the targets (docs/bench/pipeline.md).
//
//	go run ./cmd/bench [-frames 150] [-clip vtest.avi]
//
// With -streams N it measures capacity instead (streams.go): how many looped camera
// streams one device analyses in real time, e.g. on a GPU
//
//	go run ./cmd/bench -provider cuda -hwaccel cuda -streams 64
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/asticode/go-astiav"
	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/objects"
	"github.com/cityeye/cityeye/workers"
	"github.com/cityeye/cityeye/workers/plan"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	frames := flag.Int("frames", 150, "analyse the first N frames of the clip")
	clip := flag.String("clip", "vtest.avi", "video file: a path, or a name in $CITYEYE_HOME/media")
	repo := flag.String("models", filepath.Join(engine.Home(), "models"), "model repository folder")
	provider := flag.String("provider", "cpu", "execution provider: cpu, cuda or auto")
	threads := flag.Int("intra-op-threads", 1, "ONNX Runtime intra-op threads per session")
	cvThreads := flag.Int("opencv-threads", 1, "OpenCV threads (OPENCV_FOR_THREADS_NUM; 0 leaves OpenCV's default)")
	warmup := flag.Int("warmup", 5, "frames each worker analyses before its measured run (loads its models)")
	replays := flag.Int("replays", 30, "captures saved through a bare Recorder to price one capture")
	nrounds := flag.Int("rounds", 3, "run every phase this many times, in turn, and report the medians")
	useCLI := flag.Bool("ffmpeg-cli", true, "also time the ffmpeg CLI decoding the clip (-f null), for reference")
	timeout := flag.Duration("timeout", 5*time.Minute, "limit for each pipeline phase")
	keep := flag.Bool("keep", false, "keep the temporary folder (trimmed clips, databases, snapshots)")
	verbose := flag.Bool("v", false, "log the workers' warnings and info messages")
	cpuProfile := flag.String("cpuprofile", "", "write a Go CPU profile of the whole run to this file")
	// capacity mode (streams.go; docs/bench/gpu.md)
	streams := flag.Int("streams", 0, "capacity mode: start with N looped camera streams and find the largest N that holds real time")
	maxStreams := flag.Int("max-streams", 512, "capacity mode: stop doubling at this many streams")
	hwaccel := flag.String("hwaccel", "", `capacity mode: "cuda" decodes on NVDEC (with -provider cuda: both on GPU 0)`)
	size := flag.String("size", "1920x1080", "capacity mode: the generated clip's size")
	analysisFPS := flag.Float64("analysis-fps", 5, "capacity mode: frames per second analysed per stream")
	warmFor := flag.Duration("warm", 8*time.Second, "capacity mode: warm-up before each measured window")
	window := flag.Duration("window", 10*time.Second, "capacity mode: measured window per N")
	flag.Parse()

	// OpenCV (preprocessing, JPEG) sizes its thread pool from the environment when it
	// starts: set it and start again, so that a frame's work stays on one core in
	// every phase alike.
	if *cvThreads > 0 && os.Getenv("OPENCV_FOR_THREADS_NUM") == "" {
		os.Setenv("OPENCV_FOR_THREADS_NUM", fmt.Sprint(*cvThreads))
		exe, err := os.Executable()
		if err == nil {
			err = syscall.Exec(exe, os.Args, os.Environ())
		}
		return fmt.Errorf("restarting with OPENCV_FOR_THREADS_NUM set: %w", err)
	}
	level := slog.LevelError
	if *verbose {
		level = slog.LevelInfo
	}
	slog.SetDefault(slog.New(countingHandler{next: slog.NewTextHandler(os.Stderr, nil), level: level}))
	astiav.SetLogLevel(astiav.LogLevelError)
	if *frames < 1 || *warmup < 1 || *nrounds < 1 {
		return errors.New("-frames, -warmup and -rounds must be at least 1")
	}

	src := *clip
	if _, err := os.Stat(src); err != nil {
		src = filepath.Join(engine.Home(), "media", *clip)
		if _, err := os.Stat(src); err != nil {
			return fmt.Errorf("clip %s not found (run `make setup` for the test media)", *clip)
		}
	}
	tmp, err := os.MkdirTemp("", "cityeye-bench-")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintln(os.Stderr, "temporary folder:", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	ext := filepath.Ext(src)
	b := &bench{ctx: context.Background(), repo: models.Repository{Root: *repo},
		eng: engine.Options{Provider: engine.Provider(*provider), IntraOpThreads: *threads}, tmp: tmp,
		clip: filepath.Join(tmp, "clip"+ext), warm: filepath.Join(tmp, "warm"+ext), timeout: *timeout}
	if *streams > 0 || *hwaccel != "" {
		b.live = true
		return runStreams(b, max(*streams, 1), *maxStreams, *size, *hwaccel, *analysisFPS, *warmFor, *window)
	}
	if err := trim(src, b.clip, *frames); err != nil {
		return err
	}
	if err := trim(src, b.warm, *warmup); err != nil {
		return err
	}
	nw, _, err := decodeBGR(b.warm, func(m gocv.Mat) { m.Close() })
	if err != nil {
		return err
	}
	mats, info, err := decodeAll(b.clip) // the frames for the models' loops
	defer func() { closeAll(mats) }()
	if err != nil {
		return err
	}
	if len(mats) == 0 || info.FPS <= 0 {
		return fmt.Errorf("%s: %d frames at %g fps", src, len(mats), info.FPS)
	}
	b.warmFrames, b.frames, b.fps = nw, len(mats), info.FPS
	ffmpeg := ""
	if path, err := exec.LookPath("ffmpeg"); err == nil && *useCLI {
		ffmpeg = path
	}
	fmt.Printf("clip %s: %s %dx%d %.4g fps; first %d frames (%d decoded); warm-up %d frames; %d rounds\n",
		filepath.Base(src), info.Codec, info.Width, info.Height, info.FPS, *frames, b.frames, b.warmFrames, *nrounds)

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	phases, cleanup, err := b.phases(mats, ffmpeg, *replays)
	defer cleanup()
	if err != nil {
		return err
	}
	fmt.Printf("set up in %s (models loaded, workers warmed up)\n", time.Since(start).Round(time.Second))
	var rounds [][]result
	for i := range *nrounds {
		// every other round runs the phases in reverse order, so that a load that
		// grows or shrinks during the run weighs on the baselines and the pipelines
		// alike
		order := make([]int, len(phases))
		for k := range order {
			order[k] = k
			if i%2 == 1 {
				order[k] = len(phases) - 1 - k
			}
		}
		rs := make([]result, len(phases))
		for _, k := range order {
			r, err := measure(phases[k].name, phases[k].children, phases[k].run)
			if err != nil {
				return fmt.Errorf("%s: %w", phases[k].name, err)
			}
			rs[k] = r
		}
		rounds = append(rounds, rs)
		fmt.Printf("round %d/%d done (%s)\n", i+1, *nrounds, time.Since(start).Round(time.Second))
	}

	fmt.Printf("\n%s  GOMAXPROCS=%d  OPENCV_FOR_THREADS_NUM=%s  ORT intra-op threads=%d  provider=%s  total wall %s\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.GOMAXPROCS(0), os.Getenv("OPENCV_FOR_THREADS_NUM"),
		*threads, *provider, time.Since(start).Round(time.Second))
	med := medians(rounds)
	printTable(med, len(rounds))
	printTargets(med)
	if len(rounds) > 1 {
		printRounds(rounds)
	}
	return nil
}

// Phase names, for the targets.
const (
	phDecode   = "decode: go-astiav → BGR Mat"
	phCLI      = "decode: ffmpeg CLI → bgr24, -f null"
	phBlaze    = "ORT: blazeface-back Detect loop"
	phNano     = "ORT: nanodet Detect loop"
	phPV       = "pipeline: 1 stream, person_vehicle_capture"
	phFace     = "pipeline: 1 stream, face_capture"
	phShared   = "shared: 1 stream, 4 tasks, 2 models"
	phIndep    = "independent: 4 workers × 1 task"
	phShared1  = "shared: 1 stream, 4 face tasks, 1 model"
	phIndep1   = "independent: 4 workers × 1 face task"
	phRecorder = "recorder: Recorder.Save replayed"
)

// phase is one measured step; run fills in the result's counts.
type phase struct {
	name     string
	children bool // the CPU is the child processes' (the ffmpeg CLI)
	run      func(r *result) error
}

// phases loads the baseline models and creates and warms up the pipelines' workers
// (none of it measured), and returns the phases in report order.
func (b *bench) phases(mats []gocv.Mat, ffmpeg string, replays int) ([]phase, func(), error) {
	var closers []func()
	cleanup := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	ph := []phase{{name: phDecode, run: func(r *result) error {
		n, _, err := decodeBGR(b.clip, func(m gocv.Mat) { m.Close() }) // a consumer takes each frame
		r.Frames = n
		return err
	}}}
	if ffmpeg != "" {
		ph = append(ph, phase{name: phCLI, children: true, run: func(r *result) error {
			r.Frames = b.frames
			cmd := exec.Command(ffmpeg, "-nostdin", "-v", "error", "-i", b.clip, "-map", "0:v:0", "-pix_fmt", "bgr24", "-f", "null", "-")
			cmd.Stderr = os.Stderr
			return cmd.Run()
		}})
	}
	for _, mp := range []struct{ name, model string }{{phBlaze, "blazeface-back"}, {phNano, "nanodet"}} {
		m, err := models.LoadFromRepository(b.repo, mp.model, "", b.eng)
		if err != nil {
			return nil, cleanup, fmt.Errorf("%w (run `make setup`)", err)
		}
		closers = append(closers, func() { m.Close() })
		if _, err := m.Detect(mats[:1]); err != nil { // the first run allocates ORT's buffers
			return nil, cleanup, err
		}
		ph = append(ph, phase{name: mp.name, run: func(r *result) error {
			r.Frames = len(mats)
			for i := range mats {
				if _, err := m.Detect(mats[i : i+1]); err != nil {
					return err
				}
				r.ModelRuns++
			}
			return nil
		}})
	}
	for _, p := range []struct {
		name   string
		groups [][]taskSpec
	}{
		{phPV, [][]taskSpec{{pvA}}},
		{phFace, [][]taskSpec{{faceA}}},
		{phShared, [][]taskSpec{{faceA, faceB, pvA, pvB}}},
		{phIndep, [][]taskSpec{{faceA}, {faceB}, {pvA}, {pvB}}},
		{phShared1, [][]taskSpec{{faceA, faceB, faceC, faceD}}},
		{phIndep1, [][]taskSpec{{faceA}, {faceB}, {faceC}, {faceD}}},
	} {
		ps, err := b.newPipelineSet(p.name, p.groups)
		if err != nil {
			return nil, cleanup, err
		}
		closers = append(closers, ps.close)
		ph = append(ph, phase{name: p.name, run: func(r *result) error { return b.runSet(ps, r) }})
	}
	// the recorder's share: the Save the pipeline calls for each capture, on a bare
	// Recorder of its own
	rec, err := b.newReplay(mats[len(mats)/2])
	if err != nil {
		return nil, cleanup, err
	}
	closers = append(closers, rec.close)
	ph = append(ph, phase{name: phRecorder, run: func(r *result) error { return rec.run(r, replays) }})
	return ph, cleanup, nil
}

// replay prices one capture: Person captures of a clip frame saved through a
// Recorder on its own SQLite database and snapshot folder, the very call the pipeline
// makes for each capture (scene and crop JPEGs, the serials, the crash-safe record
// write). Each track is saved three times (first, better and final shot), as the
// capture algorithms do.
type replay struct {
	rec   *workers.Recorder
	db    *store.DB
	frame gocv.Mat
	st    store.Stream
	tp    plan.TaskPlan
	box   decode.Box
	n     int // captures saved so far
}

func (b *bench) newReplay(frame gocv.Mat) (*replay, error) {
	dir := filepath.Join(b.tmp, "replay")
	objs, err := objects.NewLocal(filepath.Join(dir, "objects"), "file://"+filepath.Join(dir, "objects")+"/")
	if err != nil {
		return nil, err
	}
	db, err := store.OpenSQLite(b.ctx, filepath.Join(dir, "cityeye.db"))
	if err != nil {
		return nil, err
	}
	st := store.Stream{ID: "44150200001310009999", Name: "replay"}
	w, h := float32(frame.Cols()), float32(frame.Rows())
	return &replay{rec: workers.NewRecorder(db, objs, nil), db: db, frame: frame.Clone(), st: st,
		tp: plan.TaskPlan{Task: store.Task{ID: "replay", StreamID: st.ID, Algorithm: "person_vehicle_capture"}, FPS: b.fps},
		// a pedestrian-sized box in the middle of the frame
		box: decode.Box{X1: w * 0.45, Y1: h * 0.35, X2: w*0.45 + w/12, Y2: h*0.35 + h/4}}, nil
}

func (p *replay) run(r *result, n int) error {
	t0 := time.Now()
	for range n {
		i := p.n
		c := algorithms.Capture{TrackKey: fmt.Sprintf("replay/%d", i/3), Kind: "Person", Label: "person", Box: p.box, Score: 0.8,
			Frame: p.frame, Shot: t0.Add(time.Duration(i%3) * time.Second), Appear: t0, Final: i%3 == 2}
		if err := p.rec.Save(context.Background(), p.st, p.tp, c); err != nil {
			return err
		}
		p.n++
		r.Captures++
	}
	return nil
}

func (p *replay) close() {
	p.db.Close()
	p.frame.Close()
}
