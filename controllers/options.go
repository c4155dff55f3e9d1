package controllers

import (
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/filelink-dev/filelink-operator/internal/eventsink"
	"github.com/filelink-dev/filelink-operator/internal/storeaccess"
)

// ReconcilerOptions are what every reconciler takes besides its client, built in one
// place (optionsFrom) so the reconcilers cannot drift apart in clock, events or
// concurrency. The source readers and store access serve the File and FileStore
// reconcilers, which read Secrets only with their owners' consent and reach S3; the
// FileLink reconciler reads neither.
type ReconcilerOptions struct {
	// SourceReader reads Secrets and ConfigMaps from the API server. It is uncached so
	// the manager holds the data of no Secret; only metadata is watched.
	SourceReader client.Reader
	// SourceMetadata reads the metadata-only cache of Secrets and ConfigMaps, which
	// holds labelled (shareable) objects only and tells the current resourceVersion of
	// a source without an API call.
	SourceMetadata client.Reader
	// Clock is the reconcilers' notion of now; tests move a fake one.
	Clock clock.PassiveClock
	// Recorder posts the events of Ready transitions; nil posts none.
	Recorder events.EventRecorder
	// Stores opens FileStores' buckets, reading credentials through the two readers
	// above with their owners' consent; the File and FileStore reconcilers share one,
	// and with it one S3 client per FileStore. Required when FileStores are in use.
	Stores *storeaccess.Access
	// MaxConcurrentReconciles bounds parallel reconciles; 0 means controller-runtime's default.
	MaxConcurrentReconciles int
}

// optionsFrom gives a reconciler of mgr the settings of cfg, its events posted by sink
// and named after reporter, and stores.
func optionsFrom(mgr ctrl.Manager, cfg Config, sink *eventsink.Sink, stores *storeaccess.Access, reporter string) ReconcilerOptions {
	return ReconcilerOptions{
		SourceReader:            mgr.GetAPIReader(),
		SourceMetadata:          mgr.GetCache(),
		Clock:                   cfg.Clock,
		Recorder:                sink.Recorder(reporter),
		Stores:                  stores,
		MaxConcurrentReconciles: cfg.MaxConcurrentReconciles,
	}
}
