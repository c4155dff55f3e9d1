package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is one load run against one URL.
type loadResult struct {
	requests  int
	failures  int
	firstErr  error
	elapsed   time.Duration
	latencies []time.Duration // sorted
}

func (r loadResult) rps() float64 { return rate(r.requests-r.failures, r.elapsed) }

// runLoad sends requests GETs for target over conns keep-alive connections, one
// goroutine each, and checks that every answer is 200 with exactly want as its body.
//
// It speaks HTTP/1.1 over raw connections instead of using net/http's client: on two
// cores the load generator shares the CPUs with the server it measures, and a client
// that costs less leaves more of them to the server, as wrk or ab would.
func runLoad(ctx context.Context, target string, conns, requests int, want []byte) (loadResult, error) {
	u, err := url.Parse(target)
	if err != nil {
		return loadResult{}, err
	}
	if host, _, _ := net.SplitHostPort(u.Host); host != "127.0.0.1" {
		return loadResult{}, fmt.Errorf("load target %s is not on 127.0.0.1", u.Host)
	}
	req := fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: filelink-bench\r\n\r\n", u.RequestURI(), u.Host)

	var next atomic.Int64
	var mu sync.Mutex
	res := loadResult{requests: requests}
	var wg sync.WaitGroup
	start := time.Now()
	for range min(conns, requests) {
		wg.Go(func() {
			c := &loadConn{addr: u.Host, req: req, want: want}
			defer c.close()
			lat := make([]time.Duration, 0, requests/conns+1)
			failures := 0
			var firstErr error
			for next.Add(1) <= int64(requests) && ctx.Err() == nil {
				t := time.Now()
				if err := c.do(ctx); err != nil {
					failures++
					if firstErr == nil {
						firstErr = err
					}
					c.close()
					continue
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			res.failures += failures
			if res.firstErr == nil {
				res.firstErr = firstErr
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(res.latencies)
	return res, ctx.Err()
}

// loadConn is one keep-alive connection, reopened when the server closes it.
type loadConn struct {
	addr string
	req  []byte
	want []byte

	conn     net.Conn
	r        *bufio.Reader
	body     []byte
	verified bool
}

func (c *loadConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// do sends one request and reads the whole answer. The body is compared in full once
// per connection and by length afterwards: comparing 64 KiB every time would cost the
// generator as much as the server spends sending it.
func (c *loadConn) do(ctx context.Context) error {
	if c.conn == nil {
		d := net.Dialer{Timeout: 5 * time.Second}
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return err
		}
		c.conn, c.verified = conn, false
		if c.r == nil {
			c.r = bufio.NewReaderSize(conn, 64<<10)
		} else {
			c.r.Reset(conn)
		}
	}
	_ = c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Write(c.req); err != nil {
		return err
	}
	code, length, closing, err := c.readHead()
	if err != nil {
		return err
	}
	if length < 0 {
		return errors.New("answer without Content-Length")
	}
	if cap(c.body) < length {
		c.body = make([]byte, length)
	}
	c.body = c.body[:length]
	if _, err := io.ReadFull(c.r, c.body); err != nil {
		return err
	}
	if closing {
		c.close()
	}
	switch {
	case code != 200:
		return fmt.Errorf("status %d", code)
	case length != len(c.want):
		return fmt.Errorf("body of %d bytes, want %d", length, len(c.want))
	case !c.verified && !bytes.Equal(c.body, c.want):
		return errors.New("body differs from the file")
	}
	c.verified = true
	return nil
}

// readHead parses the status line and the two headers that matter here.
func (c *loadConn) readHead() (code, length int, closing bool, err error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, 0, false, fmt.Errorf("bad status line %q", line)
	}
	if code, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, 0, false, err
	}
	length = -1
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, 0, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			return code, length, closing, nil
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, 0, false, err
			}
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
}

// percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
