package delivery

import (
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/decision"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/guard"
	"github.com/filelink-dev/filelink-operator/internal/objectstore"
)

// Outcomes of a request for a File whose bytes are an object of a FileStore.
const (
	storeFetched     = "fetched"     // bytes streamed from the object store
	storeLocal       = "local"       // answered from the File's status alone: HEAD, 304, 412, 416
	storeRedirected  = "redirected"  // 302 to a presigned URL
	storeRefused     = "refused"     // no FileStore, unlabelled credentials, a File without a version
	storeChanged     = "changed"     // the object is no longer the version the status describes: 503
	storeNotFound    = "not_found"   // the object store has no such object or refuses the credentials: 404
	storeUnavailable = "unavailable" // the object store did not answer: 503
)

// storeRequests counts store requests by delivery and outcome, beside the counts by
// status code that every request gets: a 503 of a changed object reads differently
// from a 503 of an unreachable store.
var storeRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "filelink_link_store_requests_total",
	Help: "Link requests for Files stored in a FileStore, by delivery (proxy, redirect) and outcome " +
		"(fetched, local, redirected, refused, changed, not_found, unavailable).",
}, []string{"delivery", "outcome"})

// Every series exists at zero from the start, so that a dashboard or an alert reading
// rates of them sees 0 rather than nothing before the first store download.
func init() {
	for _, d := range []filelinkv1.Delivery{filelinkv1.DeliveryProxy, filelinkv1.DeliveryRedirect} {
		for _, o := range []string{storeFetched, storeLocal, storeRedirected, storeRefused, storeChanged, storeNotFound, storeUnavailable} {
			storeRequests.WithLabelValues(string(d), o)
		}
	}
}

// Collector is the store requests counter, to register on the manager's registry.
func Collector() prometheus.Collector { return storeRequests }

// storeOutcome names the outcome of a request that failed at the object store.
func storeOutcome(err error) string {
	switch {
	case errors.Is(err, decision.ErrNotServable):
		return storeRefused
	case errors.Is(err, objectstore.ErrObjectChanged):
		return storeChanged
	case storeStatus(err) == http.StatusNotFound:
		return storeNotFound
	default:
		return storeUnavailable
	}
}

// storeAnswer counts a store request by the outcome set on it when its status line goes
// out, so the count is there by the time the downloader has the answer. For a proxied
// body, that moment is also when the object store is asked for the bytes.
type storeAnswer struct {
	delivery filelinkv1.Delivery
	outcome  string
	proxy    *proxied
}

func (a *storeAnswer) beforeHead(code int) *guard.Refusal {
	var refusal *guard.Refusal
	if a.proxy != nil {
		a.outcome, refusal = a.proxy.open(code)
	}
	storeRequests.WithLabelValues(string(a.delivery), a.outcome).Inc()
	return refusal
}
