package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/objects"
	"github.com/cityeye/cityeye/workers"
	"github.com/cityeye/cityeye/workers/gpu"
	"github.com/cityeye/cityeye/workers/plan"
)

// remoteWorker is `cityeye worker --server URL`: a worker of a distributed
// deployment. It heartbeats to the server, runs the streams of its lease, writes
// records straight to PostgreSQL and snapshots to S3, and stops everything itself
// when it cannot renew its lease in time, so a stream the server moved elsewhere
// never runs twice.
type remoteWorker struct {
	servers     []string // API servers; heartbeats go to one that leads the scheduler
	cur         int      // the server heartbeats go to now
	leaderEpoch uint64   // the newest leader epoch seen: older leases are refused
	token, id   string
	capacity    float64
	w           *workers.Worker
	client      *http.Client
	gpus        *gpu.Inventory
	bench       *workers.GPUBench // the frame models measured on this worker's GPUs
	cpuBench    *workers.CPUBench // … and on its CPU, per batch size
	sending     atomic.Bool       // frames asked for are being uploaded
	delivery    *workers.Delivery // published models fetched from the object store
}

func runRemoteWorker(server, token, id, dsn, s3json, repo, provider string, capacity float64, loop, fast bool, spool workers.SpoolConfig) error {
	if id == "" || token == "" || dsn == "" || s3json == "" {
		return fmt.Errorf("--server needs --id, a token (--token-file or CITYEYE_WORKER_TOKEN), a database (--database, --database-file or CITYEYE_DATABASE) and S3 (--s3, --s3-file or CITYEYE_S3)")
	}
	var s3cfg objects.S3Config
	if err := json.Unmarshal([]byte(s3json), &s3cfg); err != nil {
		return fmt.Errorf("--s3: %w (a JSON object: endpoint, access_key, secret_key, bucket, public_base)", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, err := store.OpenPostgres(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	db.EnableGroupCommit(store.GroupCommit{}) // the record path: records and intents share commits
	objs, err := objects.NewS3(ctx, s3cfg)
	if err != nil {
		return err
	}
	rec := workers.NewRecorder(db, objs, nil)
	if rec.Spool, err = workers.OpenSpool(spool); err != nil {
		return err
	}
	eng := engine.Options{Provider: engine.Provider(provider)}
	w := workers.New(context.Background(), workers.Config{Repo: models.Repository{Root: repo}, Engine: eng,
		LoopFiles: loop, FastFiles: fast}, rec)
	var servers []string
	for _, u := range strings.Split(server, ",") {
		if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
			servers = append(servers, u)
		}
	}
	rw := &remoteWorker{servers: servers, token: token, id: id, capacity: capacity, w: w, client: &http.Client{Timeout: 2 * time.Second}, gpus: gpu.New(),
		bench:    &workers.GPUBench{Repo: models.Repository{Root: repo}, Engine: eng},
		cpuBench: &workers.CPUBench{Repo: models.Repository{Root: repo}},
		delivery: &workers.Delivery{Repo: models.Repository{Root: repo}, Objects: objs, OnInstalled: w.RefreshModels}}
	defer rw.gpus.Close()
	go benchCPU(ctx, rw.cpuBench)
	if eng.Provider != engine.ProviderCPU {
		go benchGPUs(ctx, rw.gpus, rw.bench)
	}
	rw.loop(ctx)
	return w.Close() // final records of what was still running
}

// loop heartbeats every TTL/4 (to the server that leads the scheduler: another
// answers 503 and the next in the list is tried at once) and fences itself at 90% of the TTL after the last
// heartbeat that got through (counted from when it was sent, so the worker always
// gives a stream up before the server may hand it to another).
func (r *remoteWorker) loop(ctx context.Context) {
	ttl := 3 * time.Second
	var lastOK time.Time
	running := false
	next := time.Now()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if running && time.Since(lastOK) >= ttl*9/10 {
			slog.Warn("lease not renewed in time: stopping every stream", "worker", r.id, "since", time.Since(lastOK).Round(time.Millisecond))
			r.w.Apply(nil)
			running = false
		}
		if time.Now().Before(next) {
			continue
		}
		next = time.Now().Add(ttl / 4)
		sent := time.Now()
		// a heartbeat that hangs (a broken path to the server) must not hold the
		// fence back: it gives up when the lease would run out
		deadline := time.Now().Add(2 * time.Second)
		if fence := lastOK.Add(ttl * 9 / 10); running && fence.Before(deadline) {
			deadline = fence
		}
		hctx, cancel := context.WithDeadline(ctx, deadline)
		lease, err := r.heartbeat(hctx)
		cancel()
		if err == nil && lease.LeaderEpoch < r.leaderEpoch {
			err = fmt.Errorf("lease of leader epoch %d, older than %d: that server no longer leads", lease.LeaderEpoch, r.leaderEpoch)
		}
		if err != nil {
			slog.Warn("heartbeat failed; trying the next server", "worker", r.id, "server", r.servers[r.cur], "err", err)
			if len(r.servers) > 1 {
				r.cur = (r.cur + 1) % len(r.servers)
				next = time.Now().Add(100 * time.Millisecond) // soon: the lease runs out meanwhile
			}
			continue
		}
		r.leaderEpoch = lease.LeaderEpoch
		lastOK, ttl = sent, lease.TTL
		r.delivery.Apply(ctx, lease.Packages) // in the background; reported installed when done
		r.w.Apply(lease.Plans)                // unchanged plans leave running pipelines alone
		running = len(lease.Plans) > 0
		r.sendFrames(ctx, r.servers[r.cur], lease.WantFrames)
	}
}

// sendFrames uploads to server (the one whose lease asked) the latest frame of each
// stream the lease asks for (someone opened the camera in the console), outside the
// heartbeat loop so that a slow upload never delays a lease. A stream with no frame
// yet is skipped: the next lease asks again.
func (r *remoteWorker) sendFrames(ctx context.Context, server string, ids []string) {
	if len(ids) == 0 || !r.sending.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer r.sending.Store(false)
		for _, id := range ids {
			b, at, err := r.w.LiveFrame(id)
			if err != nil {
				continue
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPut, server+"/api/v1/workers/frames/"+url.PathEscape(id), bytes.NewReader(b))
			if err != nil {
				return
			}
			req.Header.Set("Content-Type", "image/jpeg")
			req.Header.Set("X-Frame-Time", at.UTC().Format(time.RFC3339Nano))
			req.Header.Set("Authorization", "Bearer "+r.token)
			resp, err := r.client.Do(req)
			if err != nil {
				slog.Warn("live frame upload", "worker", r.id, "stream", id, "err", err)
				continue
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				slog.Warn("live frame upload refused", "worker", r.id, "stream", id, "status", resp.Status)
			}
		}
	}()
}

func (r *remoteWorker) heartbeat(ctx context.Context) (plan.Lease, error) {
	var lease plan.Lease
	b, _ := json.Marshal(plan.Heartbeat{ID: r.id, CapacityFPS: r.capacity, Cores: runtime.NumCPU(), GPUs: r.gpus.List(), Bench: append(r.bench.Results(), r.cpuBench.Results()...), Status: r.w.Status(), Batchers: r.w.Batchers(),
		Installed: r.delivery.Installed(), DeliveryErrors: r.delivery.Errors(), Shadows: r.w.Shadows(), CPUSeconds: workers.ProcessCPU() - r.cpuBench.Spent(), Spool: r.w.Spool()})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.servers[r.cur]+"/api/v1/workers/heartbeat", bytes.NewReader(b))
	if err != nil {
		return lease, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+r.token)
	resp, err := r.client.Do(req)
	if err != nil {
		return lease, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&e)
		return lease, fmt.Errorf("%s: %s", resp.Status, e.Error)
	}
	return lease, json.NewDecoder(resp.Body).Decode(&lease)
}

// benchCPU measures the frame models on one core of this machine at start and
// whenever a new version is installed (checked every minute): until then the
// planner sizes the CPU with the built-in cost table.
func benchCPU(ctx context.Context, bench *workers.CPUBench) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		bench.Run(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// benchGPUs measures the frame models on this machine's GPUs at start and whenever a
// new version is installed (checked every minute): the planner places nothing on a
// GPU class before a model has been measured on it. Remote workers and the embedded
// mode's local worker both run it.
func benchGPUs(ctx context.Context, gpus *gpu.Inventory, bench *workers.GPUBench) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if gs := gpus.List(); len(gs) > 0 {
			bench.Run(ctx, gs)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
