package linkserver

import "net/http"

// SetStoreTransport makes s reach object stores through rt, so a test can count the
// requests a download makes to S3.
func SetStoreTransport(s *Server, rt http.RoundTripper) { s.storeOptions.Transport = rt }
