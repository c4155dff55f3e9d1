package delivery

import (
	"strconv"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
)

// TestRecheckClaimSpacesRequestsPerFile covers what the envtest cases cannot reach in
// reasonable time: the spacing's edges, a clock that goes back, and the bound on the
// Files remembered.
func TestRecheckClaimSpacesRequestsPerFile(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	r := newRecheckRequester(clocktesting.NewFakeClock(t0), ctrl.Log)
	for _, step := range []struct {
		uid  types.UID
		at   time.Time
		want bool
	}{
		{"a", t0, true},
		{"a", t0, false},
		{"b", t0, true},
		{"a", t0.Add(RecheckSpacing - time.Nanosecond), false},
		{"a", t0.Add(RecheckSpacing), true},
		// A clock set back must not silence a File until it catches up again.
		{"a", t0.Add(-time.Hour), true},
	} {
		if got := r.claim(step.uid, step.at); got != step.want {
			t.Fatalf("claim(%s) at %s = %v, want %v", step.uid, step.at.Sub(t0), got, step.want)
		}
	}

	r = newRecheckRequester(clocktesting.NewFakeClock(t0), ctrl.Log)
	for i := range maxRecheckFiles {
		if !r.claim(types.UID(strconv.Itoa(i)), t0) {
			t.Fatalf("claim %d refused below the bound", i)
		}
	}
	if r.claim("one too many", t0) {
		t.Fatal("a File beyond the bound was remembered while every other one is within the spacing")
	}
	if !r.claim("one too many", t0.Add(RecheckSpacing)) {
		t.Fatal("Files past the spacing were not forgotten to make room")
	}
	if len(r.asked) != 1 {
		t.Fatalf("%d Files remembered after the others' spacing passed, want 1", len(r.asked))
	}
}
