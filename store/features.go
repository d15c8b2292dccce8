package store

import (
	"container/heap"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/cityeye/cityeye/auth"
)

// Record features: appearance vectors (face embeddings) kept beside the records for
// search by photo. GA/T 1400 has no field for them that peers agree on (one server
// puts a FeatureInfoObject in SubImageInfo, the others have none), so they stay out of
// the GA/T body, in a table of their own keyed by the record's ID (record_features).
// vector is the base64 of the little-endian float32s (TEXT, not BLOB/BYTEA, so one
// code path serves both databases); a 192-d face feature takes 1 KiB.
//
// Search is brute force: every feature of the model in the caller's scope and time
// window is read and compared (cosine) in Go, keeping the top k. At embedded scale
// that is what an index would cost to maintain anyway: 100 000 faces (a camera's
// busy month) scan in well under a second. MaxFeatureScan bounds one search; beyond
// it the caller is told to narrow the window. A vector index (pgvector, FAISS) is the
// step for city scale.

// MaxFeatureScan is the most features one SearchFeatures compares.
const MaxFeatureScan = 200_000

// Feature is a record's appearance vector.
type Feature struct {
	RecordID string
	Model    string    // the model that computed it, e.g. mobilefacenet: only same-model vectors compare
	Vector   []float32 // L2-normalised
	Quality  float64   // the capture's best-shot quality
	Attrs    map[string]string
}

func encodeVector(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(b)
}

func decodeVector(s string) ([]float32, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b)%4 != 0 {
		return nil, fmt.Errorf("malformed feature vector")
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

// SaveFeature stores or replaces the feature of a record. The recorder calls it after
// SaveRecord, so a feature never outlives a failed record write for long: a crash in
// between leaves a record without a feature (not found by photo), never the reverse
// visible, since search joins features to records.
func (s *DB) SaveFeature(ctx context.Context, f Feature) error {
	if f.RecordID == "" || f.Model == "" || len(f.Vector) == 0 {
		return fmt.Errorf("feature needs a record ID, a model and a vector")
	}
	attrs, _ := json.Marshal(f.Attrs)
	if f.Attrs == nil {
		attrs = []byte("{}")
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO record_features (record_id, model, dim, vector, quality, attrs, updated_at) VALUES (?,?,?,?,?,?,?)
		ON CONFLICT (record_id) DO UPDATE SET model=excluded.model, dim=excluded.dim, vector=excluded.vector, quality=excluded.quality,
		attrs=excluded.attrs, updated_at=excluded.updated_at`),
		f.RecordID, f.Model, len(f.Vector), encodeVector(f.Vector), f.Quality, string(attrs), ms(now()))
	return err
}

// GetFeature returns a record's feature (ErrNotFound if it has none). No scope: the
// caller has checked the record is visible.
func (s *DB) GetFeature(ctx context.Context, recordID string) (Feature, error) {
	f := Feature{RecordID: recordID}
	var vec, attrs string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT model, vector, quality, attrs FROM record_features WHERE record_id=?`), recordID).Scan(&f.Model, &vec, &f.Quality, &attrs)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return f, ErrNotFound
		}
		return f, err
	}
	if f.Vector, err = decodeVector(vec); err != nil {
		return f, err
	}
	_ = json.Unmarshal([]byte(attrs), &f.Attrs)
	return f, nil
}

// PruneFeatures deletes the features of records that no longer exist (after a
// retention purge) and returns how many it deleted.
func (s *DB) PruneFeatures(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM record_features WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.id = record_features.record_id)`)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// FeatureQuery is a search by similarity.
type FeatureQuery struct {
	Scope     auth.Scope // what the caller may see (the records' visibility, applied in the SQL)
	Type      string     // record type, e.g. Face
	Model     string     // compare only features of this model
	Vector    []float32  // the probe, L2-normalised
	From, To  time.Time  // shot-time window, inclusive; zero: unbounded
	DeviceIDs []string   // any of these cameras; empty: all
	TopK      int        // 1..100
	MinScore  float64    // cosine similarity at least this
}

// FeatureMatch is one record similar to the probe.
type FeatureMatch struct {
	RecordID string    `json:"record_id"`
	Type     string    `json:"type"`
	DeviceID string    `json:"device_id"`
	TaskID   string    `json:"task_id"`
	GrantID  string    `json:"grant_id,omitempty"`
	ShotTime time.Time `json:"shot_time"`
	Score    float64   `json:"score"`   // cosine similarity in [-1, 1]
	Quality  float64   `json:"quality"` // the capture's best-shot quality
	Images   []string  `json:"images"`  // the record's snapshot keys (scene, crop): fetch via /api/v1/objects
}

// SearchFeatures returns the TopK records in q's scope and window whose features are
// most similar (cosine) to q.Vector, best first, with how many features it compared;
// truncated reports that MaxFeatureScan stopped the scan (the newest were compared).
func (s *DB) SearchFeatures(ctx context.Context, q FeatureQuery) (matches []FeatureMatch, scanned int, truncated bool, err error) {
	if len(q.Vector) == 0 || q.Model == "" {
		return nil, 0, false, fmt.Errorf("search needs a model and a probe vector")
	}
	scope, args := recordScope(q.Scope)
	where := []string{scope, "f.model=?", "f.dim=?"}
	args = append(args, q.Model, len(q.Vector))
	if q.Type != "" {
		where, args = append(where, "records.type=?"), append(args, q.Type)
	}
	if !q.From.IsZero() {
		where, args = append(where, "records.shot_time>=?"), append(args, ms(q.From))
	}
	if !q.To.IsZero() {
		where, args = append(where, "records.shot_time<=?"), append(args, ms(q.To))
	}
	if len(q.DeviceIDs) > 0 {
		where = append(where, "records.device_id IN (?"+strings.Repeat(",?", len(q.DeviceIDs)-1)+")")
		for _, d := range q.DeviceIDs {
			args = append(args, d)
		}
	}
	args = append(args, MaxFeatureScan+1)
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT records.id, records.type, records.device_id, records.task_id, records.grant_id, records.shot_time, records.images, f.vector, f.quality
		FROM records JOIN record_features f ON f.record_id = records.id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY records.shot_time DESC LIMIT ?`), args...)
	if err != nil {
		return nil, 0, false, err
	}
	defer rows.Close()
	k := min(max(q.TopK, 1), 100)
	probe := normalised(q.Vector)
	h := &matchHeap{}
	for rows.Next() {
		if scanned == MaxFeatureScan {
			truncated = true
			break
		}
		var m FeatureMatch
		var shot int64
		var imgs, vec string
		if err := rows.Scan(&m.RecordID, &m.Type, &m.DeviceID, &m.TaskID, &m.GrantID, &shot, &imgs, &vec, &m.Quality); err != nil {
			return nil, 0, false, err
		}
		scanned++
		v, err := decodeVector(vec)
		if err != nil || len(v) != len(probe) {
			continue
		}
		score := cosine(probe, v)
		if score < q.MinScore {
			continue
		}
		if h.Len() == k && score <= (*h)[0].Score {
			continue
		}
		m.ShotTime, m.Score = fromMS(shot), score
		_ = json.Unmarshal([]byte(imgs), &m.Images)
		heap.Push(h, m)
		if h.Len() > k {
			heap.Pop(h)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, false, err
	}
	matches = make([]FeatureMatch, h.Len())
	for i := len(matches) - 1; i >= 0; i-- {
		matches[i] = heap.Pop(h).(FeatureMatch)
	}
	return matches, scanned, truncated, nil
}

func normalised(v []float32) []float64 {
	out := make([]float64, len(v))
	var n float64
	for i, x := range v {
		out[i] = float64(x)
		n += out[i] * out[i]
	}
	if n > 0 {
		n = math.Sqrt(n)
		for i := range out {
			out[i] /= n
		}
	}
	return out
}

// cosine of a unit probe with v (normalised here: stored vectors are, but a vendor's
// model might not be).
func cosine(probe []float64, v []float32) float64 {
	var dot, n float64
	for i, x := range v {
		dot += probe[i] * float64(x)
		n += float64(x) * float64(x)
	}
	if n == 0 {
		return 0
	}
	return dot / math.Sqrt(n)
}

// matchHeap is a min-heap on Score (the worst of the current top k on top); ties
// keep the newer shot, then the smaller ID, so results are deterministic.
type matchHeap []FeatureMatch

func (h matchHeap) Len() int { return len(h) }
func (h matchHeap) Less(i, j int) bool {
	if h[i].Score != h[j].Score {
		return h[i].Score < h[j].Score
	}
	if !h[i].ShotTime.Equal(h[j].ShotTime) {
		return h[i].ShotTime.Before(h[j].ShotTime)
	}
	return h[i].RecordID > h[j].RecordID
}
func (h matchHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *matchHeap) Push(x any)   { *h = append(*h, x.(FeatureMatch)) }
func (h *matchHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
