package workers

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/objects"
	"github.com/cityeye/cityeye/workers/plan"
)

// SpoolConfig bounds a worker's spool.
type SpoolConfig struct {
	Dir      string        // one file per write waiting; created if missing
	MaxBytes int64         // default 2 GiB: when a write would pass it, the write is refused
	MaxAge   time.Duration // default 24 h: a write waiting longer is dropped before it is tried
}

// Defaults of SpoolConfig.
const (
	DefaultSpoolBytes = 2 << 30
	DefaultSpoolAge   = 24 * time.Hour
)

// ErrSpoolFull is returned for a write the spool refused: it would pass MaxBytes.
var ErrSpoolFull = errors.New("spool full: write dropped")

// Spool keeps, on the worker's disk, the writes (records with their snapshots,
// alerts with theirs) that storage could not take, PostgreSQL or the object store
// being unreachable, and replays them in the order they came once it takes them
// again. Each write is one file written to a temporary name, synced and renamed, so
// a crash leaves it whole or absent; it is deleted only after the replay committed
// it. A replay after a partial write is harmless: every step of a write is
// idempotent by its record, alert and image IDs (see Recorder.write).
//
// When full, a new write is refused (the newest is the one lost, the queue keeps its
// order); a write older than MaxAge is dropped unreplayed; a write the database
// refuses for its content (store.Permanent) is dropped after its one attempt. Each
// case is counted, in plan.SpoolStats (heartbeat, /metrics) and the log.
type Spool struct {
	cfg  SpoolConfig
	wake chan struct{}

	mu      sync.Mutex
	files   []*spoolFile // in order; files[:head] are done
	head    int          // the oldest file not done
	next    int          // the next file to hand to a replayer (Run)
	waiting int          // files not done
	bytes   int64        // of the files not done
	seq     uint64
	stats   plan.SpoolStats
	lastErr string
}

type spoolFile struct {
	name    string
	size    int64
	created time.Time
	done    bool // written or dropped, and removed
}

// spoolEntry is one write: a record (with its face feature) or an alert, and the
// objects it points at.
type spoolEntry struct {
	Record  *store.Record
	Feature *store.Feature
	Alert   *store.Alert
	Objects []spoolObject

	saved bool // the record is committed (not spooled: unexported, gob skips it)
}

type spoolObject struct {
	Key  string
	Data []byte
}

func (e *spoolEntry) keys() []string {
	keys := make([]string, len(e.Objects))
	for i, o := range e.Objects {
		keys[i] = o.Key
	}
	return keys
}

const spoolExt = ".spool"

// OpenSpool opens the spool in cfg.Dir, taking up what a previous run left there.
func OpenSpool(cfg SpoolConfig) (*Spool, error) {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultSpoolBytes
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultSpoolAge
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	des, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{cfg: cfg, wake: make(chan struct{}, 1)}
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, objects.TempPrefix) { // a crash while writing: never acknowledged
			os.Remove(filepath.Join(cfg.Dir, name))
			continue
		}
		seq, created, ok := parseSpoolName(name)
		if !ok {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue
		}
		s.files = append(s.files, &spoolFile{name: name, size: fi.Size(), created: created})
		s.bytes += fi.Size()
		s.waiting++
		s.seq = max(s.seq, seq)
	}
	slices.SortFunc(s.files, func(a, b *spoolFile) int { return strings.Compare(a.name, b.name) })
	if len(s.files) > 0 {
		slog.Info("spool: writes left by the previous run will be replayed", "dir", cfg.Dir, "writes", len(s.files), "bytes", s.bytes)
	}
	return s, nil
}

// spoolName orders by sequence (fixed width) and carries the creation time.
func spoolName(seq uint64, created time.Time) string {
	return fmt.Sprintf("%020d-%d%s", seq, created.UnixNano(), spoolExt)
}

func parseSpoolName(name string) (uint64, time.Time, bool) {
	base, ok := strings.CutSuffix(name, spoolExt)
	if !ok {
		return 0, time.Time{}, false
	}
	a, b, ok := strings.Cut(base, "-")
	seq, err1 := strconv.ParseUint(a, 10, 64)
	ns, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return 0, time.Time{}, false
	}
	return seq, time.Unix(0, ns), true
}

// busy reports writes waiting: a new write must then queue behind them.
func (s *Spool) busy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting > 0
}

// push appends e. With ifBusy, only when writes are already waiting (checked and
// appended under one lock, so no write slips ahead of the queue); it reports
// whether e was queued.
func (s *Spool) push(e *spoolEntry, ifBusy bool) (bool, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(e); err != nil {
		return false, fmt.Errorf("spool: encode: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ifBusy && s.waiting == 0 {
		return false, nil
	}
	size := int64(buf.Len())
	if s.bytes+size > s.cfg.MaxBytes {
		s.stats.DroppedFull++
		return true, ErrSpoolFull
	}
	s.seq++
	created := time.Now()
	name := spoolName(s.seq, created)
	if err := objects.WriteFileAtomic(filepath.Join(s.cfg.Dir, name), buf.Bytes()); err != nil {
		s.stats.DroppedFull++ // a full or failing disk: the same outcome as a full spool
		return true, fmt.Errorf("%w: %v", ErrSpoolFull, err)
	}
	s.files = append(s.files, &spoolFile{name: name, size: size, created: created})
	s.bytes += size
	s.waiting++
	s.stats.Spooled++
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true, nil
}

func (s *Spool) read(f *spoolFile) (*spoolEntry, error) {
	b, err := os.ReadFile(filepath.Join(s.cfg.Dir, f.name))
	if err != nil {
		return nil, err
	}
	var e spoolEntry
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&e); err != nil {
		return nil, err
	}
	return &e, nil
}

// remove deletes f, whose write is done (or dropped), and counts why.
func (s *Spool) remove(f *spoolFile, count func(*plan.SpoolStats)) {
	if err := os.Remove(filepath.Join(s.cfg.Dir, f.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		slog.Warn("spool: cannot remove a replayed write; it would be replayed again after a restart (harmless: writes are idempotent)", "file", f.name, "err", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f.done = true
	s.waiting--
	s.bytes -= f.size
	count(&s.stats)
	for s.head < len(s.files) && s.files[s.head].done {
		s.head++
	}
	if s.head > 1024 && s.head > len(s.files)/2 { // forget what is done
		n := copy(s.files, s.files[s.head:])
		clear(s.files[n:])
		s.files, s.next, s.head = s.files[:n], max(s.next-s.head, 0), 0
	}
	if s.waiting == 0 {
		s.lastErr = ""
	}
}

// Stats reports the queue and its counters since the worker started.
func (s *Spool) Stats() plan.SpoolStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Writes, st.Bytes = s.waiting, s.bytes
	st.MaxBytes, st.MaxAgeSec = s.cfg.MaxBytes, s.cfg.MaxAge.Seconds()
	if s.head < len(s.files) {
		st.OldestAgeSec = time.Since(s.files[s.head].created).Seconds()
	}
	st.LastError = s.lastErr
	return st
}
