package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/objects"
	"github.com/cityeye/cityeye/workers"
	"github.com/cityeye/cityeye/workers/plan"
)

// runWorker runs one worker on one stream without the API: the same pipeline the
// server's worker runs, writing records and snapshots into --data. Distributed
// workers that take plans from a remote scheduler build on the same Worker type.
func runWorker(args []string) error {
	fs := newFlags("worker", "worker --url URL --device-id ID --algorithm NAME [--params JSON] [--data DIR] [--duration D]")
	url := fs.String("url", "", "stream URL (rtsp://, http(s)://, file:///…)")
	device := fs.String("device-id", "", "GB/T 28181 20-digit device ID of the camera")
	alg := fs.String("algorithm", "", fmt.Sprintf("algorithm to run (%v)", algorithms.Names()))
	params := fs.String("params", "{}", "task params JSON, e.g. {\"sample_fps\":5}")
	data := fs.String("data", "./data/worker", "folder for the database and snapshots")
	repo := fs.String("models", defaultRepo(), "model repository folder")
	provider := fs.String("provider", "auto", "execution provider: auto, cpu or cuda")
	duration := fs.Duration("duration", 0, "stop after this long (0: until the stream ends or Ctrl-C)")
	server := fs.String("server", "", "distributed mode: the CityEye server URL to take streams from, or several, comma-separated (heartbeats go to the one leading the scheduler); then --id, a token, a database and S3")
	id := fs.String("id", "", "distributed mode: this worker's ID (stable across restarts; its token is bound to it)")
	token := fs.String("token", "", "refused: a token on the command line is visible in ps; use --token-file or CITYEYE_WORKER_TOKEN")
	tokenFile := fs.String("token-file", "", "distributed mode: file holding the worker's API token (else CITYEYE_WORKER_TOKEN, then CITYEYE_TOKEN)")
	dsn := fs.String("database", "", "distributed mode: PostgreSQL DSN for records, without a password (~/.pgpass), else use --database-file or CITYEYE_DATABASE")
	dsnFile := fs.String("database-file", "", "distributed mode: file holding the PostgreSQL DSN (else CITYEYE_DATABASE)")
	s3 := fs.String("s3", "", `distributed mode: S3 config JSON {"endpoint","access_key","bucket","public_base"} without secret_key, else use --s3-file or CITYEYE_S3`)
	s3File := fs.String("s3-file", "", "distributed mode: file holding the S3 config JSON with its secret_key (else CITYEYE_S3)")
	capacity := fs.Float64("capacity-fps", 0, "distributed mode: analysed frames per second this worker sustains; > 0 caps its model rates in placement (0: sized from its cores alone)")
	loop := fs.Bool("loop-files", false, "distributed mode: loop file:// streams like live cameras")
	fast := fs.Bool("fast-files", false, "distributed mode: decode file:// streams as fast as possible")
	spoolDir := fs.String("spool", "./data/spool", "distributed mode: folder where records and alerts wait while PostgreSQL or S3 is unreachable")
	spoolMiB := fs.Int64("spool-max-mib", workers.DefaultSpoolBytes>>20, "distributed mode: spool size limit; when full, new records and alerts are dropped (counted in /metrics)")
	spoolAge := fs.Duration("spool-max-age", workers.DefaultSpoolAge, "distributed mode: a spooled write older than this is dropped (counted in /metrics)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *server != "" {
		tok, db, s3cfg, err := workerSecrets(*token, *tokenFile, *dsn, *dsnFile, *s3, *s3File)
		if err != nil {
			return err
		}
		sp := workers.SpoolConfig{Dir: *spoolDir, MaxBytes: *spoolMiB << 20, MaxAge: *spoolAge}
		return runRemoteWorker(*server, tok, *id, db, s3cfg, *repo, *provider, *capacity, *loop, *fast, sp)
	}
	if _, err := gat1400.ParseDeviceID(*device); err != nil {
		return fmt.Errorf("--device-id: %w", err)
	}
	if _, ok := algorithms.Lookup(*alg); !ok {
		return fmt.Errorf("--algorithm: unknown %q (known: %v)", *alg, algorithms.Names())
	}
	p, err := algorithms.ParseParams(json.RawMessage(*params))
	if err != nil {
		return fmt.Errorf("--params: %w", err)
	}
	if *url == "" {
		return fmt.Errorf("--url is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	objs, err := objects.NewLocal(filepath.Join(*data, "objects"), "file://"+mustAbs(filepath.Join(*data, "objects"))+"/")
	if err != nil {
		return err
	}
	db, err := store.OpenSQLite(ctx, filepath.Join(*data, "cityeye.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Sweep(ctx, objs); err != nil {
		return err
	}
	st := store.Stream{ID: *device, Name: *device, URL: *url}
	task := store.Task{ID: "worker-" + *alg, StreamID: st.ID, Algorithm: *alg, Params: json.RawMessage(*params), Enabled: true}
	w := workers.New(context.Background(), workers.Config{Repo: models.Repository{Root: *repo}, Engine: engine.Options{Provider: engine.Provider(*provider)}},
		workers.NewRecorder(db, objs, nil))
	w.Apply([]plan.StreamPlan{{Stream: st, Tasks: []plan.TaskPlan{{Task: task, Params: p, FPS: p.SampleFPS}}}})
	t := time.NewTicker(time.Second)
	defer t.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-t.C:
			s := w.Status()[st.ID]
			if s.Source.State == "error" || (s.Source.State == "offline" && s.Source.Reason == "end of file") {
				break loop
			}
		}
	}
	w.Close()
	counts, _ := db.CountRecords(context.Background())
	fmt.Printf("records: %v\nsnapshots: %s\n", counts, mustAbs(filepath.Join(*data, "objects")))
	return nil
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

func init() {
	register("worker", "run one analysis worker on one stream, writing records to a data folder", runWorker)
}
