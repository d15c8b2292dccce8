package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/api/store"
)

type taskBody struct {
	DeviceID  string          `json:"device_id"`
	Algorithm string          `json:"algorithm"`
	Params    json.RawMessage `json:"params"`
	Enabled   *bool           `json:"enabled"`
}

func (s *Server) validateTask(c *gin.Context, b taskBody) bool {
	if b.DeviceID == "" {
		fail(c, http.StatusBadRequest, "device_id", "device_id: required")
		return false
	}
	if _, err := s.DB.GetStream(c, b.DeviceID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			fail(c, http.StatusBadRequest, "device_id", "device_id: no stream "+b.DeviceID+" is registered")
		} else {
			storeErr(c, err, "stream")
		}
		return false
	}
	if _, ok := algorithms.Lookup(b.Algorithm); !ok {
		fail(c, http.StatusBadRequest, "algorithm", "algorithm: unknown algorithm "+quote(b.Algorithm)+"; see GET /api/v1/algorithms")
		return false
	}
	if _, err := algorithms.ParseParams(b.Params); err != nil {
		var fe *algorithms.FieldError
		if errors.As(err, &fe) {
			fail(c, http.StatusBadRequest, fe.Field, err.Error())
		} else {
			fail(c, http.StatusBadRequest, "params", err.Error())
		}
		return false
	}
	return true
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// taskView is a task with its scheduler grant and live counters.
type taskView struct {
	store.Task
	Grant any `json:"grant,omitempty"`
}

func (s *Server) taskView(t store.Task) taskView {
	v := taskView{Task: t}
	if g, ok := s.Scheduler.Grant(t.ID); ok {
		v.Grant = g
	}
	return v
}

func createTask(s *Server, c *gin.Context) {
	var b taskBody
	if !bindJSON(c, &b) || !s.validateTask(c, b) {
		return
	}
	t := &store.Task{ID: newID(), StreamID: b.DeviceID, Algorithm: b.Algorithm, Params: b.Params, Enabled: b.Enabled == nil || *b.Enabled}
	if err := s.DB.CreateTask(c, t); err != nil {
		storeErr(c, err, "task")
		return
	}
	s.Scheduler.Notify()
	c.JSON(http.StatusCreated, s.taskView(*t))
}

func updateTask(s *Server, c *gin.Context) {
	old, err := s.DB.GetTask(c, c.Param("id"))
	if err != nil {
		storeErr(c, err, "task "+c.Param("id"))
		return
	}
	var b taskBody
	if !bindJSON(c, &b) {
		return
	}
	if b.DeviceID == "" {
		b.DeviceID = old.StreamID
	}
	if b.DeviceID != old.StreamID {
		fail(c, http.StatusBadRequest, "device_id", "device_id: a task cannot move to another stream; create a new task")
		return
	}
	if b.Algorithm == "" {
		b.Algorithm = old.Algorithm
	}
	if b.Params == nil {
		b.Params = old.Params
	}
	if !s.validateTask(c, b) {
		return
	}
	old.Algorithm, old.Params = b.Algorithm, b.Params
	if b.Enabled != nil {
		old.Enabled = *b.Enabled
	}
	if err := s.DB.UpdateTask(c, &old); err != nil {
		storeErr(c, err, "task")
		return
	}
	s.Scheduler.Notify()
	c.JSON(http.StatusOK, s.taskView(old))
}

func getTask(s *Server, c *gin.Context) {
	t, err := s.DB.GetTask(c, c.Param("id"))
	if err != nil {
		storeErr(c, err, "task "+c.Param("id"))
		return
	}
	c.JSON(http.StatusOK, s.taskView(t))
}

func listTasks(s *Server, c *gin.Context) {
	ts, err := s.DB.ListTasks(c, c.Query("device_id"))
	if err != nil {
		storeErr(c, err, "tasks")
		return
	}
	out := make([]taskView, 0, len(ts))
	for _, t := range ts {
		out = append(out, s.taskView(t))
	}
	c.JSON(http.StatusOK, gin.H{"tasks": out, "total": len(out)})
}

func deleteTask(s *Server, c *gin.Context) {
	if err := s.DB.DeleteTask(c, c.Param("id")); err != nil {
		storeErr(c, err, "task "+c.Param("id"))
		return
	}
	s.Scheduler.Notify()
	c.Status(http.StatusNoContent)
}
