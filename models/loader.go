package models

import (
	"strings"
	"sync"
	"time"

	"github.com/cityeye/cityeye/models/engine"
)

// Loader loads models from a repository on first use and shares them between
// callers. A key is "name" (follow the repository: the published version, else the
// newest) or "name@version" (pinned). A followed name is resolved again at most
// every Recheck, so a publish reaches the next Get; the model it replaces is closed
// once the last caller holding it has released it. Safe for concurrent use, and so
// are the models' runs.
type Loader struct {
	Repo    Repository
	Engine  engine.Options
	Recheck time.Duration // how long a followed name's resolution is trusted (default 1 s)

	mu     sync.Mutex
	loaded map[string]*loadedModel
}

type loadedModel struct {
	m       *Model
	dir     string
	checked time.Time
	refs    int
	stale   bool // replaced or the loader closed: close when refs reaches 0
}

// Get returns key's model, loading it if needed, and a release function to call
// when the caller is done running it.
func (l *Loader) Get(key string) (*Model, func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.loaded == nil {
		l.loaded = map[string]*loadedModel{}
	}
	recheck := l.Recheck
	if recheck <= 0 {
		recheck = time.Second
	}
	cur := l.loaded[key]
	if cur == nil || (!isPinned(key) && time.Since(cur.checked) >= recheck) {
		name, version := splitKey(key)
		_, dir, err := l.Repo.Resolve(name, version)
		switch {
		case err != nil && cur == nil:
			return nil, nil, err
		case err != nil: // keep serving what is loaded
		case cur != nil && cur.dir == dir:
			cur.checked = time.Now()
		default:
			m, err := Load(dir, l.Engine)
			if err != nil {
				if cur == nil {
					return nil, nil, err
				}
				break // keep serving the loaded version
			}
			if cur != nil {
				l.retire(cur)
			}
			cur = &loadedModel{m: m, dir: dir, checked: time.Now()}
			l.loaded[key] = cur
		}
	}
	cur.refs++
	var once sync.Once
	return cur.m, func() { once.Do(func() { l.release(cur) }) }, nil
}

func (l *Loader) release(lm *loadedModel) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lm.refs--
	if lm.stale && lm.refs == 0 {
		lm.m.Close()
	}
}

// retire marks lm replaced and closes it if nobody holds it. Call with mu held.
func (l *Loader) retire(lm *loadedModel) {
	lm.stale = true
	if lm.refs == 0 {
		lm.m.Close()
	}
}

// Close closes every model once its holders have released it.
func (l *Loader) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, lm := range l.loaded {
		l.retire(lm)
		delete(l.loaded, k)
	}
}

func isPinned(key string) bool { return strings.Contains(key, "@") }

// splitKey splits "name@version" (version "" when absent).
func splitKey(key string) (name, version string) {
	name, version, _ = strings.Cut(key, "@")
	return name, version
}
