package decode

import "sort"

// NMS keeps the highest-scoring detections and drops any that overlap a kept one by
// more than iouThreshold. With classAware, only detections of the same class suppress
// each other. The input slice is not modified. This is the one NMS in CityEye.
func NMS(dets []Detection, iouThreshold float32, classAware bool) []Detection {
	sorted := append([]Detection(nil), dets...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Score > sorted[j].Score })
	kept := make([]Detection, 0, len(sorted))
	suppressed := make([]bool, len(sorted))
	for i := range sorted {
		if suppressed[i] {
			continue
		}
		kept = append(kept, sorted[i])
		for j := i + 1; j < len(sorted); j++ {
			if suppressed[j] || (classAware && sorted[j].Class != sorted[i].Class) {
				continue
			}
			if IoU(sorted[i].Box, sorted[j].Box) > iouThreshold {
				suppressed[j] = true
			}
		}
	}
	return kept
}

// WeightedNMS merges overlapping detections into their score-weighted mean instead of
// dropping them, as MediaPipe does for BlazeFace; it gives steadier boxes.
func WeightedNMS(dets []Detection, iouThreshold float32) []Detection {
	sorted := append([]Detection(nil), dets...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Score > sorted[j].Score })
	used := make([]bool, len(sorted))
	var out []Detection
	for i := range sorted {
		if used[i] {
			continue
		}
		var wsum float32
		var acc Detection
		acc.Keypoints = make([][2]float32, len(sorted[i].Keypoints))
		for j := i; j < len(sorted); j++ {
			if used[j] || IoU(sorted[i].Box, sorted[j].Box) <= iouThreshold && j != i {
				continue
			}
			used[j] = true
			w := sorted[j].Score
			wsum += w
			acc.Box.X1 += w * sorted[j].Box.X1
			acc.Box.Y1 += w * sorted[j].Box.Y1
			acc.Box.X2 += w * sorted[j].Box.X2
			acc.Box.Y2 += w * sorted[j].Box.Y2
			for k := range acc.Keypoints {
				if k < len(sorted[j].Keypoints) {
					acc.Keypoints[k][0] += w * sorted[j].Keypoints[k][0]
					acc.Keypoints[k][1] += w * sorted[j].Keypoints[k][1]
				}
			}
		}
		acc.Box = Box{acc.Box.X1 / wsum, acc.Box.Y1 / wsum, acc.Box.X2 / wsum, acc.Box.Y2 / wsum}
		for k := range acc.Keypoints {
			acc.Keypoints[k][0] /= wsum
			acc.Keypoints[k][1] /= wsum
		}
		acc.Score, acc.Class, acc.Label = sorted[i].Score, sorted[i].Class, sorted[i].Label
		out = append(out, acc)
	}
	return out
}
