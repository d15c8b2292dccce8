package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// GroupCommit configures EnableGroupCommit.
type GroupCommit struct {
	MaxBatch   int           // operations per transaction (default 256)
	MaxWait    time.Duration // how long a batch waits for more operations while others are in flight (default 1 ms)
	Committers int           // batches in flight at once (default 4)
}

// EnableGroupCommit makes Intend and SaveRecord join batches: the operations that
// arrive while batches commit are gathered, up to MaxBatch or for MaxWait after the
// first, and committed together, so a commit (a WAL flush on PostgreSQL, an fsync
// on SQLite) and the statements' round trips are shared by a batch instead of paid
// by each record. Each call still returns only once its own operation is
// committed, so the record + snapshot protocol keeps its order per record (Intend
// committed before the objects are written, SaveRecord after) and its crash
// safety; a call waits at most MaxWait plus one batch longer than alone. On
// PostgreSQL a batch's intents and new records go in with one statement
// (pgBatchSQL), its updates in one transaction after it (applyBatch).
//
// When a batch fails, each of its operations is run again on its own, so an error
// (a conflicting record, say) reaches only the call that caused it. Call it once,
// before the writers start; Close stops the committers.
func (s *DB) EnableGroupCommit(cfg GroupCommit) {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 256
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = time.Millisecond
	}
	if cfg.Committers <= 0 {
		cfg.Committers = 4
	}
	g := &groupCommit{s: s, cfg: cfg, ops: make(chan *gcOp, cfg.MaxBatch*cfg.Committers), batches: make(chan []*gcOp), stop: make(chan struct{})}
	go g.gather()
	for range cfg.Committers {
		go g.commitLoop()
	}
	s.gc = g
}

type groupCommit struct {
	s       *DB
	cfg     GroupCommit
	ops     chan *gcOp
	batches chan []*gcOp
	stop    chan struct{}
	once    sync.Once

	inFlight atomic.Int64 // operations submitted and not done

	nBatches, nOps atomic.Int64 // committed, for GroupCommitStats
}

// gcOp is one Intend (intend) or SaveRecord (rec) waiting for its batch.
type gcOp struct {
	intend   []string
	rec      *Record
	replaced []string
	err      error
	done     chan struct{}
}

var errGroupCommitClosed = errors.New("store closed")

// submit queues op and waits until its batch is committed (or ctx ends: the
// operation may still commit then, which the record protocol allows, as after a
// lost connection).
func (g *groupCommit) submit(ctx context.Context, op *gcOp) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	op.done = make(chan struct{})
	g.inFlight.Add(1)
	select {
	case g.ops <- op:
	case <-g.stop:
		g.inFlight.Add(-1)
		return nil, errGroupCommitClosed
	case <-ctx.Done():
		g.inFlight.Add(-1)
		return nil, ctx.Err()
	}
	select {
	case <-op.done:
		return op.replaced, op.err
	case <-g.stop:
		return nil, errGroupCommitClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// GroupCommitStats reports the transactions group commit ran and the operations
// they carried (0, 0 when it is off): ops/batches is the mean batch.
func (s *DB) GroupCommitStats() (batches, ops int64) {
	if s.gc == nil {
		return 0, 0
	}
	return s.gc.nBatches.Load(), s.gc.nOps.Load()
}

func (g *groupCommit) close() {
	g.once.Do(func() { close(g.stop) })
}

// gather forms batches until Close and hands them to the committers: the first
// operation waiting, what is queued behind it, and, while other operations are in
// flight (writers overlap), what arrives within MaxWait; then, until a committer
// is free to take it, whatever else arrives, up to MaxBatch. A lone writer's
// operation goes at once; under load batches grow as long as commits take.
func (g *groupCommit) gather() {
	for {
		var batch []*gcOp
		select {
		case <-g.stop:
			return
		case op := <-g.ops:
			batch = append(make([]*gcOp, 0, g.cfg.MaxBatch), op)
		}
	queued:
		for len(batch) < g.cfg.MaxBatch {
			select {
			case op := <-g.ops:
				batch = append(batch, op)
			default:
				break queued
			}
		}
		if g.cfg.MaxWait > 0 && g.inFlight.Load() > int64(len(batch)) {
			timer := time.NewTimer(g.cfg.MaxWait)
		gather:
			for len(batch) < g.cfg.MaxBatch {
				select {
				case op := <-g.ops:
					batch = append(batch, op)
				case <-timer.C:
					break gather
				}
			}
			timer.Stop()
		}
		// until a committer takes it, the batch takes what arrives
	handoff:
		for {
			in := g.ops
			if len(batch) == g.cfg.MaxBatch {
				in = nil
			}
			select {
			case g.batches <- batch:
				break handoff
			case op := <-in:
				batch = append(batch, op)
			case <-g.stop:
				return
			}
		}
	}
}

// commitLoop is one committer.
func (g *groupCommit) commitLoop() {
	for {
		select {
		case <-g.stop:
			return
		case batch := <-g.batches:
			g.commit(batch)
		}
	}
}

// commit runs a batch (applyBatch), or, when that fails, each operation alone so
// that the error is its own.
func (g *groupCommit) commit(batch []*gcOp) {
	ctx := context.Background()
	g.nBatches.Add(1)
	g.nOps.Add(int64(len(batch)))
	err := g.s.applyBatch(ctx, batch)
	if err != nil && len(batch) > 1 {
		for _, op := range batch {
			op.err = g.s.applyBatch(ctx, []*gcOp{op})
			g.inFlight.Add(-1)
			close(op.done)
		}
		return
	}
	for _, op := range batch {
		op.err = err
		g.inFlight.Add(-1)
		close(op.done)
	}
}

// applyBatch commits the batch's operations: on SQLite in one transaction; on
// PostgreSQL the intents and new records with one statement (pgBatchSQL: one round
// trip, committed by itself), then the updates in one transaction. Each operation
// is whole in one of them, and the operations of a batch need nothing of each
// other, so a failure part-way leaves each one done or not done, never half: the
// caller runs the failed batch's operations again one by one (commit), which the
// record protocol's idempotent steps allow.
//
// A recorder never has two operations of one record in flight (it waits for each);
// saves of one track from several callers at once are applied one after the other,
// as their transactions would be.
func (s *DB) applyBatch(ctx context.Context, batch []*gcOp) error {
	var keys []string
	var recs []*gcOp
	for _, op := range batch {
		op.replaced = nil // an operation may run more than once
		keys = append(keys, op.intend...)
		if op.rec != nil {
			recs = append(recs, op)
		}
	}
	if _, ok := s.dialect.(postgresDialect); ok {
		var err error
		for attempt := 1; ; attempt++ { // the statement's own retry on a deadlock, as tx's
			if recs, err = s.pgBatch(ctx, keys, recs); err == nil || attempt == 5 || !s.dialect.retryable(err) {
				break
			}
			time.Sleep(time.Duration(attempt*attempt) * 5 * time.Millisecond)
		}
		if err != nil || len(recs) == 0 {
			return err
		}
		keys = nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys { // SQLite
			if _, err := tx.ExecContext(ctx, s.q(intendSQL), k, ms(now())); err != nil {
				return err
			}
		}
		for _, op := range recs { // updates, and what the set insert left
			var err error
			if op.replaced, err = s.saveRecordTx(ctx, tx, op.rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// pgBatchSQL is a batch in one statement, one round trip: the intents (Intend),
// the new records (those whose track and ID are free: ON CONFLICT DO NOTHING), their
// images out of pending (found by the primary key: $27 holds every image of the
// batch's records, the join keeps those inserted) and their plates into the
// dictionary (as saveRecordTx does for one). It returns the track keys it inserted. The intents and the records'
// images never share a key: a record's Intend and SaveRecord are never in one batch.
const pgBatchSQL = `WITH intents AS (
	INSERT INTO pending_objects (key, created_at) SELECT unnest($1::text[]), $2::bigint
	ON CONFLICT DO NOTHING
), ins AS (
	INSERT INTO records (id, type, device_id, task_id, dept_id, admin_division, grant_id, track_key, body, images,
		shot_time, created_at, updated_at, score, longitude, latitude,
		plate_no, plate_color, vehicle_color, vehicle_class, coat_color, trousers_color, gender, age_band)
	SELECT * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
		$13::bigint[], $14::bigint[], $15::bigint[], $16::float8[], $17::float8[], $18::float8[],
		$19::text[], $20::text[], $21::text[], $22::text[], $23::text[], $24::text[], $25::text[], $26::text[])
	ON CONFLICT DO NOTHING RETURNING track_key, images, plate_no
), done AS (
	DELETE FROM pending_objects WHERE key = ANY($27::text[]) AND key IN (SELECT jsonb_array_elements_text(images::jsonb) FROM ins)
), plates_ins AS (
	INSERT INTO plates (plate_no) SELECT DISTINCT plate_no FROM ins WHERE plate_no <> '' ON CONFLICT DO NOTHING
)
SELECT track_key FROM ins`

// pgBatch runs pgBatchSQL for keys and the records of ops, and returns the
// operations it did not insert: updates of a track that has its record, a second
// save of one track in the batch, or a track or ID another transaction took.
func (s *DB) pgBatch(ctx context.Context, keys []string, ops []*gcOp) ([]*gcOp, error) {
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var rest, fresh []*gcOp
	var (
		id, typ, dev, task, dept, div, grant, track, body, imgs []string
		plate, plateColor, vehColor, vehClass, coat, trousers   []string
		gender, age, images                                     []string
		shot, created, updated                                  []int64
		score, lon, lat                                         []float64
	)
	t := now()
	seen := map[string]bool{}
	for _, op := range ops {
		r := op.rec
		if seen[r.TrackKey] { // after the first, in the single path
			rest = append(rest, op)
			continue
		}
		seen[r.TrackKey] = true
		fresh = append(fresh, op)
		r.CreatedAt, r.UpdatedAt = t, t
		sf := extractSearch(r.Body)
		b, _ := json.Marshal(r.Images)
		id, typ, dev, task, dept = append(id, r.ID), append(typ, r.Type), append(dev, r.DeviceID), append(task, r.TaskID), append(dept, r.DeptID)
		div, grant, track, body, imgs = append(div, r.Division), append(grant, r.GrantID), append(track, r.TrackKey), append(body, string(r.Body)), append(imgs, string(b))
		shot, created, updated = append(shot, ms(r.ShotTime)), append(created, ms(t)), append(updated, ms(t))
		score, lon, lat = append(score, r.Score), append(lon, r.Longitude), append(lat, r.Latitude)
		plate, plateColor, vehColor, vehClass = append(plate, sf.PlateNo), append(plateColor, sf.PlateColor), append(vehColor, sf.VehicleColor), append(vehClass, sf.VehicleClass)
		coat, trousers, gender, age = append(coat, sf.CoatColor), append(trousers, sf.TrousersColor), append(gender, sf.Gender), append(age, sf.AgeBand)
		images = append(images, r.Images...)
	}
	rows, err := s.db.QueryContext(ctx, pgBatchSQL, keys, ms(t),
		id, typ, dev, task, dept, div, grant, track, body, imgs, shot, created, updated, score, lon, lat,
		plate, plateColor, vehColor, vehClass, coat, trousers, gender, age, images)
	if err != nil {
		return nil, s.dialect.mapErr(err)
	}
	inserted := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return nil, err
		}
		inserted[k] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, op := range fresh {
		if !inserted[op.rec.TrackKey] {
			rest = append(rest, op)
		}
	}
	return rest, nil
}
