package audit

import "github.com/prometheus/client_golang/prometheus"

// droppedLines counts the audit lines that never reached the writer's destination:
// the one sign that the audit log is incomplete while serving goes on.
var droppedLines = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "filelink_audit_lines_dropped_total",
	Help: "Audit log lines lost because the audit log's destination failed or fell behind; serving goes on.",
})

// Collector is the audit log's metric, for the manager's registry.
func Collector() prometheus.Collector { return droppedLines }
