package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/store"
)

// The subscription API: GA/T 1400 Subscribes, alert webhooks and the dead-letter
// view. Delivery is in webhooks.go.

var detailTypes = map[string]string{"11": "Person", "12": "Face", "13": "MotorVehicle", "14": "NonMotorVehicle"}

// checkReceiveAddr accepts a notification receiver's address (checkOutbound).
func (s *Server) checkReceiveAddr(v string) error {
	if err := s.checkOutbound(v); err != nil {
		if errors.Is(err, errNotHTTP) {
			return errors.New("an http(s) URL such as http://host:port/VIID/SubscribeNotifications")
		}
		return err
	}
	return nil
}

var errNotHTTP = errors.New("not an http(s) URL without credentials")

// checkOutbound accepts an http(s) URL without credentials; an IP literal the
// outbound guard refuses is refused now (a name is checked when connecting, after
// resolution).
func (s *Server) checkOutbound(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return errNotHTTP
	}
	port, _ := strconv.Atoi(u.Port())
	if port == 0 {
		port = map[string]int{"http": 80, "https": 443}[u.Scheme]
	}
	if s.Outbound.CheckLiteral(u.Hostname(), uint16(port)) != nil {
		return errors.New("internal addresses are not allowed unless the platform administrator allows them")
	}
	return nil
}

// auditSubscribe records who set up a push of data out of the platform, and where to.
func (s *Server) auditSubscribe(c *gin.Context, sub store.Subscription) error {
	p := who(c)
	return s.DB.Audit(c, &store.AuditEntry{At: s.now(), UserID: p.User.ID, DeptID: p.Dept.ID, TokenID: p.TokenID, Action: "subscription.create",
		Target: sub.ID, Remote: c.ClientIP(), Status: http.StatusCreated, Detail: sub.Kind + " to " + sub.ReceiveAddr})
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
			err = s.checkReceiveAddr(sb.ReceiveAddr)
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
		if err == nil {
			err = s.auditSubscribe(c, sub)
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
		s.viidStoreErr(c, err, "subscriptions")
		return
	}
	out := []map[string]any{}
	for _, sub := range subs {
		var m map[string]any
		json.Unmarshal(sub.Body, &m)
		m["SubscribeStatus"] = sub.Status
		out = append(out, m)
	}
	c.JSON(http.StatusOK, gin.H{"SubscribeListObject": gin.H{"SubscribeObject": out, "TotalNum": len(out)}})
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
	if err := s.checkReceiveAddr(b.ReceiveURL); err != nil {
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
		ReceiveAddr: b.ReceiveURL, ReportInterval: max(b.ReportInterval, 1), Secret: newWebhookSecret()}
	err := s.DB.CreateSubscription(c, &sub)
	if err == nil {
		err = s.auditSubscribe(c, sub)
	}
	if err != nil {
		storeErr(c, err, "subscription")
		return
	}
	// the signing secret is shown this once (docs/webhooks.md)
	c.JSON(http.StatusCreated, struct {
		store.Subscription
		Secret string `json:"secret"`
	}{sub, sub.Secret})
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
		err = s.DB.RequeueNotification(c, n.ID, notifyOutbox(n.ID))
	}
	if err != nil {
		storeErr(c, err, "dead notification "+c.Param("id"))
		return
	}
	s.kickRelay()
	c.Status(http.StatusAccepted)
}
