package main

import (
	"math"
	"testing"
)

func TestFitTrend(t *testing.T) {
	// A sawtooth around a flat line (a collected heap) does not rise.
	var x, flat, leak, noisyFlat []float64
	for i := range 180 {
		m := float64(i) / 6 // every 10 s, 30 minutes
		x = append(x, m)
		saw := float64(i%6) * 2
		flat = append(flat, 100+saw)
		leak = append(leak, 100+saw+0.5*m) // half a unit per minute: 15 over the run
		noisyFlat = append(noisyFlat, 100+8*math.Sin(float64(i)*1.7))
	}
	if tr := fitTrend(x, flat); tr.rising(0) {
		t.Errorf("sawtooth around a flat line taken for a trend: %+v", tr)
	}
	if tr := fitTrend(x, noisyFlat); tr.rising(0) {
		t.Errorf("noise taken for a trend: %+v", tr)
	}
	tr := fitTrend(x, leak)
	if !tr.rising(0) {
		t.Errorf("a leak of 0.5/min over 30 min not found: %+v", tr)
	}
	if math.Abs(tr.slope-0.5) > 0.05 {
		t.Errorf("slope %v, want about 0.5", tr.slope)
	}
	// Below the floor, a certain rise is not a trend.
	if tr.rising(20) {
		t.Errorf("a rise of 15 taken for a trend above a floor of 20: %+v", tr)
	}
	// A falling series never counts as rising.
	var down []float64
	for _, m := range x {
		down = append(down, 200-m)
	}
	if fitTrend(x, down).rising(0) {
		t.Error("a falling series taken for a rising one")
	}
	// Too few samples: no verdict of growth.
	if fitTrend(x[:2], leak[:2]).rising(0) {
		t.Error("two samples taken for a trend")
	}
}

func TestFitTrendLeading(t *testing.T) {
	// The leader holds 40 goroutines more; the lease changes hands every 3 samples.
	var x, lead, flat, leak []float64
	for i := range 180 {
		m := float64(i) / 6
		l := float64((i / 3) % 2)
		x, lead = append(x, m), append(lead, l)
		jitter := float64(i%4) - 1.5
		flat = append(flat, 160+40*l+jitter)
		leak = append(leak, 160+40*l+jitter+0.5*m) // 15 goroutines over 30 minutes
	}
	if tr := fitTrendLeading(x, flat, lead); tr.rising(0) || tr.residSD > 2 {
		t.Errorf("leadership taken for noise or trend: %+v", tr)
	}
	tr := fitTrendLeading(x, leak, lead)
	if !tr.rising(10) || math.Abs(tr.slope-0.5) > 0.05 {
		t.Errorf("a leak of 0.5/min hidden by leadership not found: %+v", tr)
	}
	// Without the step, the leadership's 40 drowns the same leak.
	if fitTrend(x, leak).rising(10) {
		t.Log("the plain fit found it too")
	}
	// Leadership never changing: the plain fit.
	none := make([]float64, len(x))
	if got, want := fitTrendLeading(x, leak, none), fitTrend(x, leak); got != want {
		t.Errorf("constant leadership: %+v, want the plain fit %+v", got, want)
	}
}

func TestInvert3(t *testing.T) {
	m := [3][3]float64{{2, 1, 0}, {1, 3, 1}, {0, 1, 4}}
	inv, ok := invert3(m)
	if !ok {
		t.Fatal("not inverted")
	}
	for i := range 3 {
		for j := range 3 {
			var p float64
			for k := range 3 {
				p += m[i][k] * inv[k][j]
			}
			want := 0.0
			if i == j {
				want = 1
			}
			if math.Abs(p-want) > 1e-9 {
				t.Errorf("(m·inv)[%d][%d] = %v, want %v", i, j, p, want)
			}
		}
	}
}
