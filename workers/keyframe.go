package workers

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/netguard"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/source"
)

// Grabber takes one key frame of a camera that no pipeline decodes, on request
// (the console's camera page and the canvas a task's regions are drawn on): it
// opens the stream decoding key frames only, keeps the first, and closes it.
// Cameras are not hammered: a grab is bounded in time, a camera's result (frame or
// failure) is kept for Every and shared by every viewer and refresh meanwhile, and
// at most Limit grabs run at once. Network streams are opened only where the
// outbound guard admits the camera's address (the platform's outbound_allow), at
// the address it checked; file streams only under the import folders.
type Grabber struct {
	Timeout    time.Duration // one grab, opening included (default 8 s)
	Every      time.Duration // how long a camera's result is kept (default 10 s)
	Limit      int           // grabs at once over all cameras (default 2)
	ImportDirs []string
	Guard      *netguard.Guard

	once  sync.Once
	slots chan struct{}
	mu    sync.Mutex
	cams  map[string]*grab // by camera and URL: a changed URL is grabbed afresh
}

type grab struct {
	done  chan struct{} // closed when the fields below are final
	jpeg  []byte
	at    time.Time
	err   error
	ended time.Time
}

// ErrGrabBusy: Limit grabs are running; try again in a moment.
var ErrGrabBusy = errors.New("too many cameras are being opened for a frame right now: try again in a few seconds")

// ErrAddressRefused: the camera's address is not one the outbound guard admits.
var ErrAddressRefused = errors.New("this server may not open the camera's address (not among its outbound_allow targets)")

// KeyFrame returns a key frame of st as JPEG with its capture time: the kept one
// if the camera was grabbed less than Every ago, else a new grab (waited for until
// ctx ends). Errors are fit to show to the camera's viewers: no address in them.
func (g *Grabber) KeyFrame(ctx context.Context, st store.Stream) ([]byte, time.Time, error) {
	g.once.Do(func() {
		g.Timeout, g.Every = cmp.Or(g.Timeout, 8*time.Second), cmp.Or(g.Every, 10*time.Second)
		g.slots = make(chan struct{}, cmp.Or(max(g.Limit, 0), 2))
		g.cams = map[string]*grab{}
	})
	key := st.ID + "\x00" + st.URL
	g.mu.Lock()
	gr := g.cams[key]
	if gr == nil || gr.finished() && time.Since(gr.ended) >= g.Every {
		select {
		case g.slots <- struct{}{}:
		default:
			g.mu.Unlock()
			return nil, time.Time{}, ErrGrabBusy
		}
		g.prune()
		gr = &grab{done: make(chan struct{})}
		g.cams[key] = gr
		go g.run(gr, st)
	}
	g.mu.Unlock()
	select {
	case <-gr.done:
		return gr.jpeg, gr.at, gr.err
	case <-ctx.Done():
		return nil, time.Time{}, ctx.Err()
	}
}

func (gr *grab) finished() bool {
	select {
	case <-gr.done:
		return true
	default:
		return false
	}
}

// prune forgets results older than Every (g.mu held).
func (g *Grabber) prune() {
	for k, gr := range g.cams {
		if gr.finished() && time.Since(gr.ended) >= g.Every {
			delete(g.cams, k)
		}
	}
}

func (g *Grabber) run(gr *grab, st store.Stream) {
	defer func() {
		gr.ended = time.Now()
		close(gr.done)
		<-g.slots
	}()
	ctx, cancel := context.WithTimeout(context.Background(), g.Timeout)
	defer cancel()
	u, err := g.dialURL(ctx, st.URL)
	if err != nil {
		gr.err = err
		return
	}
	src := source.Open(ctx, source.Options{URL: u, KeyframesOnly: true, MaxGOP: -1, NoRealtime: true, Buffer: 1,
		OpenTimeout: g.Timeout, ReconnectMin: g.Timeout, ReconnectMax: g.Timeout, RestrictFiles: true, ImportDirs: g.ImportDirs})
	defer src.Close()
	for {
		var f source.Frame
		ok := false
		select {
		case f, ok = <-src.Frames():
		case <-ctx.Done():
		}
		if !ok {
			reason := withoutAddress(src.Status().Reason, u)
			if reason == "" {
				reason = "no key frame within " + g.Timeout.String()
			}
			gr.err = errors.New("the camera gave no frame: " + reason)
			return
		}
		if !f.Key {
			f.Mat.Close()
			continue
		}
		buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, f.Mat, []int{gocv.IMWriteJpegQuality, 90})
		f.Mat.Close()
		if err != nil {
			gr.err = err
			return
		}
		gr.jpeg, gr.at = append([]byte(nil), buf.GetBytes()...), f.Time
		buf.Close()
		return
	}
}

// defaultPorts are the ports FFmpeg connects to when a stream URL names none.
var defaultPorts = map[string]uint16{"rtsp": 554, "rtsps": 322, "rtmp": 1935, "rtmps": 443, "rtmpt": 80, "http": 80, "https": 443}

// dialURL checks a network stream's address against the guard and, for RTSP and
// RTMP, puts the checked address in the URL, so FFmpeg connects where the guard
// looked and a name cannot re-resolve in between. HTTP(S) streams keep their name
// (TLS and virtual hosts need it) once every address it resolves to is admitted.
// Files pass: the source opens them only under the import folders.
func (g *Grabber) dialURL(ctx context.Context, raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", errors.New("the camera's stream URL cannot be read")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme == "" || scheme == "file" {
		return raw, nil
	}
	port, ok := defaultPorts[scheme]
	if !ok {
		return "", errors.New("the camera's stream URL has an unsupported scheme")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return "", errors.New("the camera's stream URL has a bad port")
		}
		port = uint16(n)
	}
	a, err := g.Guard.Resolve(ctx, u.Hostname(), port)
	if err != nil {
		slog.Info("frame grab refused by the outbound guard", "host", u.Hostname(), "err", err)
		return "", ErrAddressRefused
	}
	if a.IsValid() && (scheme == "rtsp" || scheme == "rtmp" || scheme == "rtmpt") {
		u.Host = net.JoinHostPort(a.String(), strconv.Itoa(int(port)))
	}
	return u.String(), nil
}
