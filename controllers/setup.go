// Package controllers holds the File and FileLink reconcilers: each reads its object and
// what it depends on from the manager's cache, decides its status as a pure function
// (the *_status.go files) and patches it.
package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/filelink-dev/filelink-operator/internal/eventsink"
	"github.com/filelink-dev/filelink-operator/internal/netguard"
	"github.com/filelink-dev/filelink-operator/internal/objectstore"
	"github.com/filelink-dev/filelink-operator/internal/signing"
	"github.com/filelink-dev/filelink-operator/internal/storeaccess"
)

// Config is what the reconcilers need from the manager binary's flags.
type Config struct {
	Clock clock.PassiveClock
	// Keys issue link URLs: the live key Secret (signing.LiveKey).
	Keys                    signing.Keys
	BaseURL                 string
	MaxConcurrentReconciles int
	// URLsInSecretsOnly is --url-in-status=false: every link's URL is published only in
	// the Secret its spec.urlSecretName names (SPEC §12).
	URLsInSecretsOnly bool
	// StoreNetworks judges every connection to a FileStore's endpoint (SPEC §12); nil:
	// the built-in denials alone.
	StoreNetworks *netguard.Policy
	// SourceRead, when set, is handed each body the File reconciler read for a File it
	// found Ready: the link server of this process keeps it, instead of reading the same
	// Secret again as soon as the File turns Ready.
	SourceRead SourceReadFunc
}

// UncachedObjects are the kinds the reconcilers read only through the API server, for
// the manager's client.CacheOptions.DisableFor: Files read Secrets and ConfigMaps,
// whose data must not sit in the manager's cache, where its memory would grow with
// every Secret in the cluster. Only their metadata is watched.
func UncachedObjects() []client.Object {
	return []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}}
}

// Setup registers the File, FileLink and FileStore reconcilers, with their indexes and watches.
// What they subscribe to beyond mgr (key changes) lasts as long as ctx, which must end
// when mgr stops.
func Setup(ctx context.Context, mgr ctrl.Manager, cfg Config) error {
	// The reconcilers' events go through a sink of their own, not controller-runtime's
	// recorders, whose broadcaster caches every event for minutes (internal/eventsink).
	// It posts with as many workers as a reconciler has, since each reconcile that
	// patches a status records at most one event.
	sink := eventsink.New(mgr.GetClient(), mgr.GetLogger().WithName("events"), cfg.MaxConcurrentReconciles)
	if err := mgr.Add(sink); err != nil {
		return err
	}
	// The conditions say why credentials are refused, so a Secret missing from the
	// labelled-only cache is looked up by its metadata to tell absent from unlabelled.
	stores := storeaccess.New(storeaccess.Options{Labelled: mgr.GetCache(), Secrets: mgr.GetAPIReader(), ExplainRefusals: true,
		Store: objectstore.Options{Networks: cfg.StoreNetworks}})
	for _, c := range []struct {
		kind       string
		reconciler interface {
			SetupWithManager(context.Context, ctrl.Manager) error
		}
	}{
		{"File", &FileReconciler{Client: mgr.GetClient(), ReconcilerOptions: optionsFrom(mgr, cfg, sink, stores, "filelink-file"), SourceRead: cfg.SourceRead}},
		{"FileLink", &FileLinkReconciler{Client: mgr.GetClient(), ReconcilerOptions: optionsFrom(mgr, cfg, sink, stores, "filelink-filelink"),
			Keys: cfg.Keys, BaseURL: cfg.BaseURL, URLsInSecretsOnly: cfg.URLsInSecretsOnly}},
		{"FileStore", &FileStoreReconciler{Client: mgr.GetClient(), ReconcilerOptions: optionsFrom(mgr, cfg, sink, stores, "filelink-filestore")}},
	} {
		if err := c.reconciler.SetupWithManager(ctx, mgr); err != nil {
			return fmt.Errorf("setting up %s controller: %w", c.kind, err)
		}
	}
	return nil
}
