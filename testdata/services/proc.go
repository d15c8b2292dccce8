package services

import (
	"bytes"
	"sync"
)

// serverLog collects a server's stdout and stderr (written concurrently) for the
// error messages of a failed start.
type serverLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *serverLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// tail is the last 2000 bytes of the log.
func (l *serverLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.b.String()
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	if s == "" {
		s = "(no output)"
	}
	return s
}

// freeAddr returns a loopback address whose port was free a moment ago.
