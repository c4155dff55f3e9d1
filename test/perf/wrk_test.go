package main

import (
	"testing"
	"time"
)

// A report of Debian's wrk 4.1.0 with --latency, from a server answering 404.
const wrkReport = `Running 1s test @ http://127.0.0.1:18088/nonexistent
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     8.62ms    6.94ms  53.17ms   90.00%
    Req/Sec   367.25    184.79   757.00     65.00%
  Latency Distribution
     50%    6.79ms
     75%   10.23ms
     90%   15.18ms
     99%   42.00ms
  733 requests in 1.00s, 372.59KB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 733
Requests/sec:    730.09
Transfer/sec:    371.11KB
`

func TestParseWrk(t *testing.T) {
	res, err := parseWrk(wrkReport)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkResult{requests: 733, elapsed: time.Second, errors: 736, p50: 6790 * time.Microsecond, p99: 42 * time.Millisecond}
	if res != want {
		t.Fatalf("parseWrk = %+v, want %+v", res, want)
	}
	if res.rps() != 0 {
		t.Errorf("rps() = %v for a run where every answer failed, want 0", res.rps())
	}
}

func TestParseWrkRefusesATruncatedReport(t *testing.T) {
	if _, err := parseWrk("Running 1s test @ http://127.0.0.1:1/\n"); err == nil {
		t.Fatal("parseWrk accepted a report without totals")
	}
}
