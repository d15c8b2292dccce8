package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// medians combines the rounds phase by phase: the median CPU time (and wall time,
// counts), the range of CPU ms/frame, every round's load average.
func medians(rounds [][]result) []result {
	var out []result
	for i := range rounds[0] {
		var all []result
		for _, rs := range rounds {
			all = append(all, rs[i])
		}
		m := all[0]
		cpu := func(k int) time.Duration { return all[k].CPU }
		sort.Slice(all, func(a, b int) bool { return all[a].CPU < all[b].CPU })
		mid := len(all) / 2
		m.CPU, m.Wall, m.Captures, m.ModelRuns, m.Analysed = cpu(mid), all[mid].Wall, all[mid].Captures, all[mid].ModelRuns, all[mid].Analysed
		if len(all)%2 == 0 {
			m.CPU = (cpu(mid-1) + cpu(mid)) / 2
		}
		m.Min, m.Max = all[0].msPerFrame(), all[len(all)-1].msPerFrame()
		var loads []string
		m.Loads = 0
		for _, rs := range rounds {
			loads = append(loads, rs[i].Load1)
			m.Loads += rs[i].Loads
			if rs[i].Note != "" {
				m.Note = rs[i].Note
			}
		}
		m.Load1 = strings.Join(loads, " ")
		out = append(out, m)
	}
	return out
}

func find(rs []result, name string) result {
	for _, r := range rs {
		if r.Name == name {
			return r
		}
	}
	return result{Name: name}
}

// printTable prints one row per phase (medians over the rounds when there are
// several, with the range of CPU ms/frame).
func printTable(rs []result, rounds int) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tCPU s\tframes\tCPU ms/frame\trange\tmodel runs\ttask×frames\tcaptures\twall s\tmodel loads\tload1\t")
	for _, r := range rs {
		perFrame, frames, rng := fmt.Sprintf("%.2f", r.msPerFrame()), fmt.Sprint(r.Frames), "-"
		if rounds > 1 && r.Max > 0 {
			rng = fmt.Sprintf("%.2f–%.2f", r.Min, r.Max)
		}
		if r.Frames == 0 { // the recorder replay: per capture
			perFrame = fmt.Sprintf("%.2f/capture", ms(r.CPU)/float64(max(r.Captures, 1)))
			frames = "-"
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%d\t%s\t%s\n", r.Name, r.CPU.Seconds(), frames, perFrame, rng,
			dash(r.ModelRuns), dash(r.Analysed), dash(r.Captures), r.Wall.Seconds(), r.Loads, r.Load1, r.Note)
	}
	tw.Flush()
}

func dash(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// printTargets compares the pipelines with the baselines, per frame of the clip.
// Without the recorder: the pipeline's CPU less its captures × the replayed price of
// one Recorder.Save (the baselines write nothing).
func printTargets(rs []result) {
	rec := find(rs, phRecorder)
	pipe := map[string]result{"shared": find(rs, phShared), "indep": find(rs, phIndep), "pv": find(rs, phPV), "face": find(rs, phFace)}
	d, bf, nd := find(rs, phDecode).msPerFrame(), find(rs, phBlaze).msPerFrame(), find(rs, phNano).msPerFrame()
	perCapture := ms(rec.CPU) / float64(max(rec.Captures, 1))
	noRec := func(r result) float64 { return r.msPerFrame() - float64(r.Captures)*perCapture/float64(r.Frames) }
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "MISS"
	}
	fmt.Printf("\nbaselines per frame: decode D = %.2f ms, blazeface-back B = %.2f ms, nanodet N = %.2f ms; one Recorder.Save = %.2f ms\n\n",
		d, bf, nd, perCapture)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tpipeline ms/frame\treference ms/frame\tratio\ttarget\tresult\twithout recorder\toverhead ms/frame")
	ratioRow := func(name string, r result, ref float64, limit float64) {
		ratio, nr := r.msPerFrame()/ref, noRec(r)/ref
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.3f\t≤ %.2f\t%s\t%.3f (%s)\t%+.2f\n", name, r.msPerFrame(), ref, ratio, limit,
			verdict(ratio <= limit), nr, verdict(nr <= limit), r.msPerFrame()-ref)
	}
	ratioRow("1a shared ÷ (D + B + N)", pipe["shared"], d+bf+nd, 1.15)
	s, i := pipe["shared"].msPerFrame(), pipe["indep"].msPerFrame()
	fmt.Fprintf(tw, "1b independent ÷ shared\t%.2f\t%.2f\t%.3f\t≥ 3.00\t%s\t%.3f (%s)\t\n", i, s, i/s, verdict(i/s >= 3),
		noRec(pipe["indep"])/noRec(pipe["shared"]), verdict(noRec(pipe["indep"])/noRec(pipe["shared"]) >= 3))
	s1, i1 := find(rs, phShared1), find(rs, phIndep1)
	if s1.Frames > 0 && i1.Frames > 0 {
		a, b := s1.msPerFrame(), i1.msPerFrame()
		fmt.Fprintf(tw, "(1b with 1 model: 4 face tasks)\t%.2f\t%.2f\t%.3f\t≥ 3.00\t%s\t%.3f (%s)\t\n", b, a, b/a, verdict(b/a >= 3),
			noRec(i1)/noRec(s1), verdict(noRec(i1)/noRec(s1) >= 3))
		ratioRow("(1a with 1 model) ÷ (D + B)", s1, d+bf, 1.15)
	}
	ratioRow("2  person_vehicle ÷ (D + N)", pipe["pv"], d+nd, 1.10)
	ratioRow("2  face ÷ (D + B)", pipe["face"], d+bf, 1.10)
	tw.Flush()
	ideal := (4*d + 2*bf + 2*nd) / (d + bf + nd)
	fmt.Printf("\n1b bound: with zero overhead, 4 independent pipelines cost (4D + 2B + 2N) = %.2f ms/frame against (D + B + N) = %.2f: "+
		"at most %.2f× — the 4 tasks use only 2 models, so sharing saves 3 decodes and 2 model runs per frame, not 3/4 of the work.\n",
		4*d+2*bf+2*nd, d+bf+nd, ideal)
	frac, fracNR := (i/s)/ideal, (noRec(pipe["indep"])/noRec(pipe["shared"]))/ideal
	fmt.Printf("   measured independent ÷ (4D + 2B + 2N) = %.3f; shared reaches %.1f%% of the bound (target ≥ 95%%: %s), %.1f%% without the recorder (%s).\n",
		i/(4*d+2*bf+2*nd), 100*frac, verdict(frac >= 0.95), 100*fracNR, verdict(fracNR >= 0.95))
	fmt.Printf("   with 4 tasks on 1 model (4 × face_capture) the bound is (4D + 4B) / (D + B) = 4.\n")
}

// printRounds prints the targets' ratios round by round (each round's pipelines
// against the same round's baselines, so a change of load between rounds shows).
func printRounds(rounds [][]result) {
	fmt.Println("\nratios per round (with recorder / without):")
	for i, rs := range rounds {
		rec := find(rs, phRecorder)
		perCapture := ms(rec.CPU) / float64(max(rec.Captures, 1))
		d, bf, nd := find(rs, phDecode).msPerFrame(), find(rs, phBlaze).msPerFrame(), find(rs, phNano).msPerFrame()
		f := func(name string, ref float64) string {
			r := find(rs, name)
			return fmt.Sprintf("%.3f/%.3f", r.msPerFrame()/ref, (r.msPerFrame()-float64(r.Captures)*perCapture/float64(r.Frames))/ref)
		}
		s, in := find(rs, phShared).msPerFrame(), find(rs, phIndep).msPerFrame()
		fmt.Printf("  round %d: 1a %s  1b %.3f  (1 model: 1b %.3f)  2 person_vehicle %s  2 face %s\n", i+1, f(phShared, d+bf+nd), in/s,
			find(rs, phIndep1).msPerFrame()/find(rs, phShared1).msPerFrame(), f(phPV, d+nd), f(phFace, d+bf))
	}
}
