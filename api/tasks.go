package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/store"
)

type taskBody struct {
	DeviceID  string          `json:"device_id"`
	DeptID    string          `json:"department"`
	Algorithm string          `json:"algorithm"`
	Params    json.RawMessage `json:"params"`
	Enabled   *bool           `json:"enabled"`
	Priority  *int            `json:"priority"` // store.PriorityLow … PriorityCritical; default normal
}

// validateTask checks the body and that the task's department may analyse the
// camera with this algorithm (owner, area or grant). It returns the department.
func (s *Server) validateTask(c *gin.Context, b taskBody) (store.Department, bool) {
	p := who(c)
	var dept store.Department
	if b.DeviceID == "" {
		fail(c, http.StatusBadRequest, "device_id", "device_id: required")
		return dept, false
	}
	st, err := s.DB.VisibleStream(c, p.Scope(), b.DeviceID, s.now())
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			fail(c, http.StatusBadRequest, "device_id", "device_id: no stream "+b.DeviceID+" is registered")
		} else {
			storeErr(c, err, "stream")
		}
		return dept, false
	}
	if b.Priority != nil && (*b.Priority < store.PriorityLow || *b.Priority > store.PriorityCritical) {
		fail(c, http.StatusBadRequest, "priority", "priority: -1 (low), 0 (normal), 1 (high) or 2 (critical)")
		return dept, false
	}
	if _, ok := algorithms.Lookup(b.Algorithm); !ok {
		fail(c, http.StatusBadRequest, "algorithm", "algorithm: unknown algorithm "+quote(b.Algorithm)+"; see GET /api/v1/algorithms")
		return dept, false
	}
	params, err := algorithms.ParseParams(b.Params)
	if err != nil {
		var fe *algorithms.FieldError
		if errors.As(err, &fe) {
			fail(c, http.StatusBadRequest, fe.Field, err.Error())
		} else {
			fail(c, http.StatusBadRequest, "params", err.Error())
		}
		return dept, false
	}
	spec, _ := algorithms.Lookup(b.Algorithm)
	alg, err := spec.New("validate", params) // checks the algorithm's own options
	if err != nil {
		var fe *algorithms.FieldError
		if errors.As(err, &fe) {
			fail(c, http.StatusBadRequest, fe.Field, err.Error())
		} else {
			fail(c, http.StatusBadRequest, "params.options", err.Error())
		}
		return dept, false
	}
	frame := alg.Models()
	needs := slices.Clone(frame)
	stages := algorithms.StagesOf(alg, params)
	alg.Close()
	for i, st := range stages { // second stages crop one of the frame models and need their own installed
		f := fmt.Sprintf("params.stage2[%d]", i-(len(stages)-len(params.Stage2))) // the algorithm's own come first
		if st.On != "" && !slices.Contains(frame, st.On) || len(frame) == 0 {
			fail(c, http.StatusBadRequest, f+".on", f+".on: "+b.Algorithm+" runs no frame model "+quote(st.On)+" (it runs "+strings.Join(frame, ", ")+")")
			return dept, false
		}
		if !slices.Contains(needs, st.Model) {
			needs = append(needs, st.Model)
		}
	}
	for name := range params.Models {
		f := "params.models." + name
		if !slices.Contains(spec.Models, name) && !slices.Contains(needs, name) { // needs: models named by the task's options
			fail(c, http.StatusBadRequest, f, f+": "+b.Algorithm+" does not use model "+name+" (it uses "+strings.Join(uses(spec.Models, needs), ", ")+")")
			return dept, false
		}
		if err := s.ensureModel(c, params.ModelRef(name)); err != nil {
			fail(c, http.StatusBadRequest, f, f+": "+err.Error())
			return dept, false
		}
	}
	for _, name := range needs { // the models this configuration runs must be there, with the contract's labels
		if field, msg := s.checkContract(spec, name, params.ModelRef(name)); field != "" {
			fail(c, http.StatusBadRequest, field, msg)
			return dept, false
		}
	}
	switch {
	case !isAdmin(p) && b.DeptID != "" && b.DeptID != p.Dept.ID:
		fail(c, http.StatusForbidden, "department", "department: tasks run for your own department ("+p.Dept.ID+")")
		return dept, false
	case !isAdmin(p):
		dept = p.Dept
	default:
		if b.DeptID == "" {
			b.DeptID = st.OwnerDept
		}
		if dept, err = s.DB.GetDepartment(c, b.DeptID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				fail(c, http.StatusBadRequest, "department", "department: no department "+quote(b.DeptID))
			} else {
				storeErr(c, err, "department")
			}
			return dept, false
		}
	}
	acc, err := s.DB.Access(c, dept, st, s.now())
	if err != nil {
		storeErr(c, err, "access")
		return dept, false
	}
	if !acc.Can(auth.RightAnalyse, b.Algorithm) {
		msg := acc.Reason
		if acc.Via == "grant" {
			msg = "grant " + acc.GrantID + " does not cover " + b.Algorithm + " (rights " + fmt.Sprint(acc.Rights) + ", algorithms " + fmt.Sprint(acc.Algorithms) + ")"
		}
		fail(c, http.StatusForbidden, "device_id", "device_id: department "+dept.ID+" may not analyse this camera: "+msg)
		return dept, false
	}
	return dept, true
}

// uses is the models a task may name in params.models: the algorithm's and those its
// options and stages name, each once.
func uses(spec, needs []string) []string {
	out := slices.Clone(spec)
	for _, n := range needs {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// checkContract reports (field, message) when the build of model name a task chose
// (ref: the platform's, or a vendor's) is not installed or lacks the labels the
// algorithm's contract needs.
func (s *Server) checkContract(spec algorithms.Spec, name string, ref models.Ref) (string, string) {
	m, _, err := s.Repo.Resolve(models.QualifiedName(ref.Vendor, ref.Name), ref.Version)
	var con *algorithms.Contract
	for i := range spec.Contracts {
		if spec.Contracts[i].Name == name {
			con = &spec.Contracts[i]
		}
	}
	if err != nil {
		if ref.Vendor != models.PlatformVendor {
			return "params.models." + name, "params.models." + name + ": vendor " + ref.Vendor + " has no published " + name + " (a vendor's version runs once the platform admin approved it)"
		}
		msg := "algorithm: " + spec.Name + " needs model " + name + ", which is not installed"
		if con != nil {
			msg += " (a " + con.Task + " model with labels " + strings.Join(con.Labels, ", ") + "): the platform publishes one under that name, or the task names a vendor's (params.models: {\"" + name + "\": \"vendor/" + name + "\"})"
		}
		return "algorithm", msg
	}
	if con != nil {
		for _, l := range con.Labels {
			if !slices.Contains(m.Labels, l) {
				return "algorithm", "algorithm: model " + m.QualifiedName() + "@" + m.Version + " lacks label " + quote(l) + " that " + spec.Name + " needs (labels " + strings.Join(con.Labels, ", ") + ")"
			}
		}
	}
	return "", ""
}

// ensureModel makes a pinned model version available to the workers: only the
// named vendor's own version, and only one the platform admin approved.
func (s *Server) ensureModel(c *gin.Context, ref models.Ref) error {
	if ref.Version == "" {
		return nil // follows the vendor's published version: checkContract finds it
	}
	q := models.QualifiedName(ref.Vendor, ref.Name)
	if _, _, err := s.Repo.Resolve(q, ref.Version); err == nil {
		return nil
	}
	if s.Warehouse == nil {
		return fmt.Errorf("version %s of %s is not installed", ref.Version, q)
	}
	return s.Warehouse.EnsureInstalled(c, ref.Vendor, ref.Name, ref.Version)
}

// checkQuota refuses one more enabled task (on streamID) beyond the department's quota.
func (s *Server) checkQuota(c *gin.Context, d store.Department, streamID string) bool {
	streams, tasks, err := s.DB.DeptUsage(c, d.ID)
	if err != nil {
		storeErr(c, err, "usage")
		return false
	}
	on, err := s.DB.ListTasks(c, auth.Scope{Dept: d.ID}, streamID)
	if err != nil {
		storeErr(c, err, "tasks")
		return false
	}
	onCamera := slices.ContainsFunc(on, func(t store.Task) bool { return t.Enabled && t.DeptID == d.ID })
	if field, why := d.Quota.Admit(d.ID, tasks, streams, onCamera); why != "" {
		fail(c, http.StatusConflict, field, "quota: "+why+"; disable a task or ask the platform office for more")
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
	if !bindJSON(c, &b) {
		return
	}
	dept, ok := s.validateTask(c, b)
	if !ok {
		return
	}
	t := &store.Task{ID: newID(), StreamID: b.DeviceID, DeptID: dept.ID, Algorithm: b.Algorithm, Params: b.Params, Enabled: b.Enabled == nil || *b.Enabled}
	if b.Priority != nil {
		t.Priority = *b.Priority
	}
	if t.Enabled && !s.checkQuota(c, dept, t.StreamID) {
		return
	}
	if err := s.DB.CreateTask(c, t); err != nil {
		storeErr(c, err, "task")
		return
	}
	s.Scheduler.Notify()
	c.JSON(http.StatusCreated, s.taskView(*t))
}

// task loads a task the caller may see (its department's, or on a camera its
// department owns); mine additionally requires that the caller's department runs it.
func (s *Server) task(c *gin.Context, mine bool) (store.Task, bool) {
	p := who(c)
	t, err := s.DB.GetTask(c, c.Param("id"))
	if err == nil && !isAdmin(p) && t.DeptID != p.Dept.ID {
		st, serr := s.DB.GetStream(c, t.StreamID)
		if serr != nil || st.OwnerDept != p.Dept.ID {
			err = store.ErrNotFound
		} else if mine {
			fail(c, http.StatusForbidden, "", "task "+t.ID+" belongs to department "+t.DeptID+"; withdraw its grant to stop it")
			return t, false
		}
	}
	if err != nil {
		storeErr(c, err, "task "+c.Param("id"))
		return t, false
	}
	return t, true
}

func updateTask(s *Server, c *gin.Context) {
	old, ok := s.task(c, true)
	if !ok {
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
	if b.DeptID != "" && b.DeptID != old.DeptID {
		fail(c, http.StatusBadRequest, "department", "department: a task cannot change department; create a new task")
		return
	}
	b.DeptID = old.DeptID
	dept, ok := s.validateTask(c, b)
	if !ok {
		return
	}
	if b.Enabled != nil && *b.Enabled && !old.Enabled && !s.checkQuota(c, dept, old.StreamID) {
		return
	}
	old.Algorithm, old.Params = b.Algorithm, b.Params
	if b.Enabled != nil {
		old.Enabled = *b.Enabled
	}
	if b.Priority != nil {
		old.Priority = *b.Priority
	}
	if err := s.DB.UpdateTask(c, &old); err != nil {
		storeErr(c, err, "task")
		return
	}
	s.Scheduler.Notify()
	c.JSON(http.StatusOK, s.taskView(old))
}

func getTask(s *Server, c *gin.Context) {
	t, ok := s.task(c, false)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, s.taskView(t))
}

func listTasks(s *Server, c *gin.Context) {
	ts, err := s.DB.ListTasks(c, who(c).Scope(), c.Query("device_id"))
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
	if _, ok := s.task(c, true); !ok {
		return
	}
	if err := s.DB.DeleteTask(c, c.Param("id")); err != nil {
		storeErr(c, err, "task "+c.Param("id"))
		return
	}
	s.Scheduler.Notify()
	c.Status(http.StatusNoContent)
}
