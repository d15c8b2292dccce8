package store

import (
	"errors"
	"strings"
)

// Permanent reports a write error that writing the same thing again cannot cure:
// the data itself is refused (a conflicting ID, a value the schema rejects). Any
// other error, an unreachable or restarting server above all, may pass: the
// worker's spool keeps such a write and tries it again (workers/spool.go). Unknown
// errors count as passing on purpose, so that nothing is dropped on a guess.
func Permanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrConflict) {
		return true
	}
	if code := pgCode(err); len(code) == 5 {
		switch code[:2] {
		case "22", "23": // data exception, integrity constraint violation
			return true
		}
		return false
	}
	// SQLite reports constraint failures in its message only
	return strings.Contains(err.Error(), "constraint failed")
}
