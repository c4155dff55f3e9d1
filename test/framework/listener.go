package framework

import (
	"net"
	"strconv"
	"sync/atomic"
	"testing"
)

// CountingListener listens on a loopback port, counts the connections made to it and
// closes each at once; it stops when the test ends. Tests that must prove a dialer
// never connected to an address point it here and expect accepted to stay 0.
func CountingListener(t testing.TB) (port string, accepted *atomic.Int64) {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	accepted = &atomic.Int64{}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			_ = c.Close()
		}
	}()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), accepted
}
