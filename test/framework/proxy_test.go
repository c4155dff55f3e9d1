package framework

import (
	"bufio"
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// echo serves one line back per connection on a free port.
func echo(t *testing.T) string {
	t.Helper()
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				_, _ = c.Write([]byte(line))
			}()
		}
	}()
	return l.Addr().String()
}

func roundTrip(ctx context.Context, addr string) (string, error) {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func TestProxyForwardsCutsAndRestores(t *testing.T) {
	free, err := FreeAddrs(1) // nothing listens there: the proxy must skip it
	if err != nil {
		t.Fatal(err)
	}
	p, err := StartProxy("127.0.0.1:0", free[0], echo(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got, err := roundTrip(t.Context(), p.Addr()); err != nil || got != "ping\n" {
		t.Fatalf("through the proxy: %q, %v", got, err)
	}
	var d net.Dialer
	held, err := d.DialContext(t.Context(), "tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	time.Sleep(50 * time.Millisecond) // let the proxy register the held connection
	p.Cut()
	if got, err := roundTrip(t.Context(), p.Addr()); err == nil {
		t.Fatalf("cut proxy answered %q", got)
	}
	_ = held.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := held.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("open connection survived the cut: %d bytes, %v", n, err)
	}
	p.Restore()
	if got, err := roundTrip(t.Context(), p.Addr()); err != nil || got != "ping\n" {
		t.Fatalf("after restore: %q, %v", got, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
