package audit

import (
	"errors"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"
)

// errWriterBehind is why lines are lost that the writer did not take in time.
var errWriterBehind = errors.New("audit log writer too slow; lines dropped rather than slowing downloads")

// reporter tells the manager's log about lost audit lines, at most once per
// ReportInterval: a failing disk fails every write, and one line per failure would
// turn the audit log's trouble into the manager log's.
type reporter struct {
	log   logr.Logger
	clock clock.PassiveClock

	lost     int
	lastErr  error
	reported time.Time
}

func (r *reporter) add(n int, err error) {
	r.lost += n
	r.lastErr = err
}

// report logs the lines lost since the last report when ReportInterval has passed, or
// at once when final.
func (r *reporter) report(final bool) {
	if r.lost == 0 {
		return
	}
	now := r.clock.Now()
	if !final && !r.reported.IsZero() && now.Sub(r.reported) < ReportInterval {
		return
	}
	r.log.Error(r.lastErr, "audit lines lost", "lines", r.lost, "metric", "filelink_audit_lines_dropped_total")
	r.lost, r.lastErr, r.reported = 0, nil, now
}
