package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// requestsFor lists, from the cache, the objects matching opts (an index lookup, not a
// scan) and returns a reconcile request for each: how a change to one object wakes the
// objects that depend on it.
func requestsFor(ctx context.Context, c client.Reader, list client.ObjectList, opts ...client.ListOption) []reconcile.Request {
	if err := c.List(ctx, list, opts...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing dependents for a watch event")
		return nil
	}
	var reqs []reconcile.Request
	_ = meta.EachListItem(list, func(o runtime.Object) error {
		if obj, ok := o.(client.Object); ok {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
		}
		return nil
	})
	return reqs
}

// afterInitialList is for watches of the objects a reconciled kind depends on: it drops
// the create events of their informer's initial list. When a controller starts, its own
// kind's initial list already queues every object it reconciles, each of which reads
// its dependencies from the synced cache; mapping every dependency to its dependents as
// well would repeat that, an index lookup per object, while a restarted replica is
// busiest (catching up, and serving the links of every replica that restarted).
var afterInitialList = builder.WithPredicates(skipInitialList)

var skipInitialList = predicate.Funcs{
	CreateFunc: func(e event.CreateEvent) bool { return !e.IsInInitialList },
}
