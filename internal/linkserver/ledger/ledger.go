// Package ledger keeps the count of each FileLink's downloads in its status (SPEC §13):
// status.downloads and status.lastDownloadedAt.
//
// Two ways, by whether the link has a limit:
//
//   - A link without spec.maxDownloads is counted in memory as it serves (Count), and
//     each replica adds its count to status by compare-and-swap at most once per link per
//     FlushInterval (Run). Serving never waits for that write: a partition from the API
//     server delays the count, nothing more, and a conflict with another replica's write
//     is read again and retried, so counts from every replica add up exactly.
//   - A link with spec.maxDownloads has each download reserved before its first byte
//     (Reserve): downloads+1 by compare-and-swap on the status the reservation read. Only
//     a won reservation is served, so all replicas together never serve more than the
//     limit, and a replica that cannot reach the API server serves nothing counted.
//
// Every write is a merge patch of status carrying the resourceVersion it was computed
// from, so it lands on exactly that version or not at all.
package ledger

import (
	"errors"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Defaults of the Config fields a zero value leaves unset.
const (
	// DefaultFlushInterval is SPEC §13's bound: at most one write per link per 10 s per
	// replica for links without a limit.
	DefaultFlushInterval = 10 * time.Second
	// DefaultReserveTimeout bounds a reservation, conflicts and retries included: past
	// it the download is refused with 503 and Retry-After, not left hanging while the
	// API server does not answer.
	DefaultReserveTimeout = 3 * time.Second
)

var (
	// ErrLimitReached is the refusal of a link that has served every download its limit allows.
	ErrLimitReached = errors.New("download limit reached")
	// ErrGone is the refusal of a link that was deleted, or replaced by another of the same name.
	ErrGone = errors.New("link gone")
	// ErrUnavailable means no reservation could be made in time (the API server unreachable,
	// or too many replicas racing for the same link); the download may be retried.
	ErrUnavailable = errors.New("download could not be reserved")
)

// Config is what a Ledger reads and writes with.
type Config struct {
	// Cache is the informer cache: the status a write starts from, most often current.
	Cache client.Reader
	// API reads the link from the API server after a write lost a race.
	API client.Reader
	// Status writes the counts.
	Status client.StatusClient
	// Clock times lastDownloadedAt and the flushes.
	Clock clock.WithTicker
	// FlushInterval: 0 means DefaultFlushInterval.
	FlushInterval time.Duration
	// ReserveTimeout: 0 means DefaultReserveTimeout.
	ReserveTimeout time.Duration
	// Uncounted is --download-ledger=false: links without a limit are not counted at
	// all. Limited links are always counted, as their limit needs.
	Uncounted bool
	Log       logr.Logger
}

// Ledger counts downloads into FileLink status. Its methods are safe for concurrent use.
type Ledger struct {
	cfg     Config
	tally   tally
	locks   stripedLock
	recent  recentWrites
	metrics *Metrics
}

// New returns a ledger writing through cfg and counting into m (nil: no metrics).
func New(cfg Config, m *Metrics) *Ledger {
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.ReserveTimeout == 0 {
		cfg.ReserveTimeout = DefaultReserveTimeout
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	l := &Ledger{cfg: cfg, metrics: m}
	l.tally.pending = map[key]*pending{}
	l.locks.init()
	l.recent.init()
	return l
}
