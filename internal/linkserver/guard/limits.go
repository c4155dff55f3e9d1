package guard

import "time"

// Defaults of the limits a zero value leaves unset.
const (
	// DefaultMaxConnections bounds open connections, so a flood of idle or slow clients
	// costs a fixed amount of memory and descriptors.
	DefaultMaxConnections = 1024
	// DefaultMinTransferRate, in bytes per second, is slower than any usable mobile link.
	DefaultMinTransferRate = 4 << 10
)

// Limits harden the server as a public endpoint. Zero fields take the defaults.
type Limits struct {
	// MaxConnections caps connections open at once (--link-max-connections).
	MaxConnections int
	// ReadHeaderTimeout cuts a client that trickles its request headers; default 10 s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a kept-alive connection with no request; default 60 s.
	IdleTimeout time.Duration
	// MinTransferRate, in bytes per second, averaged over TransferWindow (default 16 s),
	// is the slowest a client may take an answer (--link-min-transfer-rate).
	MinTransferRate int64
	TransferWindow  time.Duration
}

// WithDefaults fills the zero fields.
func (l Limits) WithDefaults() Limits {
	if l.MaxConnections == 0 {
		l.MaxConnections = DefaultMaxConnections
	}
	if l.ReadHeaderTimeout == 0 {
		l.ReadHeaderTimeout = 10 * time.Second
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = 60 * time.Second
	}
	if l.MinTransferRate == 0 {
		l.MinTransferRate = DefaultMinTransferRate
	}
	if l.TransferWindow == 0 {
		l.TransferWindow = 16 * time.Second
	}
	return l
}
