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

// fitTrendLeading fits y = intercept + slope × x + step × leading by least squares,
// where leading is 1 for a sample taken while the replica held the lease and 0
// otherwise: a leader runs the reconcilers, with their goroutines and memory, and the
// lease changes hands every half minute, so without the step that difference would be
// most of the noise the trend is held against. With the lease never changing hands (or
// always held) it is fitTrend.
func fitTrendLeading(x, y, leading []float64) trend {
	var on int
	for _, l := range leading {
		if l != 0 {
			on++
		}
	}
	if len(leading) != len(x) || on == 0 || on == len(x) || len(x) < 4 {
		return fitTrend(x, y)
	}
	t := trend{n: len(x), window: x[len(x)-1] - x[0]}
	// Normal equations (X'X) b = X'y for the columns 1, x, leading.
	var a [3][3]float64
	var r [3]float64
	for i := range x {
		row := [3]float64{1, x[i], leading[i]}
		for j := range 3 {
			r[j] += row[j] * y[i]
			for k := range 3 {
				a[j][k] += row[j] * row[k]
			}
		}
		t.mean += y[i]
	}
	t.mean /= float64(len(x))
	inv, ok := invert3(a)
	if !ok {
		return fitTrend(x, y)
	}
	var b [3]float64
	for j := range 3 {
		for k := range 3 {
			b[j] += inv[j][k] * r[k]
		}
	}
	t.intercept, t.slope = b[0], b[1]
	var sse float64
	for i := range x {
		e := y[i] - (b[0] + b[1]*x[i] + b[2]*leading[i])
		sse += e * e
	}
	t.residSD = math.Sqrt(sse / float64(len(x)-3))
	t.slopeSE = t.residSD * math.Sqrt(inv[1][1])
	return t
}

// invert3 inverts a 3×3 matrix by its adjugate.
func invert3(m [3][3]float64) ([3][3]float64, bool) {
	var inv [3][3]float64
	det := m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) -
		m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
		m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	if math.Abs(det) < 1e-12 {
		return inv, false
	}
	for i := range 3 {
		for j := range 3 {
			// The cofactor of (j, i), transposed into place.
			r0, r1 := (j+1)%3, (j+2)%3
			c0, c1 := (i+1)%3, (i+2)%3
			inv[i][j] = (m[r0][c0]*m[r1][c1] - m[r0][c1]*m[r1][c0]) / det
		}
	}
	return inv, true
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
	// A constant series leaves rounding residue (1e-14) where there is nothing.
	c := func(v float64) float64 {
		if math.Abs(v) < 1e-9 {
			return 0
		}
		return v
	}
	return fmt.Sprintf("%+.3g ± %.2g %s/min; line %+.3g %s over %.1f min vs noise 2σ %.3g %s",
		c(t.slope/scale), c(t.slopeSE/scale), unit, c(t.slope*t.window/scale), unit, t.window, c(2*t.residSD/scale), unit)
}
