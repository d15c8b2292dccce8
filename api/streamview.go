package api

import (
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/plan"
	"github.com/cityeye/cityeye/workers/source"
)

// redactedUser replaces a stream URL's user and password in everything the API
// returns. Camera credentials go to one place only: the lease of the worker that
// runs the stream.
const redactedUser = "REDACTED"

// redactURL hides the credentials of a stream URL (rtsp://REDACTED@host/path).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "" // cannot tell where the credentials are: show nothing
	}
	if u.User == nil {
		return raw
	}
	u.User = url.User(redactedUser)
	return u.String()
}

// keepCredentials lets a client send back the URL it read (credentials redacted)
// without wiping them: the stored user and password are kept.
func keepCredentials(sent, stored string) string {
	u, err := url.Parse(sent)
	if err != nil || u.User == nil || u.User.String() != redactedUser {
		return sent
	}
	if old, err := url.Parse(stored); err == nil {
		u.User = old.User
	}
	return u.String()
}

// streamView is a stream with its live decode status and, for a department, what
// it may do with it. The URL is shown, credentials redacted, to the owner and the
// platform office only.
type streamView struct {
	store.Stream
	Status any           `json:"status"`
	Access *store.Access `json:"access,omitempty"`
}

// sharedStatus is what a department that does not own a camera sees of its decode
// status: whether it runs, and its own tasks on it. Not the URL, not the failure
// reason (both name the camera's host and path), not other departments' tasks.
type sharedStatus struct {
	State     source.State      `json:"state"`
	FPSIn     float64           `json:"fps_in"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	LastFrame time.Time         `json:"last_frame"`
	Tasks     []plan.TaskStatus `json:"tasks"`
}

// ownTasks is the set of task IDs of the caller's department (on one stream, or all).
func (s *Server) ownTasks(c *gin.Context, p store.Principal, stream string) (map[string]bool, error) {
	ts, err := s.DB.ListTasks(c, p.Scope(), stream)
	mine := map[string]bool{}
	for _, t := range ts {
		if t.DeptID == p.Dept.ID {
			mine[t.ID] = true
		}
	}
	return mine, err
}

func (s *Server) view(p store.Principal, st store.Stream, mine map[string]bool) streamView {
	owner := isAdmin(p) || st.OwnerDept == p.Dept.ID
	st.URL = redactURL(st.URL)
	if !owner {
		st.URL = ""
	}
	v := streamView{Stream: st, Status: map[string]string{"state": "idle", "reason": "no enabled task"}}
	ws, ok := s.pipelines()[st.ID]
	switch {
	case !ok:
	case owner:
		ws.Source.URL = st.URL
		v.Status = ws
	default:
		sh := sharedStatus{State: ws.Source.State, FPSIn: ws.Source.FPSIn, Width: ws.Source.Width, Height: ws.Source.Height,
			LastFrame: ws.Source.LastFrame, Tasks: []plan.TaskStatus{}}
		for _, t := range ws.Tasks {
			if mine[t.TaskID] {
				sh.Tasks = append(sh.Tasks, t)
			}
		}
		v.Status = sh
	}
	return v
}
