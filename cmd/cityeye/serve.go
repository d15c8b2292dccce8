package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cityeye/cityeye/api"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/models/warehouse"
	"github.com/cityeye/cityeye/scheduler"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/objects"
	"github.com/cityeye/cityeye/workers"
	"github.com/cityeye/cityeye/workers/gpu"
	"github.com/cityeye/cityeye/workers/jobs"
	"github.com/cityeye/cityeye/workers/plan"
)

// serveConfig is the embedded server's configuration. Precedence: flags, then
// CITYEYE_* environment variables, then the JSON config file, then defaults.
type serveConfig struct {
	Listen      string  `json:"listen"`
	Data        string  `json:"data"`
	Models      string  `json:"models"`
	Provider    string  `json:"provider"`
	CapacityFPS float64 `json:"capacity_fps"`
	LoopFiles   bool    `json:"loop_files"`
	FastFiles   bool    `json:"fast_files"`
	// Retention per data class in days (0 keeps forever); default a year each.
	Retention workers.Retention `json:"retention"`
	// MaxClockSkewS: records from outside (VIID pushes) dated more than this many
	// seconds ahead of the server's clock are refused (default 300).
	MaxClockSkewS float64 `json:"max_clock_skew_s,omitempty"`
	// VIIDDigestEveryRequest: VIID peers must answer HTTP Digest on every request,
	// not only at Register (peers behind a NAT or a reverse proxy share an address).
	VIIDDigestEveryRequest bool `json:"viid_digest_every_request,omitempty"`
	// VIIDServerID is this view library's own 20-digit ID (VIIDServerID in
	// /VIID/System/Time, User-Identify on pushes, the prefix of notification IDs);
	// default 44150200005030000001. Each platform of a cascade needs its own.
	VIIDServerID string `json:"viid_server_id,omitempty"`
	// TokenDays is the lifetime of an API token whose creator names none, the
	// bootstrap administrator's included (default 90).
	TokenDays int `json:"token_days,omitempty"`
	// MapTiles is the console map's tile URL template (the city GIS), e.g.
	// https://gis.example/{z}/{x}/{y}.png; empty: a plain coordinate grid.
	MapTiles string `json:"map_tiles,omitempty"`
	// Spool bounds the in-process worker's spool (data/spool): what storage cannot
	// take waits there, up to max_mib (default 2048; when full, new writes are
	// dropped) and max_age_hours (default 24; older writes are dropped).
	Spool spoolLimits `json:"spool,omitempty"`

	// Security settings of the platform administrator. ImportDirs: the folders
	// file:// streams and analyses may name (none: file:// is refused).
	// OutboundAllow: internal targets webhooks, notification receivers, video
	// downloads and on-request camera key frames may reach (CIDR, IP, IP:port or
	// host:port; public addresses need no entry). TrustedProxies: reverse proxies whose X-Forwarded-For is believed for
	// the audit trail (none: the peer address). MaxDownloadMiB caps a downloaded
	// video (default 2048).
	ImportDirs     []string `json:"import_dirs,omitempty"`
	OutboundAllow  []string `json:"outbound_allow,omitempty"`
	TrustedProxies []string `json:"trusted_proxies,omitempty"`
	MaxDownloadMiB int64    `json:"max_download_mib,omitempty"`

	// Distributed mode: PostgreSQL for metadata and records, an S3 server (MinIO) for
	// objects, Redis for the job queue; analysis runs on remote `cityeye worker
	// --server` processes placed by the scheduler. Empty: embedded mode.
	Database         string            `json:"database,omitempty"` // postgres://user@host:port/db
	S3               *objects.S3Config `json:"s3,omitempty"`
	Redis            string            `json:"redis,omitempty"` // host:port
	HeartbeatTimeout float64           `json:"heartbeat_timeout_s,omitempty"`
	// NotifyRequeueS: how often notifications still pending are queued again
	// (default 30 s), for when the queue lost them (Redis restarted without data).
	NotifyRequeueS float64 `json:"notify_requeue_s,omitempty"`
	// AdvertiseURL is where the other servers reach this one's API (the scheduler
	// leader publishes it; followers forward workers' heartbeats there); default
	// http:// and the listen address (with this host's name for an unspecified IP).
	AdvertiseURL string `json:"advertise_url,omitempty"`
}

// spoolLimits are a worker spool's limits in the configuration's units.
type spoolLimits struct {
	MaxMiB      int64   `json:"max_mib,omitempty"`
	MaxAgeHours float64 `json:"max_age_hours,omitempty"`
}

func (l spoolLimits) config(dir string) workers.SpoolConfig {
	return workers.SpoolConfig{Dir: dir, MaxBytes: l.MaxMiB << 20, MaxAge: time.Duration(l.MaxAgeHours * float64(time.Hour))}
}

// tokenLifetime is TokenDays as a duration (0: the API's default, 90 days).
func (c serveConfig) tokenLifetime() time.Duration {
	return time.Duration(c.TokenDays) * 24 * time.Hour
}

// tokenLifetimeOrDefault is the lifetime a token without one gets.
func (c serveConfig) tokenLifetimeOrDefault() time.Duration {
	if c.TokenDays > 0 {
		return c.tokenLifetime()
	}
	return api.DefaultTokenLifetime
}

// distributed reports whether remote workers run the analysis.
func (c serveConfig) distributed() bool { return c.Database != "" }

func defaultServeConfig() serveConfig {
	return serveConfig{Listen: "127.0.0.1:8080", Data: "./data", Models: defaultRepo(), Provider: "auto", Retention: workers.DefaultRetention}
}

// serveFlags registers the shared flags; the returned func applies config file,
// environment and explicitly set flags in that order.
func serveFlags(fs *flag.FlagSet) (*serveConfig, func() error) {
	cfg := defaultServeConfig()
	flags := cfg
	configPath := fs.String("config", "", "JSON config file (keys: listen, data, models, provider, capacity_fps, loop_files, fast_files, retention {record_days, scene_days, crop_days, alert_days}, max_clock_skew_s, viid_digest_every_request, viid_server_id, token_days, map_tiles, spool {max_mib, max_age_hours}; "+
		"security: import_dirs, outbound_allow, trusted_proxies, max_download_mib; distributed: database, s3 {endpoint, access_key, secret_key, bucket}, redis, heartbeat_timeout_s, notify_requeue_s, advertise_url)")
	var importDirs, outboundAllow, trustedProxies string
	fs.StringVar(&importDirs, "import-dirs", "", "comma-separated folders file:// streams and analyses may name (CITYEYE_IMPORT_DIRS)")
	fs.StringVar(&outboundAllow, "outbound-allow", "", "comma-separated internal targets webhooks, downloads and on-request camera key frames may reach: CIDR, IP, IP:port, host:port (CITYEYE_OUTBOUND_ALLOW)")
	fs.StringVar(&trustedProxies, "trusted-proxies", "", "comma-separated proxy IPs/CIDRs whose X-Forwarded-For is believed (CITYEYE_TRUSTED_PROXIES)")
	fs.StringVar(&flags.Listen, "listen", cfg.Listen, "API listen address (CITYEYE_LISTEN)")
	fs.StringVar(&flags.Data, "data", cfg.Data, "data folder: database and snapshots (CITYEYE_DATA)")
	fs.StringVar(&flags.Models, "models", cfg.Models, "model repository folder (CITYEYE_MODELS)")
	fs.StringVar(&flags.Provider, "provider", cfg.Provider, "execution provider: auto, cpu or cuda (CITYEYE_PROVIDER)")
	fs.Float64Var(&flags.CapacityFPS, "capacity-fps", cfg.CapacityFPS, "optional cap on the analysed frames per second this machine's worker is planned for, and the total departments' fps_share quotas divide; 0 (default): capacity is sized from measured costs and the cores (CITYEYE_CAPACITY_FPS)")
	fs.BoolVar(&flags.LoopFiles, "loop-files", cfg.LoopFiles, "loop file:// streams like live cameras (CITYEYE_LOOP_FILES)")
	fs.StringVar(&flags.VIIDServerID, "viid-server-id", cfg.VIIDServerID, "this view library's 20-digit GA/T 1400 ID (CITYEYE_VIID_SERVER_ID); default 44150200005030000001")
	fs.StringVar(&flags.MapTiles, "map-tiles", cfg.MapTiles, "console map tile URL template with {z} {x} {y} (CITYEYE_MAP_TILES); empty: a coordinate grid")
	fs.BoolVar(&flags.FastFiles, "fast-files", cfg.FastFiles, "decode file:// streams as fast as possible instead of in real time (CITYEYE_FAST_FILES)")
	return &cfg, func() error {
		if *configPath != "" {
			b, err := os.ReadFile(*configPath)
			if err != nil {
				return err
			}
			if err := decodeConfig(b, &cfg); err != nil {
				return fmt.Errorf("%s: %w", *configPath, err)
			}
		}
		env := map[string]func(string) error{
			"CITYEYE_LISTEN":          func(v string) error { cfg.Listen = v; return nil },
			"CITYEYE_DATA":            func(v string) error { cfg.Data = v; return nil },
			"CITYEYE_MODELS":          func(v string) error { cfg.Models = v; return nil },
			"CITYEYE_PROVIDER":        func(v string) error { cfg.Provider = v; return nil },
			"CITYEYE_CAPACITY_FPS":    func(v string) (err error) { cfg.CapacityFPS, err = strconv.ParseFloat(v, 64); return },
			"CITYEYE_LOOP_FILES":      func(v string) (err error) { cfg.LoopFiles, err = strconv.ParseBool(v); return },
			"CITYEYE_FAST_FILES":      func(v string) (err error) { cfg.FastFiles, err = strconv.ParseBool(v); return },
			"CITYEYE_IMPORT_DIRS":     func(v string) error { cfg.ImportDirs = splitList(v); return nil },
			"CITYEYE_OUTBOUND_ALLOW":  func(v string) error { cfg.OutboundAllow = splitList(v); return nil },
			"CITYEYE_TRUSTED_PROXIES": func(v string) error { cfg.TrustedProxies = splitList(v); return nil },
			"CITYEYE_MAP_TILES":       func(v string) error { cfg.MapTiles = v; return nil },
			"CITYEYE_VIID_SERVER_ID":  func(v string) error { cfg.VIIDServerID = v; return nil },
			"CITYEYE_ADVERTISE_URL":   func(v string) error { cfg.AdvertiseURL = v; return nil },
		}
		for k, set := range env {
			if v, ok := os.LookupEnv(k); ok {
				if err := set(v); err != nil {
					return fmt.Errorf("%s=%q: %w", k, v, err)
				}
			}
		}
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "listen":
				cfg.Listen = flags.Listen
			case "data":
				cfg.Data = flags.Data
			case "models":
				cfg.Models = flags.Models
			case "provider":
				cfg.Provider = flags.Provider
			case "capacity-fps":
				cfg.CapacityFPS = flags.CapacityFPS
			case "loop-files":
				cfg.LoopFiles = flags.LoopFiles
			case "fast-files":
				cfg.FastFiles = flags.FastFiles
			case "import-dirs":
				cfg.ImportDirs = splitList(importDirs)
			case "outbound-allow":
				cfg.OutboundAllow = splitList(outboundAllow)
			case "trusted-proxies":
				cfg.TrustedProxies = splitList(trustedProxies)
			case "map-tiles":
				cfg.MapTiles = flags.MapTiles
			case "viid-server-id":
				cfg.VIIDServerID = flags.VIIDServerID
			}
		})
		return nil
	}
}

func decodeConfig(b []byte, cfg *serveConfig) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	return dec.Decode(cfg)
}

// embedded is the whole system in one process: API, scheduler, one worker, SQLite
// and a local object folder.
type embedded struct {
	cfg    serveConfig
	db     *store.DB
	worker *workers.Worker
	sched  *scheduler.Scheduler
	jobs   jobs.Queue
	http   *http.Server
	ln     net.Listener
	cancel context.CancelFunc
	done   chan struct{}
}

func startEmbedded(parent context.Context, cfg serveConfig) (*embedded, error) {
	importDirs, outbound, err := cfg.security()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(parent)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	base := "http://" + ln.Addr().String() + "/api/v1/objects/"
	var objs objects.Store
	if cfg.S3 != nil {
		c := *cfg.S3
		if c.PublicBase == "" {
			c.PublicBase = base
		}
		objs, err = objects.NewS3(ctx, c)
	} else {
		objs, err = objects.NewLocal(filepath.Join(cfg.Data, "objects"), base)
	}
	if err != nil {
		cancel()
		ln.Close()
		return nil, err
	}
	var db *store.DB
	if cfg.Database != "" {
		db, err = store.OpenPostgres(ctx, cfg.Database)
	} else {
		db, err = store.OpenSQLite(ctx, filepath.Join(cfg.Data, "cityeye.db"))
	}
	if err != nil {
		cancel()
		ln.Close()
		return nil, err
	}
	db.EnableGroupCommit(store.GroupCommit{}) // the record path: records and intents share commits
	if owns, err := db.OwnsAuditLog(ctx); err == nil && owns {
		slog.Warn("this server's database role owns audit_log, so it (and anyone with its DSN) can disable the append-only triggers: " +
			"connect the server and workers as an application role (cityeye db grant --role cityeye_app; docs/security.md)")
	}
	// whatever a crash left half-written belongs to no record: remove it. Embedded,
	// before any writer runs; distributed, remote workers may be writing, so only
	// what is older than any write in flight, now and every 10 minutes
	sweep := func(cutoff time.Time) {
		var n int
		var err error
		if cfg.distributed() {
			n, err = db.SweepOlder(ctx, objs, cutoff)
		} else {
			n, err = db.Sweep(ctx, objs)
		}
		if err != nil {
			slog.Warn("sweep of pending snapshots failed", "err", err)
		} else if n > 0 {
			slog.Info("removed snapshots left by an interrupted write", "count", n)
		}
	}
	sweep(time.Now().Add(-10 * time.Minute))
	if cfg.distributed() {
		go func() {
			for t := time.NewTicker(10 * time.Minute); ; {
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
					sweep(time.Now().Add(-10 * time.Minute))
				}
			}
		}()
	}
	token, created, err := api.Bootstrap(ctx, db, cfg.tokenLifetime())
	if err == nil && created {
		err = os.WriteFile(filepath.Join(cfg.Data, "admin.token"), []byte(token+"\n"), 0o600)
		slog.Info("created the platform administrator (user admin); its API token is in "+filepath.Join(cfg.Data, "admin.token"),
			"expires_in", cfg.tokenLifetimeOrDefault().String(), "renew", "POST /api/v1/users/admin/tokens before it expires")
	}
	var key, skey []byte
	if err == nil {
		key, err = watermarkKey(cfg.Data)
	}
	if err == nil {
		skey, err = streamKey(cfg.Data)
	}
	if err == nil {
		var n int
		if n, err = db.SetStreamKey(ctx, skey); n > 0 {
			slog.Info("encrypted the stream URLs stored in plain text by an older version", "streams", n)
		}
	}
	if err != nil {
		cancel()
		ln.Close()
		db.Close()
		return nil, err
	}
	// embedded: one worker in this process; distributed: a cluster of remote workers;
	// both placed by the same planner (scheduler.Cluster)
	var w *workers.Worker
	var cluster *scheduler.Cluster
	var sched *scheduler.Scheduler
	var refresh func() // after a publish: the local worker re-resolves its models, or the cluster re-plans
	if cfg.distributed() {
		cluster = scheduler.NewCluster(time.Duration(cfg.HeartbeatTimeout * float64(time.Second)))
		// workers get the published models from the object store (issue 22)
		cluster.Catalog = scheduler.StoreCatalog{DB: db, Repo: models.Repository{Root: cfg.Models}}
		go measuredCosts(ctx, db, cluster)
		sched = scheduler.New(db, cluster, cfg.CapacityFPS)
		sched.Planner = cluster
		// any number of servers share the database: one leads the scheduler (answers
		// workers' heartbeats), the others follow and take over when it goes
		cluster.Follow()
		host, _ := os.Hostname()
		elector := &scheduler.Elector{DB: db, Cluster: cluster, Holder: fmt.Sprintf("%s %s pid %d", host, ln.Addr(), os.Getpid()),
			Every: min(cluster.Timeout/8, 500*time.Millisecond), OnLead: sched.Notify, URL: advertiseURL(cfg.AdvertiseURL, ln.Addr(), host)}
		go elector.Run(ctx)
		// a publish changes the packages leases carry
		refresh = sched.Notify
		go func() { // a silent worker loses its streams within Timeout + Timeout/10
			t := time.NewTicker(cluster.Timeout / 10)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if cluster.Sweep() {
						slog.Warn("re-placed the streams of workers that stopped heartbeating", "workers", cluster.Members())
					}
				}
			}
		}()
	} else {
		rec := workers.NewRecorder(db, objs, nil)
		if rec.Spool, err = workers.OpenSpool(cfg.Spool.config(filepath.Join(cfg.Data, "spool"))); err != nil {
			cancel()
			ln.Close()
			db.Close()
			return nil, err
		}
		w = workers.New(ctx, workers.Config{Repo: models.Repository{Root: cfg.Models}, Engine: engine.Options{Provider: engine.Provider(cfg.Provider)},
			LoopFiles: cfg.LoopFiles, FastFiles: cfg.FastFiles, RestrictFiles: true, ImportDirs: importDirs}, rec)
		// the same planner as distributed mode, with this machine as its one worker
		cluster = scheduler.NewCluster(5 * time.Second)
		local := scheduler.NewLocal(cluster, w, cfg.CapacityFPS)
		gpus := gpu.New() // this machine's GPUs, measured and placed on as a remote worker's
		bench := &workers.GPUBench{Repo: models.Repository{Root: cfg.Models}, Engine: engine.Options{Provider: engine.Provider(cfg.Provider)}}
		cpuBench := &workers.CPUBench{Repo: models.Repository{Root: cfg.Models}}
		local.GPUs, local.Bench = gpus.List, func() []plan.DeviceBench { return append(bench.Results(), cpuBench.Results()...) }
		local.CPU = func() float64 { return workers.ProcessCPU() - cpuBench.Spent() }
		go benchCPU(ctx, cpuBench)
		if engine.Provider(cfg.Provider) != engine.ProviderCPU {
			go benchGPUs(ctx, gpus, bench)
		}
		go func() { <-ctx.Done(); gpus.Close() }()
		go measuredCosts(ctx, db, cluster)
		go local.Run(ctx)
		sched = scheduler.New(db, local, cfg.CapacityFPS)
		sched.Planner = cluster
		refresh = w.RefreshModels
	}
	scratch, err := warehouse.ScratchDir(cfg.Data)
	if err != nil {
		cancel()
		ln.Close()
		db.Close()
		return nil, err
	}
	// one job queue for the process: model validation, notification delivery,
	// retention; on Redis (asynq) in distributed mode, so any server may run a job
	var q jobs.Queue = jobs.NewInProcess(2)
	if cfg.Redis != "" {
		q = jobs.NewAsynq(cfg.Redis, 2, "cityeye")
	}
	wh := &warehouse.Warehouse{DB: db, Objects: objs, Repo: models.Repository{Root: cfg.Models}, Scratch: scratch,
		Engine: engine.Options{Provider: engine.Provider(cfg.Provider)}, OnPublish: refresh, GPUName: gpuName}
	workers.ServeWarehouse(wh, q)
	srv := &api.Server{DB: db, Objects: objs, Scheduler: sched, Worker: w, Cluster: cluster, Repo: models.Repository{Root: cfg.Models}, Started: time.Now(),
		WatermarkKey: key, Warehouse: wh, Jobs: q,
		MaxClockSkew: time.Duration(cfg.MaxClockSkewS * float64(time.Second)), VIIDDigestEveryRequest: cfg.VIIDDigestEveryRequest,
		VIIDServerID: cfg.VIIDServerID, TokenLifetime: cfg.tokenLifetime(), RequeueEvery: time.Duration(cfg.NotifyRequeueS * float64(time.Second)),
		ImportDirs: importDirs, Outbound: outbound, TrustedProxies: cfg.TrustedProxies, MaxDownload: cfg.MaxDownloadMiB << 20}
	srv.RegisterJobs()
	workers.RegisterRetention(q, db, objs, cfg.Retention)
	err = q.Start(ctx)
	if err == nil {
		err = wh.Start(ctx)
	}
	if err == nil { // canaries widen, publish or roll back by themselves (issue 22)
		go (&scheduler.CanaryMonitor{DB: db, Cluster: cluster, Notify: sched.Notify, Publish: func(ctx context.Context, vendor, name, version string) error {
			_, err := wh.Publish(ctx, vendor, name, version)
			return err
		}}).Run(ctx, time.Second)
		go (&scheduler.ShadowMonitor{DB: db, Cluster: cluster, Notify: sched.Notify}).Run(ctx, time.Second)
	}
	if err == nil { // the platform's seed evaluation sets, once (docs/evaluation-sets.md)
		if serr := wh.SeedEvalSets(ctx, "platform"); serr != nil {
			slog.Warn("seed evaluation sets not stored", "err", serr)
		}
	}
	if err == nil {
		srv.RunRelay(ctx) // jobs committed with their change reach the queue when it is up
		err = srv.RunNotifier(ctx, 500*time.Millisecond)
		srv.RunCascade(ctx, 500*time.Millisecond)
		srv.RunDispositions(ctx, 250*time.Millisecond)
		workers.RunRetention(ctx, q, time.Hour)
	}
	if err != nil {
		cancel()
		ln.Close()
		db.Close()
		return nil, err
	}
	e := &embedded{cfg: cfg, db: db, worker: w, sched: sched, jobs: q, ln: ln, cancel: cancel, done: make(chan struct{}),
		http: &http.Server{Handler: api.WithConsole(srv.Handler(), api.ConsoleConfig{MapTiles: cfg.MapTiles}), ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		if err := e.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("http server", "err", err)
		}
	}()
	// what one server must do for all: on the scheduler's leader only
	rotation := diagnosisRotation(db, objs, sched, w, cluster, workers.Visit{Files: cfg.FastFiles, ImportDirs: importDirs})
	go whileLeading(ctx, cluster, func(ctx context.Context) { sched.RunSharingSweeper(ctx, time.Minute) })
	go whileLeading(ctx, cluster, func(ctx context.Context) { rotation.Run(ctx, 10*time.Second) })
	go func() {
		sched.Run(ctx, 10*time.Second)
		close(e.done)
	}()
	slog.Info("cityeye serving", "url", e.URL(), "data", cfg.Data, "models", cfg.Models)
	return e, nil
}

// AdminToken is the bootstrap administrator's token (empty if it was removed).
func (e *embedded) AdminToken() string {
	b, _ := os.ReadFile(filepath.Join(e.cfg.Data, "admin.token"))
	return strings.TrimSpace(string(b))
}

// URL is the API's base URL.
func (e *embedded) URL() string { return "http://" + e.ln.Addr().String() }

// Stop shuts down in order: API, scheduler, worker (final records), database.
func (e *embedded) Stop() {
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.http.Shutdown(sctx)
	e.cancel()
	<-e.done
	e.jobs.Close() // a running job (validation, delivery) stops before the database closes
	if e.worker != nil {
		if err := e.worker.Close(); err != nil {
			slog.Warn("worker close", "err", err)
		}
	}
	e.db.Close()
}

func runServe(args []string) error {
	fs := newFlags("serve", "serve [--listen ADDR] [--data DIR] [--config FILE] …")
	cfgp, apply := serveFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	if err := apply(); err != nil {
		return err
	}
	cfg := *cfgp
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e, err := startEmbedded(ctx, cfg)
	if err != nil {
		return err
	}
	<-ctx.Done()
	slog.Info("shutting down")
	e.Stop()
	return nil
}

func init() {
	register("serve", "run the API, scheduler and an embedded worker (SQLite, local snapshots)", runServe)
}

// measuredCosts plans with the warehouse's measured costs of the published versions,
// refreshed every minute, until ctx ends.
func measuredCosts(ctx context.Context, db *store.DB, cluster *scheduler.Cluster) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		modelCosts(ctx, db, cluster)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// modelCosts feeds the cluster the per-core frames/s that the warehouse measured for
// each published version on a CPU (batch 1), replacing the built-in cost table, and
// the frames/s measured on a class of GPU (the fastest batch size: the batcher fills
// batches under load) for the GPUs of that class. Only the platform's own models set
// the cost of a model name: another vendor's build never changes how every task
// using that name is planned.
func modelCosts(ctx context.Context, db *store.DB, cluster *scheduler.Cluster) {
	vs, err := db.ListModelVersions(ctx, store.ModelFilter{Vendor: models.PlatformVendor, State: store.ModelPublished})
	if err != nil {
		slog.Warn("model costs", "err", err)
		return
	}
	for _, v := range vs {
		var bench []warehouse.BenchResult
		if json.Unmarshal(v.Bench, &bench) != nil {
			continue
		}
		for _, b := range bench {
			if b.Provider == "cpu" && b.BatchSize == 1 && b.FPSPerCore > 0 {
				cluster.SetModelFPS(v.Name, b.FPSPerCore)
			}
		}
		best := map[string]float64{}
		for _, b := range bench {
			if b.Provider == "cuda" && b.Device != "" && b.FPS > best[b.Device] {
				best[b.Device] = b.FPS
			}
		}
		for class, fps := range best {
			cluster.SetGPUModelFPS(class, v.Name, fps)
		}
	}
}

// gpuName names the GPU of a CUDA ordinal from this host's NVML inventory, so a
// warehouse benchmark run on CUDA records the class of card it measured.
func gpuName(ordinal int) string {
	inv := gpu.New()
	defer inv.Close()
	for _, g := range inv.List() {
		if g.Index == ordinal {
			return g.Model
		}
	}
	return ""
}
