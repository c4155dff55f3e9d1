package controllers

import (
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/filelink-dev/filelink-operator/internal/objectstore"
)

// ReconcilerOptions are what the File and FileStore reconcilers take besides their
// readers; both reach S3, so both take its tuning.
type ReconcilerOptions struct {
	Clock    clock.PassiveClock
	Recorder events.EventRecorder
	// Store tunes the S3 clients of FileStores; the zero value suits production.
	Store objectstore.Options
	// MaxConcurrentReconciles bounds parallel reconciles; 0 means controller-runtime's default.
	MaxConcurrentReconciles int
}

// optionsFrom gives a reconciler of mgr the settings of cfg, its events named after reporter.
func optionsFrom(mgr ctrl.Manager, cfg Config, reporter string) ReconcilerOptions {
	return ReconcilerOptions{
		Clock:                   cfg.Clock,
		Recorder:                mgr.GetEventRecorder(reporter),
		MaxConcurrentReconciles: cfg.MaxConcurrentReconciles,
	}
}
