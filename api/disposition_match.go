package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/store"
)

// The disposition matcher follows the captures as they are written (motor
// vehicles by their record's update, faces by their feature's: a plate read later
// or a better face shot is looked at again) from durable cursors, checks them
// against the watch lists in force and turns each catch into a hit: an alert on
// the map (kind disposition.plate or disposition.face; its image the watched
// photo or the scene beside the capture) and, when the disposition names a
// receiver, a DispositionNotification delivered like subscription notifications
// (the outbound guard, retries, the dead-letter view, the audit trail). A catch
// counts only if the disposition's setter may see the record.

// DispositionLookback is how far behind its cursor the matcher reads again: a
// change is stamped when written but seen when committed, so one committed late
// would otherwise fall behind a cursor that moved past its stamp. Captures
// already looked at in the window are skipped (in memory; after a restart the
// window is matched again and the hits' uniqueness keeps alarms single).
const DispositionLookback = 3 * time.Second

// dispositionBatch is the most captures one read returns; dispositionPages bounds
// the reads of one pass per stream of captures.
const (
	dispositionBatch = 500
	dispositionPages = 20
)

type dispositionMatcher struct {
	mu      sync.Mutex
	index   *watchIndex
	version string // of the dispositions table when index was built

	scan sync.Mutex                  // one pass at a time
	seen map[string]map[string]int64 // per stream: "record@change" looked at within the lookback
}

// watchChanged drops the index: the next pass rebuilds it.
func (s *Server) watchChanged() {
	s.dispositions.mu.Lock()
	s.dispositions.version = ""
	s.dispositions.mu.Unlock()
}

// watchIndex returns the index of the dispositions in force, rebuilt when the
// table changed.
func (s *Server) watchIndex(ctx context.Context) (*watchIndex, error) {
	m := &s.dispositions
	m.mu.Lock()
	defer m.mu.Unlock()
	v, err := s.DB.DispositionsVersion(ctx)
	if err != nil {
		return nil, err
	}
	if m.index == nil || v != m.version {
		ds, err := s.DB.ActiveDispositions(ctx, s.now())
		if err != nil {
			return nil, err
		}
		m.index, m.version = newWatchIndex(ds), v
	}
	return m.index, nil
}

// RunDispositions matches new captures every interval until ctx ends.
func (s *Server) RunDispositions(ctx context.Context, every time.Duration) {
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if err := s.MatchDispositions(ctx); err != nil && ctx.Err() == nil {
				slog.Error("disposition matching", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// MatchDispositions reads the captures changed since the cursors and raises what
// the watch lists catch. A failed catch stops the stream's pass at its capture,
// which the next pass reads again.
func (s *Server) MatchDispositions(ctx context.Context) error {
	m := &s.dispositions
	m.scan.Lock()
	defer m.scan.Unlock()
	idx, err := s.watchIndex(ctx)
	if err != nil {
		return err
	}
	if m.seen == nil {
		m.seen = map[string]map[string]int64{}
	}
	for _, faces := range []bool{false, true} {
		name := "disposition.plates"
		if faces {
			name = "disposition.faces"
		}
		if err := s.matchStream(ctx, idx, name, faces); err != nil {
			return err
		}
	}
	return nil
}

// matchStream is one pass over one stream of captures (plates or faces).
func (s *Server) matchStream(ctx context.Context, idx *watchIndex, name string, faces bool) error {
	cur, ok, err := s.DB.GetScanCursor(ctx, name)
	if err != nil {
		return err
	}
	if !ok { // the first pass starts from now: dispositions watch what comes
		return s.DB.SetScanCursor(ctx, name, store.ScanCursor{At: time.Now().UnixMilli()})
	}
	seen := s.dispositions.seen[name]
	if seen == nil {
		seen = map[string]int64{}
		s.dispositions.seen[name] = seen
	}
	from, top := store.ScanCursor{At: cur.At - DispositionLookback.Milliseconds()}, cur
	for page := 0; page < dispositionPages && err == nil; page++ {
		var ws []store.Watched
		if ws, err = s.DB.ChangedSince(ctx, faces, from, dispositionBatch); err != nil {
			break
		}
		for _, w := range ws {
			key := w.ID + "@" + strconv.FormatInt(w.Changed, 10)
			if _, done := seen[key]; !done {
				hits := idx.plateHits(w)
				if faces {
					hits = idx.faceHits(w)
				}
				for _, h := range hits {
					if err = s.raiseHit(ctx, h, w); err != nil {
						break
					}
				}
				if err != nil {
					break
				}
				seen[key] = w.Changed
			}
			from = store.ScanCursor{At: w.Changed, ID: w.ID}
			if w.Changed > top.At || (w.Changed == top.At && w.ID > top.ID) {
				top = from
			}
		}
		if len(ws) < dispositionBatch {
			break
		}
	}
	for k, at := range seen {
		if at < top.At-DispositionLookback.Milliseconds() {
			delete(seen, k)
		}
	}
	if top != cur {
		if serr := s.DB.SetScanCursor(ctx, name, top); serr != nil {
			return serr
		}
	}
	return err
}

// raiseHit turns a catch into its alert and notification, once per disposition
// and record.
func (s *Server) raiseHit(ctx context.Context, h watchHit, w store.Watched) error {
	d := h.d
	if done, err := s.DB.HasHit(ctx, d.ID, w.ID); err != nil || done {
		return err
	}
	p, err := s.DB.PrincipalOf(ctx, d.UserID)
	if err != nil {
		return nil // the setter is gone or disabled: the disposition catches nothing
	}
	if _, err := s.DB.GetRecord(ctx, p.Scope(), w.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil // not the department's to see
		}
		return err
	}
	sum := sha256.Sum256([]byte(d.ID + "/" + w.ID))
	aid := "D" + hex.EncodeToString(sum[:12])
	t := w.ShotTime.In(gat1400.Location)
	key := fmt.Sprintf("alerts/%s/%s/%s.jpg", w.DeviceID, t.Format("20060102"), aid)
	img, err := s.hitImage(ctx, d, h, w)
	if err != nil {
		return err
	}
	details, _ := json.Marshal(gin.H{"disposition_id": d.ID, "title": d.Title, "reason": d.Reason, "record_id": w.ID, "record_type": w.Type,
		"target": h.target, "watched": targetText(d, h.target), "seen_plate": w.Plate, "similarity": h.score})
	a := &store.Alert{ID: aid, Kind: "disposition." + d.Category, Level: 4 - d.Priority, TaskID: w.TaskID, DeviceID: w.DeviceID, DeptID: d.DeptID,
		Division: w.Division, GrantID: w.GrantID, Longitude: w.Longitude, Latitude: w.Latitude, Time: w.ShotTime, Image: key,
		Boxes: json.RawMessage("[]"), Details: details}
	hit := &store.DispositionHit{DispositionID: d.ID, RecordID: w.ID, Target: h.target, Score: h.score, AlertID: aid}
	var n *store.Notification
	if d.ReceiveAddr != "" {
		if n, err = s.dispositionNotification(ctx, d, w); err != nil {
			return err
		}
		hit.NotificationID = n.ID
	}
	var keys []string
	if img != nil {
		keys = []string{key}
	} else {
		a.Image = ""
	}
	if err := s.DB.Intend(ctx, keys); err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.Objects.Put(ctx, k, img, "image/jpeg"); err != nil {
			return err
		}
	}
	var job []store.OutboxJob
	if n != nil { // the delivery job commits with the notification (the queue may be down)
		job = append(job, notifyOutbox(n.ID))
	}
	err = s.DB.SaveDispositionHit(ctx, hit, a, n, job...)
	if errors.Is(err, store.ErrConflict) { // another server raised it first
		for _, k := range keys {
			s.Objects.Delete(ctx, k)
		}
		return s.DB.Forget(ctx, keys)
	}
	if err != nil {
		return err
	}
	s.kickRelay()
	return nil
}

func targetText(d *store.Disposition, n int) string {
	for _, t := range d.Targets {
		if t.N == n && t.Plate != "" {
			return t.Plate
		}
	}
	return fmt.Sprintf("face %d", n)
}

// dispositionNotification builds the DispositionNotification of a catch: the
// record's object as stored, under the object's own name.
func (s *Server) dispositionNotification(ctx context.Context, d *store.Disposition, w store.Watched) (*store.Notification, error) {
	now := s.now()
	serial, err := s.DB.NextSerial(ctx, s.serverID(), now)
	if err != nil {
		return nil, err
	}
	nid := gat1400.BusinessID(s.serverID()[:12], gat1400.BusinessDispositionNotification, now.In(gat1400.Location), serial)
	dn := gat1400.DispositionNotification{NotificationID: nid, DispositionID: d.ID, Title: d.Title, TriggerTime: gat1400.FormatTime(now.In(gat1400.Location)),
		CntObjectID: w.ID}
	switch w.Type {
	case "MotorVehicle":
		dn.MotorVehicleObject = w.Body
	case "Face":
		dn.FaceObject = w.Body
	case "Person":
		dn.PersonObject = w.Body
	}
	body, _ := json.Marshal(gat1400.NewDispositionNotificationList(dn))
	return &store.Notification{ID: nid, SubID: d.ID, DeptID: d.DeptID, Items: []string{w.ID}, Body: body}, nil
}

// notificationTarget is who a notification goes to: its subscription, or the
// disposition it reports a hit of (as a subscription of kind disposition).
func (s *Server) notificationTarget(ctx context.Context, id string) (store.Subscription, error) {
	sub, err := s.DB.GetSubscription(ctx, id)
	if !errors.Is(err, store.ErrNotFound) {
		return sub, err
	}
	d, derr := s.DB.GetDisposition(ctx, id)
	if derr != nil {
		return sub, err
	}
	return store.Subscription{ID: d.ID, Kind: "disposition", UserID: d.UserID, DeptID: d.DeptID, ReceiveAddr: d.ReceiveAddr}, nil
}

// recordImages picks a record's scene and crop keys (the recorder's -scene and
// -crop; a pushed record's first and last image).
func recordImages(r store.Record) (scene, crop string) {
	for _, k := range r.Images {
		switch {
		case strings.HasSuffix(k, "-scene.jpg"):
			scene = k
		case strings.HasSuffix(k, "-crop.jpg"):
			crop = k
		}
	}
	if len(r.Images) > 0 {
		if scene == "" {
			scene = r.Images[0]
		}
		if crop == "" {
			crop = r.Images[len(r.Images)-1]
		}
	}
	return scene, crop
}
