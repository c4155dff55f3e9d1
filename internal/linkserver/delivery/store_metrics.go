package linkserver

import (
	"errors"
	"io"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
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

// registerStoreMetrics adds storeRequests to the manager's registry, once per process.
func registerStoreMetrics() error {
	_, err := register(ctrlmetrics.Registry, storeRequests)
	return err
}

// storeOutcome names the outcome of a request that failed at the object store.
func storeOutcome(err error) string {
	switch {
	case errors.Is(err, errNotServable):
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
// out, so the count is there by the time the downloader has the answer.
type storeAnswer struct {
	http.ResponseWriter
	delivery filelinkv1.Delivery
	outcome  string
	counted  bool
}

func (a *storeAnswer) WriteHeader(code int) {
	if !a.counted {
		a.counted = true
		storeRequests.WithLabelValues(string(a.delivery), a.outcome).Inc()
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *storeAnswer) Write(b []byte) (int, error) {
	if !a.counted {
		a.WriteHeader(http.StatusOK)
	}
	return a.ResponseWriter.Write(b)
}

func (a *storeAnswer) ReadFrom(r io.Reader) (int64, error) {
	if !a.counted {
		a.WriteHeader(http.StatusOK)
	}
	return readFrom(a.ResponseWriter, r)
}

// Unwrap lets http.ResponseController reach the connection.
func (a *storeAnswer) Unwrap() http.ResponseWriter { return a.ResponseWriter }
