package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/gat1400"
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

// RunNotifier re-queues what a restart left undelivered and runs the dispatcher
// every interval until ctx ends. Its clock is the wall clock, like the stored
// creation times it compares with.
func (s *Server) RunNotifier(ctx context.Context, every time.Duration) error {
	pending, err := s.DB.PendingNotifications(ctx)
	if err != nil {
		return err
	}
	for _, n := range pending {
		s.enqueueNotification(ctx, n.ID)
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if err := s.Dispatch(ctx); err != nil && ctx.Err() == nil {
				slog.Error("notification dispatch", "err", err)
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

func (s *Server) enqueueNotification(ctx context.Context, id string) {
	err := s.Jobs.Enqueue(ctx, jobs.Job{Kind: KindNotify, Key: id})
	if err != nil && !errors.Is(err, jobs.ErrDuplicate) {
		slog.Warn("notification not queued; it is queued again at the next start", "id", id, "err", err)
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
		next := now.Add(time.Duration(max(sub.ReportInterval, 1)) * time.Second)
		n, at, id, err := s.buildNotification(ctx, sub, p, now)
		if err != nil {
			return err
		}
		if n == nil {
			at, id = sub.CursorAt, sub.CursorID
		}
		if err := s.DB.Dispatch(ctx, sub, n, at, id, next); err != nil {
			return err
		}
		if n != nil {
			s.enqueueNotification(ctx, n.ID)
		}
	}
	return nil
}

// buildNotification gathers a subscription's new items into one notification.
func (s *Server) buildNotification(ctx context.Context, sub store.Subscription, p store.Principal, now time.Time) (*store.Notification, int64, string, error) {
	serial, err := s.DB.NextSerial(ctx, s.serverID(), now)
	if err != nil {
		return nil, 0, "", err
	}
	nid := gat1400.BusinessID(s.serverID()[:12], gat1400.BusinessSubscribe, now.In(gat1400.Location), serial)
	settled := now.Add(-NotifySettle)
	if sub.Kind == "alerts" {
		as, err := s.DB.NewAlertsFor(ctx, sub, p.Scope(), settled, NotifyBatch)
		if err != nil || len(as) == 0 {
			return nil, 0, "", err
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
		return n, last.CreatedAt.UnixMilli(), last.ID, nil
	}
	recs, err := s.DB.NewRecordsFor(ctx, sub, p.Scope(), settled, NotifyBatch)
	if err != nil || len(recs) == 0 {
		return nil, 0, "", err
	}
	gn := gat1400.NewSubscribeNotification(nid, sub.ID, "CityEye subscription "+sub.ID, now)
	n := &store.Notification{ID: nid, SubID: sub.ID, DeptID: sub.DeptID}
	lists := map[string][]json.RawMessage{}
	for _, r := range recs {
		n.Items = append(n.Items, r.ID)
		lists[r.Type] = append(lists[r.Type], r.Body)
	}
	gn.InfoIDs = strings.Join(n.Items, ",")
	gn.ExecuteOperation = 1
	// the bodies are stored GA/T 1400 JSON already: splice them in as they are
	obj := map[string]any{}
	b, _ := json.Marshal(gn)
	json.Unmarshal(b, &obj)
	for typ, bodies := range lists {
		obj[typ+"ObjectList"] = map[string]any{typ + "Object": bodies}
	}
	n.Body, _ = json.Marshal(map[string]any{"SubscribeNotificationListObject": map[string]any{"SubscribeNotificationObject": []any{obj}}})
	last := recs[len(recs)-1]
	return n, last.CreatedAt.UnixMilli(), last.ID, nil
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
	sub, err := s.DB.GetSubscription(ctx, n.SubID)
	if err != nil {
		return err
	}
	err = s.post(ctx, sub.ReceiveAddr, n.Body)
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

var notifyClient = &http.Client{Timeout: 15 * time.Second}

// post sends a notification body; a 2xx whose ResponseStatus (if any) is 0 counts.
func (s *Server) post(ctx context.Context, addr string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, addr, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/VIID+JSON;charset=UTF-8")
	req.Header.Set("User-Identify", s.serverID())
	resp, err := notifyClient.Do(req)
	if err != nil {
		return fmt.Errorf("post to %s: %w", addr, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", addr, resp.Status)
	}
	if sts, err := gat1400.DecodeResponseStatuses(rb); err == nil {
		for _, st := range sts {
			if st.StatusCode != gat1400.StatusOK {
				return fmt.Errorf("%s refused it: StatusCode %d %s", addr, st.StatusCode, st.StatusString)
			}
		}
	}
	return nil
}

// ---- the API: GA/T 1400 Subscribes, alert feeds, the dead-letter view ----

var detailTypes = map[string]string{"11": "Person", "12": "Face", "13": "MotorVehicle", "14": "NonMotorVehicle"}

func checkReceiveAddr(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("an http(s) URL such as http://host:port/VIID/SubscribeNotifications")
	}
	return nil
}

// viidSubscribe: POST /VIID/Subscribes with SubscribeListObject.
func viidSubscribe(s *Server, c *gin.Context) {
	var env struct {
		SubscribeListObject struct {
			SubscribeObject []json.RawMessage
		}
	}
	if err := decodeLenient(c, &env); err != nil || len(env.SubscribeListObject.SubscribeObject) == 0 {
		s.viidStatus(c, http.StatusBadRequest, gat1400.StatusInvalidJSONFormat, "want {\"SubscribeListObject\":{\"SubscribeObject\":[…]}}")
		return
	}
	p := who(c)
	var sts []gat1400.ResponseStatus
	for i, raw := range env.SubscribeListObject.SubscribeObject {
		var sb gat1400.Subscribe
		err := json.Unmarshal(raw, &sb)
		if err == nil {
			err = sb.Validate()
		}
		var cats []string
		if err == nil {
			for _, d := range strings.Split(string(sb.SubscribeDetail), ",") {
				if t, ok := detailTypes[strings.TrimSpace(d)]; ok {
					cats = append(cats, t)
				}
			}
			if len(cats) == 0 {
				err = fmt.Errorf("SubscribeDetail %q: CityEye serves 11 person, 12 face, 13 motor vehicle and 14 non-motor vehicle", sb.SubscribeDetail)
			}
		}
		if err == nil {
			err = checkReceiveAddr(sb.ReceiveAddr)
			if err != nil {
				err = fmt.Errorf("ReceiveAddr: %w", err)
			}
		}
		sub := store.Subscription{ID: sb.SubscribeID, Kind: "viid", UserID: p.User.ID, DeptID: p.Dept.ID, Categories: cats,
			ReceiveAddr: sb.ReceiveAddr, ReportInterval: max(int(sb.ReportInterval), 1), Body: raw}
		for _, d := range strings.Split(sb.ResourceURI, ",") {
			if d = strings.TrimSpace(d); d != "" {
				sub.Devices = append(sub.Devices, d)
			}
		}
		if err == nil && sb.BeginTime != "" {
			sub.Begin, err = gat1400.ParseTime(sb.BeginTime)
		}
		if err == nil && sb.EndTime != "" {
			sub.End, err = gat1400.ParseTime(sb.EndTime)
		}
		if err == nil {
			err = s.DB.CreateSubscription(c, &sub)
		}
		st := gat1400.NewResponseStatus(c.Request.URL.Path, sb.SubscribeID, gat1400.StatusOK, s.now())
		if err != nil {
			st.StatusCode, st.StatusString = gat1400.StatusInvalidJSONContent, fmt.Sprintf("SubscribeObject[%d]: %v", i, err)
		}
		sts = append(sts, st)
	}
	c.JSON(http.StatusOK, gat1400.NewResponseStatusList(sts...))
}

func viidSubscriptions(s *Server, c *gin.Context) {
	p := who(c)
	dept := p.Dept.ID
	if isAdmin(p) {
		dept = ""
	}
	subs, err := s.DB.ListSubscriptions(c, dept, "viid")
	if err != nil {
		storeErr(c, err, "subscriptions")
		return
	}
	out := []map[string]any{}
	for _, sub := range subs {
		var m map[string]any
		json.Unmarshal(sub.Body, &m)
		m["SubscribeStatus"] = sub.Status
		out = append(out, m)
	}
	c.JSON(http.StatusOK, gin.H{"SubscribeListObject": gin.H{"SubscribeObject": out}})
}

// viidCancel: PUT /VIID/Subscribes/{ID} cancels (GA/T 1400 has no DELETE for it).
func viidCancel(s *Server, c *gin.Context) {
	p := who(c)
	sub, err := s.DB.GetSubscription(c, c.Param("id"))
	if err == nil && !isAdmin(p) && sub.DeptID != p.Dept.ID {
		err = store.ErrNotFound
	}
	if err != nil {
		s.viidStatus(c, http.StatusNotFound, gat1400.StatusInvalidOperation, "no subscription "+c.Param("id"))
		return
	}
	var m map[string]any
	json.Unmarshal(sub.Body, &m)
	var upd map[string]any
	if decodeLenient(c, &upd) == nil {
		if o, ok := upd["SubscribeObject"].(map[string]any); ok {
			upd = o
		}
		for _, k := range []string{"SubscribeCancelOrg", "SubscribeCancelPerson", "CancelTime", "CancelReason"} {
			if v, ok := upd[k]; ok {
				m[k] = v
			}
		}
	}
	m["OperateType"], m["SubscribeStatus"] = 1, 1
	body, _ := json.Marshal(m)
	if err := s.DB.CancelSubscription(c, sub.ID, body); err != nil {
		storeErr(c, err, "subscription")
		return
	}
	s.viidStatus(c, http.StatusOK, gat1400.StatusOK, "")
}

type alertSubBody struct {
	Kinds          []string `json:"kinds"`
	Area           string   `json:"area"`
	ReceiveURL     string   `json:"receive_url"`
	ReportInterval int      `json:"report_interval_s"`
}

func createAlertSubscription(s *Server, c *gin.Context) {
	var b alertSubBody
	if !bindJSON(c, &b) {
		return
	}
	if err := checkReceiveAddr(b.ReceiveURL); err != nil {
		fail(c, http.StatusBadRequest, "receive_url", "receive_url: "+err.Error())
		return
	}
	if b.Area != "" && !divisionRE.MatchString(b.Area) {
		fail(c, http.StatusBadRequest, "area", "area: a 6-digit GB/T 2260 code such as 441502")
		return
	}
	if b.ReportInterval < 0 || b.ReportInterval > 3600 {
		fail(c, http.StatusBadRequest, "report_interval_s", "report_interval_s: 0 to 3600")
		return
	}
	p := who(c)
	sub := store.Subscription{ID: "alerts-" + newID(), Kind: "alerts", UserID: p.User.ID, DeptID: p.Dept.ID, AlertKinds: b.Kinds, Area: b.Area,
		ReceiveAddr: b.ReceiveURL, ReportInterval: max(b.ReportInterval, 1)}
	if err := s.DB.CreateSubscription(c, &sub); err != nil {
		storeErr(c, err, "subscription")
		return
	}
	c.JSON(http.StatusCreated, sub)
}

func listAlertSubscriptions(s *Server, c *gin.Context) {
	subs, err := s.DB.ListSubscriptions(c, who(c).Dept.ID, "alerts")
	if err != nil {
		storeErr(c, err, "subscriptions")
		return
	}
	c.JSON(http.StatusOK, gin.H{"subscriptions": orEmpty(subs), "total": len(subs)})
}

func cancelAlertSubscription(s *Server, c *gin.Context) {
	sub, err := s.DB.GetSubscription(c, c.Param("id"))
	if err == nil && (sub.Kind != "alerts" || (!isAdmin(who(c)) && sub.DeptID != who(c).Dept.ID)) {
		err = store.ErrNotFound
	}
	if err == nil {
		err = s.DB.CancelSubscription(c, sub.ID, sub.Body)
	}
	if err != nil {
		storeErr(c, err, "subscription "+c.Param("id"))
		return
	}
	c.Status(http.StatusNoContent)
}

// listNotifications is the delivery log and, with state=dead, the dead-letter view.
func listNotifications(s *Server, c *gin.Context) {
	p := who(c)
	dept := p.Dept.ID
	if isAdmin(p) {
		dept = ""
	}
	ns, err := s.DB.ListNotifications(c, dept, c.Query("state"), 200)
	if err != nil {
		storeErr(c, err, "notifications")
		return
	}
	c.JSON(http.StatusOK, gin.H{"notifications": orEmpty(ns), "total": len(ns)})
}

func retryNotification(s *Server, c *gin.Context) {
	n, err := s.DB.GetNotification(c, c.Param("id"))
	if err == nil && !isAdmin(who(c)) && n.DeptID != who(c).Dept.ID {
		err = store.ErrNotFound
	}
	if err == nil {
		err = s.DB.RequeueNotification(c, n.ID)
	}
	if err != nil {
		storeErr(c, err, "dead notification "+c.Param("id"))
		return
	}
	s.enqueueNotification(c, n.ID)
	c.Status(http.StatusAccepted)
}

// streamAlerts is the live feed (Server-Sent Events) of alerts the caller may see,
// optionally filtered by kinds and area. It reads the database, so alerts raised by
// any worker process appear.
func streamAlerts(s *Server, c *gin.Context) {
	p := who(c)
	kinds := map[string]bool{}
	for _, k := range strings.Split(c.Query("kinds"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			kinds[k] = true
		}
	}
	area := c.Query("area")
	if area != "" && !divisionRE.MatchString(area) {
		fail(c, http.StatusBadRequest, "area", "area: a 6-digit GB/T 2260 code")
		return
	}
	c.Header("Content-Type", "text/event-stream")
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusOK)
	c.Writer.Flush()
	after := time.Now() // alerts' creation times are wall-clock
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-c.Request.Context().Done():
			return
		case <-tick.C:
		}
		as, err := s.DB.ListAlerts(c, store.AlertFilter{Scope: p.Scope(), After: after, Limit: 100})
		if err != nil {
			return
		}
		for i := len(as) - 1; i >= 0; i-- { // oldest first
			a := as[i]
			if a.CreatedAt.After(after) {
				after = a.CreatedAt
			}
			if len(kinds) > 0 && !kinds[a.Kind] || area != "" && !strings.HasPrefix(a.Division, auth.AreaPrefix(area)) {
				continue
			}
			b, _ := json.Marshal(gin.H{"id": a.ID, "kind": a.Kind, "level": a.Level, "device_id": a.DeviceID, "longitude": a.Longitude,
				"latitude": a.Latitude, "time": a.Time, "zone": a.Zone, "image": s.Objects.URI(a.Image)})
			fmt.Fprintf(c.Writer, "id: %s\nevent: alert\ndata: %s\n\n", a.ID, b)
		}
		c.Writer.Flush()
	}
}
