package linkserver

import (
	"net/http"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/filelink-dev/filelink-operator/internal/objectstore"
)

// SetStoreTransport makes s reach object stores through rt, so a test can count the
// requests a download makes to S3.
func SetStoreTransport(s *Server, rt http.RoundTripper) {
	s.reachStores(objectstore.Options{Transport: rt})
}

// SetRecheckWriter makes s ask for File re-checks through w, which Setup sets to the
// manager's client, so a test can count the patches.
func SetRecheckWriter(s *Server, w client.Writer) { s.rechecks.files = w }

// RecheckSpacing is the least time between two re-check requests for one File.
const RecheckSpacing = recheckSpacing
