package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/netguard"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/jobs"
)

// Subscriptions push what arrives to subscribers: GA/T 1400 SubscribeNotifications
// to a ReceiveAddr (cascade platforms), and alert batches to webhooks (the Minqing
// map). A dispatcher turns new items into notifications every ReportInterval,
// advancing the subscription's cursor in the same transaction; a job delivers each
// notification, retried with backoff until the receiver answers 2xx (at least once,
// idempotent by NotificationID) or marked dead for the dead-letter view.

// KindNotify is the job kind of one notification delivery.
const KindNotify = "viid.notify"

// NotifyBatch is the most items one notification carries.
const NotifyBatch = 100

// RegisterJobs registers the server's job handlers with s.Jobs; call it before the
// queue starts.
func (s *Server) RegisterJobs() {
	s.Jobs.Handle(KindNotify, func(ctx context.Context, j jobs.Job) error { return s.deliver(ctx, j.Key) })
	s.RegisterAnalysisJobs()
}

// RequeueEvery is how often notifications still pending are queued again (the
// queue lost them: Redis restarted without its data, a job died with its server).
const RequeueEvery = 30 * time.Second

// RunNotifier starts the job outbox relay, runs the dispatcher every interval and,
// every RequeueEvery, queues again the notifications still pending, until ctx ends.
// Its clock is the wall clock, like the stored creation times it compares with.
func (s *Server) RunNotifier(ctx context.Context, every time.Duration) error {
	s.RunRelay(ctx)
	if err := s.requeuePending(ctx, time.Now()); err != nil {
		return err
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		requeue := time.Now().Add(s.requeueEvery())
		for {
			if err := s.Dispatch(ctx); err != nil && ctx.Err() == nil {
				slog.Error("notification dispatch", "err", err)
			}
			if now := time.Now(); now.After(requeue) {
				requeue = now.Add(s.requeueEvery())
				// a notification younger than the period is in the outbox or the queue
				if err := s.requeuePending(ctx, now.Add(-s.requeueEvery())); err != nil && ctx.Err() == nil {
					slog.Warn("re-queue of pending notifications", "err", err)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return nil
}

func (s *Server) requeueEvery() time.Duration {
	if s.RequeueEvery > 0 {
		return s.RequeueEvery
	}
	return RequeueEvery
}

// requeuePending queues every notification created before `before` and still
// pending. The job's Key (the notification ID) keeps one already queued, running or
// waiting for a retry from being queued twice; deliver skips a delivered one.
func (s *Server) requeuePending(ctx context.Context, before time.Time) error {
	pending, err := s.DB.PendingNotifications(ctx, before)
	if err != nil {
		return err
	}
	for _, n := range pending {
		err := s.Jobs.Enqueue(ctx, notifyJob(n.ID))
		if err != nil && !errors.Is(err, jobs.ErrDuplicate) {
			slog.Warn("pending notifications not queued; tried again in a while", "pending", len(pending), "err", err)
			return nil
		}
	}
	return nil
}

func notifyJob(id string) jobs.Job { return jobs.Job{Kind: KindNotify, Key: id} }

// notifyOutbox is the delivery job of notification id as an outbox row.
func notifyOutbox(id string) store.OutboxJob { return store.OutboxJob{Kind: KindNotify, Key: id} }

// RunRelay starts moving the job outbox (notifications, analyses: jobs committed
// with their change) to s.Jobs, until ctx ends; once per server, whoever calls.
func (s *Server) RunRelay(ctx context.Context) {
	s.relayOnce.Do(func() {
		s.relay = jobs.NewRelay(s.DB, s.Jobs)
		go s.relay.Run(ctx)
	})
}

// kickRelay moves freshly written outbox jobs to the queue now rather than at the
// relay's next tick.
func (s *Server) kickRelay() {
	if s.relay != nil {
		s.relay.Kick()
	}
}

// NotifySettle is how old an item must be before it is dispatched, so a write that
// committed late cannot slip behind a cursor.
const NotifySettle = time.Second

// Dispatch creates the notifications that are due now.
func (s *Server) Dispatch(ctx context.Context) error {
	now := time.Now()
	subs, err := s.DB.DueSubscriptions(ctx, now)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		p, err := s.DB.PrincipalOf(ctx, sub.UserID)
		if err != nil {
			slog.Warn("subscription's user is gone or disabled; skipping", "subscription", sub.ID, "err", err)
			continue
		}
		nextAt := now.Add(time.Duration(max(sub.ReportInterval, 1)) * time.Second)
		ns, next, err := s.buildNotifications(ctx, sub, p, now)
		if err != nil {
			return err
		}
		var jobs []store.OutboxJob
		for _, n := range ns {
			jobs = append(jobs, notifyOutbox(n.ID))
		}
		err = s.DB.Dispatch(ctx, sub, ns, next, nextAt, jobs...)
		if errors.Is(err, store.ErrCursorMoved) {
			continue // another server dispatched it
		}
		if err != nil {
			return err
		}
		if len(ns) > 0 {
			s.kickRelay()
		}
	}
	return nil
}

// notificationID is a new NotificationID (a business ID of this view library).
func (s *Server) notificationID(ctx context.Context, now time.Time) (string, error) {
	serial, err := s.DB.NextSerial(ctx, s.serverID(), now)
	if err != nil {
		return "", err
	}
	return gat1400.BusinessID(s.serverID()[:12], gat1400.BusinessSubscribe, now.In(gat1400.Location), serial), nil
}

// buildNotifications gathers a subscription's new items into notifications and
// says where its cursors stand after them. A records subscription gets one
// notification of new records (ExecuteOperation 1) and one of records changed
// since they were sent (ExecuteOperation 2), each when there is any.
func (s *Server) buildNotifications(ctx context.Context, sub store.Subscription, p store.Principal, now time.Time) ([]*store.Notification, store.Feed, error) {
	settled := now.Add(-NotifySettle)
	feed := sub.RecordFeed(p.Scope(), settled, NotifyBatch)
	if sub.Kind == "alerts" {
		as, err := s.DB.NewAlertsFor(ctx, sub, p.Scope(), settled, NotifyBatch)
		if err != nil || len(as) == 0 {
			return nil, feed, err
		}
		nid, err := s.notificationID(ctx, now)
		if err != nil {
			return nil, feed, err
		}
		n := &store.Notification{ID: nid, SubID: sub.ID, DeptID: sub.DeptID}
		items := make([]gin.H, len(as))
		for i, a := range as {
			n.Items = append(n.Items, a.ID)
			items[i] = gin.H{"id": a.ID, "kind": a.Kind, "level": a.Level, "device_id": a.DeviceID, "longitude": a.Longitude, "latitude": a.Latitude,
				"time": a.Time, "zone": a.Zone, "image": s.Objects.URI(a.Image), "details": a.Details}
		}
		n.Body, _ = json.Marshal(gin.H{"NotificationID": nid, "SubscriptionID": sub.ID, "TriggerTime": now, "Alerts": items})
		last := as[len(as)-1]
		feed.AddAt, feed.AddID = last.CreatedAt.UnixMilli(), last.ID
		return []*store.Notification{n}, feed, nil
	}
	page, err := s.DB.ReadFeed(ctx, feed)
	if err != nil {
		return nil, feed, err
	}
	var ns []*store.Notification
	for _, part := range []struct {
		recs []store.Record
		op   int
	}{{page.Added, 1}, {page.Updated, 2}} {
		if len(part.recs) == 0 {
			continue
		}
		nid, err := s.notificationID(ctx, now)
		if err != nil {
			return nil, feed, err
		}
		ns = append(ns, recordNotification(nid, sub, part.recs, part.op, now))
	}
	return ns, page.Next, nil
}

// recordNotification is one SubscribeNotification carrying records, as added (op
// 1) or updated (op 2) objects.
func recordNotification(nid string, sub store.Subscription, recs []store.Record, op int, now time.Time) *store.Notification {
	gn := gat1400.NewSubscribeNotification(nid, sub.ID, "CityEye subscription "+sub.ID, now)
	n := &store.Notification{ID: nid, SubID: sub.ID, DeptID: sub.DeptID}
	lists := map[string][]json.RawMessage{}
	for _, r := range recs {
		n.Items = append(n.Items, r.ID)
		lists[r.Type] = append(lists[r.Type], r.Body)
	}
	gn.InfoIDs = strings.Join(n.Items, ",")
	gn.ExecuteOperation = gat1400.FlexInt(op)
	// the bodies are stored GA/T 1400 JSON already: splice them in as they are
	obj := map[string]any{}
	b, _ := json.Marshal(gn)
	json.Unmarshal(b, &obj)
	for typ, bodies := range lists {
		obj[typ+"ObjectList"] = map[string]any{typ + "Object": bodies}
	}
	n.Body, _ = json.Marshal(map[string]any{"SubscribeNotificationListObject": map[string]any{"SubscribeNotificationObject": []any{obj}}})
	return n
}

// MaxDeliveryAttempts is when a notification is declared dead (the queue's
// MaxRetry+1 when set lower).
const MaxDeliveryAttempts = 11

// deliver is the job: POST the notification to its subscriber.
func (s *Server) deliver(ctx context.Context, id string) error {
	n, err := s.DB.GetNotification(ctx, id)
	if errors.Is(err, store.ErrNotFound) || n.State == "delivered" {
		return nil
	}
	if err != nil {
		return err
	}
	sub, err := s.notificationTarget(ctx, n.SubID)
	if err != nil {
		return err
	}
	// every push of data out of the platform is in the audit trail, written before
	// the data leaves (no trail, no push: the job is retried)
	if err := s.auditDelivery(ctx, sub, n); err != nil {
		return err
	}
	err = s.post(ctx, sub, n)
	dead := err != nil && n.Attempts+1 >= s.maxAttempts()
	if rerr := s.DB.DeliveryAttempt(ctx, id, err, dead); rerr != nil {
		return rerr
	}
	if dead {
		slog.Warn("notification dead after retries", "id", id, "to", sub.ReceiveAddr, "err", err)
		return nil // in the dead-letter view now; POST …/retry re-queues it
	}
	return err
}

func (s *Server) maxAttempts() int {
	if s.MaxDeliveryAttempts > 0 {
		return s.MaxDeliveryAttempts
	}
	return MaxDeliveryAttempts
}

// notifyClient delivers through the outbound guard, without redirects.
func (s *Server) notifyClient() *http.Client {
	s.notifyOnce.Do(func() { s.notifyHTTP = s.Outbound.Client(netguard.Options{Timeout: 15 * time.Second}) })
	return s.notifyHTTP
}

// post sends a notification body; a 2xx whose ResponseStatus (if any) is 0 counts.
// A subscription with a secret (alert webhooks) gets the call signed.
func (s *Server) post(ctx context.Context, sub store.Subscription, n store.Notification) error {
	var sign []func(http.Header)
	if sub.Secret != "" {
		sign = append(sign, func(h http.Header) { signWebhook(h, sub.Secret, n.ID, n.Body, time.Now()) })
	}
	_, _, err := s.viidCall(ctx, s.notifyClient(), http.MethodPost, sub.ReceiveAddr, s.serverID(), n.Body, nil, sign...)
	return err
}
