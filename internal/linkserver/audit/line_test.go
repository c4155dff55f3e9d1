package audit

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/filelink-dev/filelink-operator/internal/linkserver/answer"
)

var sample = answer.Answer{
	Start:    time.Date(2026, 12, 3, 13, 4, 5, 123456789, time.UTC),
	Duration: 1500 * time.Microsecond,
	Link:     answer.Link{Namespace: "billing", Name: "invoice-share", UID: "8d2f", ID: "link_1Nx", File: "invoice"},
	Method:   "GET", Code: 206, Written: 1024, Range: "bytes=0-1023",
	Client:    netip.MustParseAddr("198.51.100.7"),
	UserAgent: "curl/8.5.0",
	Counted:   true,
}

func decode(t *testing.T, line []byte) map[string]any {
	t.Helper()
	if len(line) == 0 || line[len(line)-1] != '\n' || strings.Count(string(line), "\n") != 1 {
		t.Fatalf("not one line: %q", line)
	}
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("not JSON: %v\n%q", err, line)
	}
	return m
}

func TestAppendLineFields(t *testing.T) {
	got := decode(t, AppendLine(nil, "filelink-7d9f-abcde", &sample))
	want := map[string]any{
		"time": "2026-12-03T13:04:05.123456789Z", "replica": "filelink-7d9f-abcde",
		"namespace": "billing", "fileLink": "invoice-share", "id": "link_1Nx", "file": "invoice",
		"method": "GET", "code": 206.0, "bytes": 1024.0, "range": "bytes=0-1023",
		"durationSeconds": 0.0015, "client": "198.51.100.7", "userAgent": "curl/8.5.0",
	}
	if len(got) != len(want) {
		t.Errorf("fields %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
}

// A request for an unknown token, or one net/http refused before reading its request
// line, is logged without what it did not name.
func TestAppendLineLeavesOutWhatIsUnknown(t *testing.T) {
	a := answer.Answer{Start: sample.Start, Code: 400, Client: sample.Client}
	got := decode(t, AppendLine(nil, "r", &a))
	for _, k := range []string{"namespace", "fileLink", "id", "file", "method", "range", "userAgent"} {
		if _, ok := got[k]; ok {
			t.Errorf("line has %s: %v", k, got)
		}
	}
	if got["code"] != 400.0 || got["client"] != "198.51.100.7" {
		t.Errorf("line %v", got)
	}
}

// What a client sends (user agent, range) can hold any byte net/http admits: the line
// still parses, stays one line, and reads back as sent where it was UTF-8.
func TestAppendLineEscapes(t *testing.T) {
	for _, ua := range []string{
		`quote " backslash \ slash /`,
		"tab\tbell\x07del\x7f",
		"newline\nin a value\r",
		"latin-1 \xe9t\xe9",
		"ok é € 😀",
		"line\u2028separator\u2029",
		`{"injected":true}`,
	} {
		a := sample
		a.UserAgent = ua
		line := AppendLine(nil, "r", &a)
		got := decode(t, line)["userAgent"].(string)
		want := strings.ToValidUTF8(ua, "\ufffd")
		if got != want {
			t.Errorf("user agent %q read back as %q", ua, got)
		}
		if !utf8.Valid(line) {
			t.Errorf("line not UTF-8: %q", line)
		}
	}
}

// BenchmarkAppendLine is the cost of one audit line, against the same line through
// encoding/json (BenchmarkMarshalLine), the obvious alternative.
func BenchmarkAppendLine(b *testing.B) {
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendLine(buf[:0], "filelink-7d9f-abcde", &sample)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkMarshalLine(b *testing.B) {
	type line struct {
		Time      time.Time  `json:"time"`
		Replica   string     `json:"replica"`
		Namespace string     `json:"namespace,omitempty"`
		FileLink  string     `json:"fileLink,omitempty"`
		ID        string     `json:"id,omitempty"`
		File      string     `json:"file,omitempty"`
		Method    string     `json:"method,omitempty"`
		Code      int        `json:"code"`
		Bytes     int64      `json:"bytes"`
		Range     string     `json:"range,omitempty"`
		Duration  float64    `json:"durationSeconds"`
		Client    netip.Addr `json:"client"`
		UserAgent string     `json:"userAgent,omitempty"`
	}
	a := &sample
	b.ReportAllocs()
	var n int
	for b.Loop() {
		out, err := json.Marshal(line{a.Start, "filelink-7d9f-abcde", a.Link.Namespace, a.Link.Name, a.Link.ID, a.Link.File,
			a.Method, a.Code, a.Written, a.Range, a.Duration.Seconds(), a.Client, a.UserAgent})
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.SetBytes(int64(n))
}
