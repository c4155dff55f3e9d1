package linkserver

import (
	"net/http"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/filelink-dev/filelink-operator/internal/linkserver/delivery"
)

// SetStoreTransport makes s reach object stores through rt, so a test can count the
// requests a download makes to S3.
func SetStoreTransport(s *Server, rt http.RoundTripper) { s.store.SetTransport(rt) }

// SetRecheckWriter makes s ask for File re-checks through w, which Setup sets to the
// manager's client, so a test can count the patches.
func SetRecheckWriter(s *Server, w client.Writer) { s.store.SetRecheckWriter(w) }

// RecheckSpacing is the least time between two re-check requests for one File.
const RecheckSpacing = delivery.RecheckSpacing
