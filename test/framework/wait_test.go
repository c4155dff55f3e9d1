package framework

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestWaitForStatusWaitsForTheCode(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) < 3 {
			http.Error(w, "not yet", http.StatusOK)
			return
		}
		http.Error(w, "expired", http.StatusGone)
	}))
	defer srv.Close()

	body, err := WaitForStatus(t.Context(), srv.URL, http.StatusGone, 5*time.Second)
	if err != nil || string(body) != "expired\n" || calls.Load() != 3 {
		t.Fatalf("body %q, err %v after %d requests", body, err, calls.Load())
	}
	if _, err := WaitForStatus(t.Context(), srv.URL, http.StatusNotFound, 100*time.Millisecond); err == nil {
		t.Fatal("waiting for a code the server never answers succeeded")
	}
}

func TestPollStopsWhenTheProcessDied(t *testing.T) {
	died := errors.New("manager exited")
	err := Poll(t.Context(), time.Millisecond, func() error { return died },
		func(context.Context) (bool, error) { return false, nil })
	if !errors.Is(err, died) {
		t.Fatalf("Poll returned %v, want the liveness error", err)
	}
}
