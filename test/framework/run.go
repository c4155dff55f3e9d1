package framework

import (
	"context"
	"testing"
)

// RunUntilCleanup runs start (a manager.Runnable's Start) in the background until the
// test ends, then cancels its context and fails the test if it returned an error.
func RunUntilCleanup(ctx context.Context, cancel context.CancelFunc, t testing.TB, start func(context.Context) error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}
