package guard

import (
	"bytes"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// deadlineRecorder is a ResponseWriter that remembers the write deadlines it was given,
// which is how http.ResponseController reaches a connection.
type deadlineRecorder struct {
	*httptest.ResponseRecorder
	deadlines []time.Time
}

func (d *deadlineRecorder) SetWriteDeadline(t time.Time) error {
	d.deadlines = append(d.deadlines, t)
	return nil
}

// TestWriterMovesTheDeadlineOncePerChunk: an answer is bounded from its start, each
// further chunk of rate×window bytes gets a window of its own, and an answer that fits
// in one chunk right away moves the deadline only once.
func TestWriterMovesTheDeadlineOncePerChunk(t *testing.T) {
	const rate, window = 1024, 16 * time.Second // chunks of 16 KiB
	for _, tc := range []struct {
		name  string
		size  int
		write func(w *Writer, body []byte) error
		want  int
	}{
		{"small body, Write", 1000, func(w *Writer, b []byte) error { _, err := w.Write(b); return err }, 1},
		{"small body, ReadFrom", 1000, func(w *Writer, b []byte) error { _, err := w.ReadFrom(bytes.NewReader(b)); return err }, 1},
		{"three chunks, Write", 40 << 10, func(w *Writer, b []byte) error { _, err := w.Write(b); return err }, 3},
		{"three chunks, ReadFrom", 40 << 10, func(w *Writer, b []byte) error {
			_, err := w.ReadFrom(&io.LimitedReader{R: bytes.NewReader(b), N: int64(len(b))})
			return err
		}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
			w := NewWriter(rec, rate, window)
			body := []byte(strings.Repeat("x", tc.size))
			if err := tc.write(w, body); err != nil {
				t.Fatal(err)
			}
			if rec.Body.Len() != tc.size {
				t.Fatalf("wrote %d bytes, want %d", rec.Body.Len(), tc.size)
			}
			if len(rec.deadlines) != tc.want {
				t.Fatalf("%d deadlines set, want %d", len(rec.deadlines), tc.want)
			}
			for i, d := range rec.deadlines {
				if left := time.Until(d); left < window-time.Second || left > window {
					t.Errorf("deadline %d is %s away, want about %s", i, left, window)
				}
			}
		})
	}
}

// TestWriterMovesAStaleDeadline: when the answer starts well after the writer was
// made (a slow source read), its first chunk still gets a whole window.
func TestWriterMovesAStaleDeadline(t *testing.T) {
	rec := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
	w := NewWriter(rec, 1024, 16*time.Second)
	w.pace.movedAt = w.pace.movedAt.Add(-time.Second) // as if made a second ago
	if _, err := w.Write([]byte("body")); err != nil {
		t.Fatal(err)
	}
	if len(rec.deadlines) != 2 {
		t.Fatalf("%d deadlines set, want 2: the one from the start and one for the late first chunk", len(rec.deadlines))
	}
}

// TestWriterStreamsOtherSourcesInChunks: a source that is not a file (an object
// store's body) is copied in chunks of rate×window, each under a deadline of its own,
// exactly and whole.
func TestWriterStreamsOtherSourcesInChunks(t *testing.T) {
	rec := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
	w := NewWriter(rec, 1024, 16*time.Second)               // chunks of 16 KiB
	body := bytes.Repeat([]byte("0123456789abcdef"), 3<<10) // 48 KiB
	n, err := w.ReadFrom(&io.LimitedReader{R: iotest.OneByteReader(bytes.NewReader(body)), N: int64(len(body))})
	if err != nil || n != int64(len(body)) {
		t.Fatalf("ReadFrom = %d, %v; want %d, nil", n, err, len(body))
	}
	if !bytes.Equal(rec.Body.Bytes(), body) {
		t.Fatal("the copy differs from the source")
	}
	if len(rec.deadlines) < 3 {
		t.Fatalf("%d deadlines for three chunks", len(rec.deadlines))
	}
}
