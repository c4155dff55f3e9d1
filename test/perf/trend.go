package main

import (
	"fmt"
	"math"
)

// trend is the least-squares line through a series of (minutes, value) samples and
// whether it rises beyond noise.
//
// The test (the soak's, written into its report): a series has an upward trend beyond
// noise when both
//
//   - its slope is positive with 95% confidence: slope − 2 × its standard error > 0,
//     so that a line fitted through noise alone is not taken for growth; and
//   - the line rises, over the measured window, by more than twice the standard
//     deviation of the samples around it, and by more than the series' floor (a
//     resolution: 2 MiB of memory, 10 goroutines, 5 descriptors), so that a
//     statistically certain but tiny slope (a few KiB over half an hour, one more
//     keep-alive connection open at the end) is not either.
type trend struct {
	n         int
	slope     float64 // per minute
	slopeSE   float64 // standard error of the slope
	intercept float64
	residSD   float64 // standard deviation of the residuals
	window    float64 // minutes from the first sample to the last
	mean      float64
}

// fitTrend fits y = intercept + slope × x by least squares; x is in minutes.
func fitTrend(x, y []float64) trend {
	t := trend{n: len(x)}
	if len(x) != len(y) || len(x) < 3 {
		return t
	}
	var sx, sy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
	}
	n := float64(len(x))
	mx, my := sx/n, sy/n
	var sxx, sxy float64
	for i := range x {
		sxx += (x[i] - mx) * (x[i] - mx)
		sxy += (x[i] - mx) * (y[i] - my)
	}
	t.mean = my
	t.window = x[len(x)-1] - x[0]
	if sxx == 0 {
		return t
	}
	t.slope = sxy / sxx
	t.intercept = my - t.slope*mx
	var sse float64
	for i := range x {
		r := y[i] - (t.intercept + t.slope*x[i])
		sse += r * r
	}
	t.residSD = math.Sqrt(sse / (n - 2))
	t.slopeSE = t.residSD / math.Sqrt(sxx)
	return t
}

// rising reports whether the series trends upward beyond noise and floor (see trend).
func (t trend) rising(floor float64) bool {
	if t.n < 3 {
		return false
	}
	confident := t.slope-2*t.slopeSE > 0
	material := t.slope*t.window > max(2*t.residSD, floor)
	return confident && material
}

// describe writes the slope per minute with its standard error and the growth over the
// window against the noise, in unit.
func (t trend) describe(unit string, scale float64) string {
	if t.n < 3 {
		return "too few samples"
	}
	return fmt.Sprintf("%+.3g ± %.2g %s/min; line %+.3g %s over %.1f min vs noise 2σ %.3g %s",
		t.slope/scale, t.slopeSE/scale, unit, t.slope*t.window/scale, unit, t.window, 2*t.residSD/scale, unit)
}
