package linkserver

import (
	"io"
	"time"

	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/filelink-dev/filelink-operator/internal/cachetrim"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/clientip"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/guard"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/ledger"
	"github.com/filelink-dev/filelink-operator/internal/netguard"
	"github.com/filelink-dev/filelink-operator/internal/signing"
)

// Defaults of the options a zero value leaves unset.
const (
	// DefaultContentCacheBytes caps the memory the content cache may hold.
	DefaultContentCacheBytes = 64 << 20
	// DefaultMaxConnections bounds open connections, so a flood of idle or slow clients
	// costs a fixed amount of memory and descriptors.
	DefaultMaxConnections = guard.DefaultMaxConnections
	// DefaultMinTransferRate, in bytes per second, is slower than any usable mobile link.
	DefaultMinTransferRate = guard.DefaultMinTransferRate
	// DefaultSourceReadTimeout bounds the one API read a request may need (a body not
	// cached yet): while the API server is unreachable the answer is a quick 503.
	DefaultSourceReadTimeout = 3 * time.Second
)

// Options configure the link server.
type Options struct {
	// Addr is --link-bind-address.
	Addr string
	// Keys issue and verify tokens: the live key Secret (signing.LiveKey) in the
	// manager; the server follows every change of them.
	Keys signing.Keys
	// Clock decides expiry for each request; tests move a fake one.
	Clock clock.PassiveClock
	// ContentCacheBytes caps the cached file bodies; 0 means DefaultContentCacheBytes.
	// Larger bodies are served too, each read from its source per request.
	ContentCacheBytes int64
	// SourceReadTimeout bounds an API read of a body; 0 means DefaultSourceReadTimeout.
	SourceReadTimeout time.Duration
	Limits            Limits
	// StoreNetworks judges every connection to a FileStore's endpoint (SPEC §12);
	// nil: the built-in denials alone.
	StoreNetworks *netguard.Policy
	// Status writes download counts into FileLinks' status (SPEC §13); Setup uses the
	// manager's client.
	Status client.StatusClient
	// Uncounted is --download-ledger=false: downloads of links without a limit are not
	// counted. Limited links always are.
	Uncounted bool
	// LedgerFlushInterval: 0 means ledger.DefaultFlushInterval.
	LedgerFlushInterval time.Duration
	// ledgerMetrics are Setup's, on the manager's registry; nil in tests' servers.
	ledgerMetrics *ledger.Metrics
	// AuditLog receives one JSON line per answered request (SPEC §13, --audit-log);
	// nil writes none. Lines are flushed at least every second and when Start returns.
	AuditLog io.Writer
	// Replica names this replica in audit lines: the pod's name.
	Replica string
	// TrustedProxies are the networks whose X-Forwarded-For is believed
	// (--trusted-proxies); none by default, and the client is the TCP peer.
	TrustedProxies clientip.Proxies
}

// tickerOf is c when it can also tick (a test's fake clock, which then moves the
// ledger's flushes too), else the real clock.
func tickerOf(c clock.PassiveClock) clock.WithTicker {
	if t, ok := c.(clock.WithTicker); ok {
		return t
	}
	return clock.RealClock{}
}

// Limits harden the server as a public endpoint. Zero fields take the defaults.
type Limits = guard.Limits

// CacheTransform is the transform the manager's cache must apply to every object
// (cache.Options.DefaultTransform): it keeps of Files, FileLinks and FileStores what the
// server and the reconcilers read (cachetrim.Object). Last-Modified comes from the
// sources' metadata, whose own transform (filesource.CacheByObject) keeps the timestamp.
func CacheTransform() toolscache.TransformFunc { return cachetrim.Object }
