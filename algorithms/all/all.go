// Package all registers every algorithm: import it (blank) where tasks are validated
// or run. Each algorithm lives in its own package and registers itself in init.
package all

import (
	_ "github.com/cityeye/cityeye/algorithms"         // person_vehicle_capture, face_capture
	_ "github.com/cityeye/cityeye/algorithms/alert"   // detector_alert
	_ "github.com/cityeye/cityeye/algorithms/fire"    // fire_smoke
	_ "github.com/cityeye/cityeye/algorithms/flow"    // people_flow
	_ "github.com/cityeye/cityeye/algorithms/kitchen" // kitchen_hygiene
	_ "github.com/cityeye/cityeye/algorithms/quality" // video_quality
	_ "github.com/cityeye/cityeye/algorithms/water"   // waterlogging
)
