package controllers_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/filelink-dev/filelink-operator/internal/signing"
)

// readCounter counts the manager's GETs of single Secrets, by URL path: the reads of a
// source's data, which the manager's cache never makes (it watches metadata only).
type readCounter struct {
	mu    sync.Mutex
	paths map[string]int
}

var secretGETs = &readCounter{paths: map[string]int{}}

func (c *readCounter) count(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/secrets/") {
			c.mu.Lock()
			c.paths[req.URL.Path]++
			c.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

func (c *readCounter) of(ns, name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paths["/api/v1/namespaces/"+ns+"/secrets/"+name]
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestTheLinkServerKeepsTheReconcilersRead: the File reconciler hands the body it read
// to the link server of its process, so a File turning Ready costs one read of its
// Secret, not a second one to fetch the body ahead (or on the first download). The
// 10,000-pair benchmark made 1.53 reads per File before.
func TestTheLinkServerKeepsTheReconcilersRead(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	readyFileAndSecret(t, ns)
	l := link(ns, "share", "evidence", nil)
	create(t, l)
	eventuallyLink(t, l, beActive)
	url := urlUnder(g, keySecret(g).Data[signing.ActiveKeyEntry], l)
	code, body := download(g, url)
	g.Expect(code).To(Equal(http.StatusOK))
	g.Expect(body).To(Equal(string(pdf)))
	g.Expect(secretGETs.of(ns, "docs")).To(Equal(1), "GETs of the Secret docs")
}
