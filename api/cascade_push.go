package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/objects"
)

// Pushing an outbox batch up: new records as POST /VIID/<X>s (batch add), changed
// ones as PUT /VIID/<X>s (batch update; POST again where the superior has no PUT),
// each object with its snapshots inlined as base64 Data, since the superior cannot
// reach this library's object store. A batch is marked delivered only after every
// request was answered; a batch cut short is pushed whole again, which the
// superior's store takes idempotently by object ID. Objects the superior refuses
// (StatusCode other than 0) are listed in the batch and not retried.

// CascadeMaxRequest bounds one push request's body (the superior's limit for JSON
// bodies is 1 MiB on CityEye); a single object over it is refused here.
const CascadeMaxRequest = 900 << 10

type pushGroup struct {
	kind   viidKind
	update bool
	ids    []string
	bodies []json.RawMessage
}

func (s *Server) pushBatch(ctx context.Context, rt *linkRuntime, c *http.Client, l store.CascadeLink, b store.CascadeBatch) error {
	err := s.pushBatch1(ctx, rt, c, l, b)
	if err != nil {
		if rerr := s.DB.CascadeAttempt(ctx, b.ID, err, nil); rerr != nil {
			return rerr
		}
	}
	return err
}

func (s *Server) pushBatch1(ctx context.Context, rt *linkRuntime, c *http.Client, l store.CascadeLink, b store.CascadeBatch) error {
	// every push of data out of the platform is in the audit trail, written before
	// the data leaves
	if err := s.DB.Audit(ctx, &store.AuditEntry{At: s.now(), UserID: l.CreatedBy, Action: "cascade.push", Target: l.ID, Status: http.StatusOK,
		Detail: fmt.Sprintf("batch %s: %d new and %d changed records to %s (attempt %d)", b.ID, len(b.Adds), len(b.Updates), l.URL, b.Attempts+1)}); err != nil {
		return err
	}
	groups, refused, err := s.groupBatch(ctx, b)
	if err != nil {
		return err
	}
	for _, g := range groups {
		for _, ch := range chunks(g) {
			env, _ := json.Marshal(map[string]any{g.kind.Object + "ListObject": map[string]any{g.kind.Object + "Object": ch.bodies}})
			method := http.MethodPost
			if g.update {
				method = http.MethodPut
			}
			ref, status, err := s.linkCall(ctx, c, l, method, "/VIID/"+g.kind.Path, env, ch.ids)
			if g.update && (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) {
				ref, _, err = s.linkCall(ctx, c, l, http.MethodPost, "/VIID/"+g.kind.Path, env, ch.ids)
			}
			if err != nil {
				return err
			}
			refused = append(refused, ref...)
		}
	}
	if len(refused) > 0 {
		slog.Warn("the superior refused objects", "link", l.ID, "batch", b.ID, "ids", refused)
	}
	if err := s.DB.CascadeAttempt(ctx, b.ID, nil, refused); err != nil {
		return err
	}
	rt.mu.Lock()
	rt.pushed += int64(len(b.Adds) + len(b.Updates) - len(refused))
	rt.updates += int64(len(b.Updates))
	rt.refused += int64(len(refused))
	rt.mu.Unlock()
	return nil
}

// groupBatch reads a batch's records (those deleted since are skipped) and groups
// them by type and operation, in batch order.
func (s *Server) groupBatch(ctx context.Context, b store.CascadeBatch) ([]*pushGroup, []string, error) {
	var groups []*pushGroup
	var refused []string
	for _, part := range []struct {
		ids    []string
		update bool
	}{{b.Adds, false}, {b.Updates, true}} {
		for _, id := range part.ids {
			r, err := s.DB.GetRecord(ctx, auth.Scope{All: true}, id)
			if errors.Is(err, store.ErrNotFound) {
				continue // deleted (retention, a DELETE) since it was written
			}
			if err != nil {
				return nil, nil, err
			}
			k, ok := kindOf(r.Type)
			if !ok {
				continue
			}
			body, err := s.cascadeObject(ctx, r)
			if err != nil {
				return nil, nil, err
			}
			if len(body) > CascadeMaxRequest-256 {
				refused = append(refused, id)
				continue
			}
			var g *pushGroup
			for _, x := range groups {
				if x.kind.Object == k.Object && x.update == part.update {
					g = x
				}
			}
			if g == nil {
				g = &pushGroup{kind: k, update: part.update}
				groups = append(groups, g)
			}
			g.ids, g.bodies = append(g.ids, id), append(g.bodies, body)
		}
	}
	return groups, refused, nil
}

// chunks splits a group's objects into requests under CascadeMaxRequest.
func chunks(g *pushGroup) []*pushGroup {
	var out []*pushGroup
	size := 0
	for i, body := range g.bodies {
		if len(out) == 0 || size+len(body) > CascadeMaxRequest-256 {
			out, size = append(out, &pushGroup{kind: g.kind, update: g.update}), 0
		}
		cur := out[len(out)-1]
		cur.ids, cur.bodies, size = append(cur.ids, g.ids[i]), append(cur.bodies, body), size+len(body)+1
	}
	return out
}

func kindOf(typ string) (viidKind, bool) {
	for _, k := range viidKinds {
		if k.Object == typ {
			return k, true
		}
	}
	return viidKind{}, false
}

// cascadeObject is a record as it goes up: its body with every snapshot it points
// at inlined as base64 Data in place of the StoragePath.
func (s *Server) cascadeObject(ctx context.Context, r store.Record) (json.RawMessage, error) {
	var obj map[string]any
	if err := json.Unmarshal(r.Body, &obj); err != nil {
		return nil, fmt.Errorf("record %s: %w", r.ID, err)
	}
	byURI := map[string]string{}
	for _, k := range r.Images {
		byURI[s.Objects.URI(k)] = k
	}
	list, _ := obj["SubImageList"].(map[string]any)
	imgs, _ := list["SubImageInfoObject"].([]any)
	for _, x := range imgs {
		im, _ := x.(map[string]any)
		p, _ := im["StoragePath"].(string)
		key, ok := byURI[p]
		if !ok {
			continue
		}
		data, err := s.Objects.Get(ctx, key)
		if errors.Is(err, objects.ErrNotFound) {
			continue // swept by retention
		}
		if err != nil {
			return nil, err
		}
		im["Data"] = base64.StdEncoding.EncodeToString(data)
		delete(im, "StoragePath")
	}
	return json.Marshal(obj)
}
