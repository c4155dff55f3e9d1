package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/filelink-dev/filelink-operator/internal/lastmodified"
	"github.com/filelink-dev/filelink-operator/internal/signing"
)

// Config is what the reconcilers need from the manager binary's flags.
type Config struct {
	Clock                   clock.PassiveClock
	Signer                  *signing.Signer
	BaseURL                 string
	MaxConcurrentReconciles int
}

// ClientOptions keep Secret and ConfigMap data out of the manager's cache: reads of them
// go to the API server and only their metadata is watched, so the manager's memory does
// not grow with every Secret in the cluster.
func ClientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{
		DisableFor: []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}},
	}}
}

// CacheOptions keep the informer cache lean: managed fields, often the largest part of a
// cached object and read by nothing here, shrink to the one timestamp the link server
// uses for Last-Modified.
func CacheOptions() cache.Options {
	return cache.Options{DefaultTransform: lastmodified.Transform}
}

// Setup registers the File, FileLink and FileStore reconcilers, with their indexes and watches.
func Setup(ctx context.Context, mgr ctrl.Manager, cfg Config) error {
	if err := (&FileReconciler{
		Client:                  mgr.GetClient(),
		SourceReader:            mgr.GetAPIReader(),
		SourceMetadata:          mgr.GetCache(),
		Clock:                   cfg.Clock,
		Recorder:                mgr.GetEventRecorder("filelink-file"),
		MaxConcurrentReconciles: cfg.MaxConcurrentReconciles,
	}).SetupWithManager(ctx, mgr); err != nil {
		return fmt.Errorf("setting up File controller: %w", err)
	}
	if err := (&FileLinkReconciler{
		Client:                  mgr.GetClient(),
		Clock:                   cfg.Clock,
		Recorder:                mgr.GetEventRecorder("filelink-filelink"),
		Signer:                  cfg.Signer,
		BaseURL:                 cfg.BaseURL,
		MaxConcurrentReconciles: cfg.MaxConcurrentReconciles,
	}).SetupWithManager(ctx, mgr); err != nil {
		return fmt.Errorf("setting up FileLink controller: %w", err)
	}
	if err := setupFileStoreController(ctx, mgr, cfg); err != nil {
		return err
	}
	return nil
}
