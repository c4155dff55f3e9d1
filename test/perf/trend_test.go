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
