package workers

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/netguard"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/objects"
	"github.com/cityeye/cityeye/workers/jobs"
	"github.com/cityeye/cityeye/workers/plan"
	"github.com/cityeye/cityeye/workers/source"
)

// Offline video analysis: a recorded video (a file on the server, or an http(s)
// URL) is analysed as if it came from a registered camera the caller's department
// may analyse. A background job runs a standalone worker over it once; its records
// are ordinary GA/T 1400 records of task "analysis-<id>", stamped with the camera,
// its area and the department, so the usual scope rules decide who sees them.

// KindAnalysis is the job kind of one offline video analysis (Key: the analysis ID).
const KindAnalysis = "analysis.run"

// analysisPoll is how often the job looks at the source's state.
const analysisPoll = 200 * time.Millisecond

// Analyses runs offline analyses (the API creates them in the store).
type Analyses struct {
	DB      *store.DB
	Objects objects.Store
	Repo    models.Repository
	Now     func() time.Time // the clock sharing grants are checked against (nil: time.Now)
	// ImportDirs are the folders a file:// video may be under; Outbound guards the
	// download of an http(s) one, of at most MaxDownload bytes (default 2 GiB)
	// within DownloadTimeout (default 30 min).
	ImportDirs      []string
	Outbound        *netguard.Guard
	MaxDownload     int64
	DownloadTimeout time.Duration
}

// Register makes q run analysis jobs; call it before q starts.
func (r *Analyses) Register(q jobs.Queue) {
	q.Handle(KindAnalysis, func(ctx context.Context, j jobs.Job) error { return r.Run(ctx, j.Key) })
}

func (r *Analyses) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Run is the job. It is idempotent: a done or failed analysis is left
// alone. Failures of the analysis itself (the video cannot be read, the camera is
// no longer the department's to analyse) end it failed; failures of the platform
// (the database, a shutdown) return an error so that the job is retried.
func (r *Analyses) Run(ctx context.Context, id string) error {
	err := r.DB.StartAnalysis(ctx, id)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrState) {
		return nil
	}
	if err != nil {
		return err
	}
	a, err := r.DB.GetAnalysis(ctx, id)
	if err != nil {
		return err
	}
	finish := func(frames int64, reason string) error {
		_, n, err := r.DB.ListRecords(ctx, store.RecordFilter{TaskID: a.TaskID(), Scope: auth.Scope{All: true}, Limit: 1})
		if err != nil {
			return err
		}
		if reason != "" {
			slog.Warn("offline analysis failed", "analysis", id, "url", a.URL, "reason", reason)
		}
		return r.DB.FinishAnalysis(context.WithoutCancel(ctx), id, frames, n, reason)
	}
	st, err := r.DB.GetStream(ctx, a.DeviceID)
	if errors.Is(err, store.ErrNotFound) {
		return finish(0, "stream "+a.DeviceID+" is no longer registered")
	}
	if err != nil {
		return err
	}
	dept, err := r.DB.GetDepartment(ctx, a.DeptID)
	if errors.Is(err, store.ErrNotFound) {
		return finish(0, "department "+a.DeptID+" no longer exists")
	}
	if err != nil {
		return err
	}
	acc, err := r.DB.Access(ctx, dept, st, r.now())
	if err != nil {
		return err
	}
	if !acc.Can(auth.RightAnalyse, a.Algorithm) {
		return finish(0, "department "+dept.ID+" may no longer analyse this camera: "+acc.Reason)
	}
	params, err := algorithms.ParseParams(a.Params)
	if err != nil {
		return finish(0, "params: "+err.Error())
	}
	st.URL = a.URL
	switch u, _ := url.Parse(a.URL); u.Scheme {
	case "file":
		// checked again now: the folders or the links in them may have changed
		p, err := source.ImportedFile(a.URL, r.ImportDirs)
		if errors.Is(err, source.ErrNotImported) {
			return finish(0, "video: "+err.Error())
		}
		var fi os.FileInfo
		if err == nil {
			fi, err = os.Stat(p)
		}
		if err != nil || !fi.Mode().IsRegular() {
			return finish(0, "video "+a.URL+" cannot be read")
		}
		st.URL = (&url.URL{Scheme: "file", Path: p}).String()
	case "http", "https":
		tmp, err := r.fetchVideo(ctx, a.URL)
		if ctx.Err() != nil {
			return ctx.Err() // interrupted: it runs again
		}
		if err != nil {
			slog.Warn("offline analysis: download failed", "analysis", id, "url", a.URL, "err", err)
			return finish(0, "video: download failed: "+publicDownloadError(err))
		}
		defer os.Remove(tmp)
		st.URL = "file://" + tmp
	}
	task := store.Task{ID: a.TaskID(), StreamID: st.ID, DeptID: a.DeptID, Algorithm: a.Algorithm, Params: a.Params, Enabled: true}
	w := New(ctx, Config{Repo: r.Repo, Engine: engine.Options{}, FastFiles: true, ModelCheck: -1},
		NewRecorder(r.DB, r.Objects, nil))
	w.Apply([]plan.StreamPlan{{Stream: st, Tasks: []plan.TaskPlan{{Task: task, Params: params, FPS: params.SampleFPS, GrantID: acc.GrantID}}}})
	t := time.NewTicker(analysisPoll)
	defer t.Stop()
	var frames int64
	reason := ""
	for {
		var sst plan.StreamStatus
		select {
		case <-ctx.Done():
			w.Close()
			return ctx.Err() // interrupted: it runs again (still "running")
		case <-t.C:
			sst = w.Status()[st.ID]
		}
		for _, ts := range sst.Tasks {
			frames = max(frames, ts.Frames)
		}
		if end, why := videoEnded(sst.Source); end {
			if why != "" { // the source's reason may name a local path: log it, show less
				slog.Warn("offline analysis: video failed", "analysis", id, "reason", why)
				why = "video: the file could not be decoded"
			}
			reason = why
			break
		}
	}
	if reason == "" { // the source is done; let the pipeline analyse the frames it still holds
		frames = drainAnalysis(ctx, w, st.ID, frames)
	}
	if err := w.Close(); err != nil { // final records of the objects still in view
		slog.Warn("offline analysis: closing the worker", "analysis", id, "err", err)
	}
	return finish(frames, reason)
}

// videoEnded reports whether the video's source is finished, and why when it failed.
func videoEnded(st source.Status) (bool, string) {
	switch {
	case st.State == source.StateError:
		return true, "video: " + st.Reason
	case st.State == source.StateOffline && st.Reason == "end of file":
		return true, ""
	}
	return false, ""
}

// drainAnalysis waits, after the source's end of file, until the task's frame count
// stops moving for a second (the source buffers a few decoded frames), at most 30 s.
func drainAnalysis(ctx context.Context, w *Worker, streamID string, frames int64) int64 {
	quiet, deadline := time.Now(), time.Now().Add(30*time.Second)
	for time.Since(quiet) < time.Second && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(analysisPoll)
		for _, ts := range w.Status()[streamID].Tasks {
			if ts.Frames > frames {
				frames, quiet = ts.Frames, time.Now()
			}
		}
	}
	return frames
}
