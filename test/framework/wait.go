package framework

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Sleep waits for d or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Poll calls cond every interval until it reports done, returns an error, or ctx ends.
// alive, when set, is asked between calls, so that a wait for a process that has died
// fails at once instead of at its deadline.
func Poll(ctx context.Context, interval time.Duration, alive func() error, cond func(context.Context) (bool, error)) error {
	for {
		done, err := cond(ctx)
		if done || err != nil {
			return err
		}
		if alive != nil {
			if err := alive(); err != nil {
				return err
			}
		}
		if err := Sleep(ctx, interval); err != nil {
			return err
		}
	}
}

// WaitListening waits until something accepts connections on addr.
func WaitListening(ctx context.Context, addr string, alive func() error) error {
	d := net.Dialer{Timeout: time.Second}
	err := Poll(ctx, 5*time.Millisecond, alive, func(ctx context.Context) (bool, error) {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return false, nil
		}
		return true, c.Close()
	})
	if err != nil {
		return fmt.Errorf("nothing listening on %s: %w", addr, err)
	}
	return nil
}

// FreeAddrs asks the kernel for n unused loopback addresses (host:port). Another
// process could take one before it is used; on a test machine that does not happen in
// practice.
func FreeAddrs(n int) ([]string, error) {
	var out []string
	var lc net.ListenConfig
	for range n {
		// Each listener stays open until all are chosen, so no port comes twice. Binding
		// a loopback port does not block: there is nothing for a context to cancel.
		l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		out = append(out, l.Addr().String())
	}
	return out, nil
}

// FreeAddr is one unused loopback address, as FreeAddrs(1).
func FreeAddr() (string, error) {
	addrs, err := FreeAddrs(1)
	if err != nil {
		return "", err
	}
	return addrs[0], nil
}

// Answer is an HTTP response as Get and Do return it: its body read in full and
// closed, so that a caller holds no connection.
type Answer struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	// URL is the URL that answered, after any redirects.
	URL *url.URL
}

// Get fetches url and returns its answer.
func Get(ctx context.Context, url string) (Answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Answer{}, err
	}
	return Do(http.DefaultClient, req)
}

// Do sends req with c, for requests that carry headers or must not follow redirects, and
// returns its answer.
func Do(c *http.Client, req *http.Request) (Answer, error) {
	resp, err := c.Do(req)
	if err != nil {
		return Answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return Answer{StatusCode: resp.StatusCode, Header: resp.Header, Body: body, URL: resp.Request.URL}, err
}

// WaitForStatus requests url until it answers code, for at most timeout, and returns
// that answer's body.
func WaitForStatus(ctx context.Context, url string, code int, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last int
	var body []byte
	err := Poll(ctx, 20*time.Millisecond, nil, func(ctx context.Context) (bool, error) {
		a, err := Get(ctx, url)
		if err != nil {
			return false, nil
		}
		last, body = a.StatusCode, a.Body
		return last == code, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s answered %d, not %d, for %s", url, last, code, timeout)
	}
	return body, nil
}
