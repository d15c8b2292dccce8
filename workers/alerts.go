package workers

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/plan"
)

// SaveAlert stores an alert with a snapshot that shows what triggered it: each box
// drawn and labelled on a copy of the frame. Same crash-safe pair write as records,
// spooled the same way when storage is away.
func (r *Recorder) SaveAlert(ctx context.Context, st store.Stream, tp plan.TaskPlan, a algorithms.Alert) error {
	t := a.Time.In(r.Loc)
	serial, err := r.serials(ctx, st.ID, t, 1)
	if err != nil {
		return err
	}
	id := fmt.Sprintf("A%s%s%05d", st.ID, t.Format("20060102150405"), serial)
	img := a.Frame.Clone()
	defer img.Close()
	DrawBoxes(&img, a.Boxes)
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, img, []int{gocv.IMWriteJpegQuality, r.Quality})
	if err != nil {
		return fmt.Errorf("encode alert snapshot: %w", err)
	}
	defer buf.Close()
	key := fmt.Sprintf("alerts/%s/%s/%s.jpg", st.ID, t.Format("20060102"), id)
	boxes, _ := json.Marshal(a.Boxes)
	if a.Boxes == nil {
		boxes = []byte("[]")
	}
	details, _ := json.Marshal(a.Details)
	if a.Details == nil {
		details = []byte("{}")
	}
	rec := &store.Alert{ID: id, Kind: a.Kind, Level: a.Level, TaskID: tp.Task.ID, DeviceID: st.ID, DeptID: tp.Task.DeptID, Division: st.AdminDivision,
		GrantID: tp.GrantID, Longitude: st.Longitude, Latitude: st.Latitude, Zone: a.Zone, Time: a.Time, Image: key, Boxes: boxes, Details: details}
	return r.commit(ctx, &spoolEntry{Alert: rec, Objects: []spoolObject{{key, buf.GetBytes()}}})
}

// SaveMeasures stores a task's time-series samples.
func (r *Recorder) SaveMeasures(ctx context.Context, st store.Stream, tp plan.TaskPlan, ms []algorithms.Measure) error {
	out := make([]store.Measure, len(ms))
	for i, m := range ms {
		out[i] = store.Measure{TaskID: tp.Task.ID, DeviceID: st.ID, Name: m.Name, Value: m.Value, Unit: m.Unit, Time: m.Time}
	}
	return r.DB.SaveMeasures(ctx, out)
}

// DrawBoxes outlines and labels boxes on img (red, with the label and score above).
func DrawBoxes(img *gocv.Mat, boxes []algorithms.Box) {
	red := color.RGBA{R: 255, A: 255}
	th := max(2, img.Cols()/400)
	for _, b := range boxes {
		r := image.Rect(int(b.Box.X1), int(b.Box.Y1), int(b.Box.X2), int(b.Box.Y2))
		gocv.Rectangle(img, r, red, th)
		label := fmt.Sprintf("%s %.2f", b.Label, b.Score)
		y := max(r.Min.Y-4, 12)
		gocv.PutText(img, label, image.Pt(r.Min.X, y), gocv.FontHersheySimplex, 0.5, red, 1)
	}
}
