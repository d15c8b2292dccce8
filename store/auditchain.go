package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// The audit log is a hash chain: every entry carries the previous entry's hash and
// its own, SHA-256 over its fields and that previous hash. Whoever can write the
// table directly (the database owner, a superuser, anyone with the SQLite file) and
// changes or deletes an entry breaks the chain at that point unless they recompute
// every later hash; deleting the newest entries, or recomputing, shows against a
// head (ID and hash) that VerifyAudit printed earlier and was kept elsewhere.

// auditHash is an entry's hash: hex SHA-256 over its fields in a fixed order (ID,
// at as Unix milliseconds, user, department, token, action, target, grant, remote,
// status, detail, previous hash), each written as "<byte length>:<value>," so that
// no two different entries encode alike. Any language can recompute it.
func auditHash(e AuditEntry) string {
	var b strings.Builder
	for _, f := range []string{strconv.FormatInt(e.ID, 10), strconv.FormatInt(ms(e.At), 10), e.UserID, e.DeptID, e.TokenID, e.Action,
		e.Target, e.GrantID, e.Remote, strconv.Itoa(e.Status), e.Detail, e.PrevHash} {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
		b.WriteByte(',')
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// AuditReport is what VerifyAudit found.
type AuditReport struct {
	Entries  int64    `json:"entries"`   // rows read
	Legacy   int64    `json:"legacy"`    // leading rows written before the chain existed (no hash)
	HeadID   int64    `json:"head_id"`   // the newest entry: keep ID and hash elsewhere
	HeadHash string   `json:"head_hash"` // to detect a later truncation or rewrite
	Problems []string `json:"problems"`  // empty when the chain is intact
}

// OK reports whether the chain is intact.
func (r AuditReport) OK() bool { return len(r.Problems) == 0 }

// maxProblems bounds the report: past the first break, later ones follow from it.
const maxProblems = 20

// VerifyAudit reads the whole audit log in ID order and checks the chain: IDs
// consecutive, each hash recomputed, each previous hash the previous entry's. A
// head (ID > 0) recorded from an earlier run must still be there with its hash.
func (s *DB) VerifyAudit(ctx context.Context, headID int64, headHash string) (AuditReport, error) {
	var r AuditReport
	problem := func(f string, a ...any) {
		if len(r.Problems) < maxProblems {
			r.Problems = append(r.Problems, fmt.Sprintf(f, a...))
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+auditCols+` FROM audit_log ORDER BY id`)
	if err != nil {
		return r, err
	}
	defer rows.Close()
	var prev AuditEntry
	headSeen := false
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return r, err
		}
		r.Entries++
		switch {
		case e.Hash == "" && prev.Hash == "" && e.PrevHash == "":
			r.Legacy++ // before the chain: nothing to check but the order
		case e.Hash == "":
			problem("entry %d has no hash after chained entries: its hash was removed", e.ID)
		case e.Hash != auditHash(e):
			problem("entry %d was changed: its fields do not match its hash", e.ID)
		}
		if r.Entries > 1 && e.ID != prev.ID+1 {
			problem("entries %d to %d are missing (deleted)", prev.ID+1, e.ID-1)
		}
		if e.Hash != "" && e.PrevHash != prev.Hash {
			problem("entry %d does not follow entry %d: the chain was cut there (an entry deleted or changed)", e.ID, prev.ID)
		}
		if e.ID == headID {
			headSeen = true
			if e.Hash != headHash {
				problem("entry %d's hash is not the recorded head's: the log was rewritten from there", e.ID)
			}
		}
		prev = e
	}
	if err := rows.Err(); err != nil {
		return r, err
	}
	if headID > 0 && !headSeen {
		problem("the recorded head, entry %d, is gone: the log was truncated", headID)
	}
	r.HeadID, r.HeadHash = prev.ID, prev.Hash
	return r, nil
}
