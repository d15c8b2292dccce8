package placement_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cityeye/cityeye/scheduler/placement"
)

// One CPU worker, target 0.6 of its second. A priority-1 stream needs 0.41 and
// cannot be lowered; six priority-0 streams fit beside it at their minimum rate, the
// seventh and eighth take turns with the sixth, a second priority-1 stream is refused.
func ExamplePlace() {
	workers := []placement.Node{{ID: "w1", Healthy: true, Devices: []placement.Device{
		{ID: "cpu", Kind: "cpu", DecodeFPS: 5000, ModelFPS: map[string]float64{"det": 100}},
	}}}
	stream := func(id string, fps, minFPS float64, prio int) placement.Stream {
		return placement.Stream{ID: id, FPS: 50, Tasks: []placement.Task{{ID: id + ".det", Model: "det", FPS: fps, MinFPS: minFPS, Priority: prio}}}
	}
	streams := []placement.Stream{stream("alarm1", 40, 40, 1), stream("alarm2", 40, 40, 1)}
	for i := 1; i <= 8; i++ {
		streams = append(streams, stream(fmt.Sprintf("stats%d", i), 10, 2, 0))
	}
	plan := placement.Place(placement.Config{TargetUtil: 0.6, Dwell: 30 * time.Second}, workers, streams, nil)

	for _, id := range slices.Sorted(maps.Keys(plan.Grants)) {
		g := plan.Grants[id]
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%-11s %-8s %2.0f fps  duty %.2f %s", id, g.State, g.GrantedFPS, g.Duty, g.Code)))
	}
	for _, sl := range plan.Rotation {
		fmt.Println("slot on", sl.Worker+"/"+sl.Device, sl.Streams, "cycle", sl.Cycle)
	}
	fmt.Printf("util %.2f\n", plan.Util["w1/cpu"])
	fmt.Println(plan.Grants["stats7.det"].Message)
	fmt.Println(plan.Grants["alarm2.det"].Message)
	// Output:
	// alarm1.det  ok       40 fps  duty 1.00
	// alarm2.det  unplaced  0 fps  duty 0.00 no_capacity
	// stats1.det  degraded  2 fps  duty 1.00 fps_lowered
	// stats2.det  degraded  2 fps  duty 1.00 fps_lowered
	// stats3.det  degraded  2 fps  duty 1.00 fps_lowered
	// stats4.det  degraded  2 fps  duty 1.00 fps_lowered
	// stats5.det  degraded  2 fps  duty 1.00 fps_lowered
	// stats6.det  rotated   2 fps  duty 0.33 time_shared
	// stats7.det  rotated   2 fps  duty 0.33 time_shared
	// stats8.det  rotated   2 fps  duty 0.33 time_shared
	// slot on w1/cpu [stats6 stats7 stats8] cycle 1m30s
	// util 0.59
	// time-shared on w1/cpu with 2 other stream(s): runs 30s of every 1m30s at its tasks' minimum rates, because priority-0 streams do not all fit even at minimum rates; its turn starts at 30s
	// refused: at minimum rates it needs 0.410 of a cpu device (decode 0.010, inference 0.400) and the most room left on a device that runs it is 0.010 (target 0.60); lower-priority work already runs at minimum rates or time-shared
}
