package v1alpha1

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestExpiryPolicy(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(d)); return &t }
	cases := []struct {
		name        string
		expiresAt   *metav1.Time
		expired     bool
		wantExpired bool
		wantAfter   time.Duration
		wantPending bool
	}{
		{"no expiry", nil, false, false, 0, false},
		{"expiry ahead", at(90 * time.Second), false, false, 90 * time.Second, true},
		{"one nanosecond ahead", at(time.Nanosecond), false, false, time.Nanosecond, true},
		{"exactly now", at(0), false, true, 0, false},
		{"in the past", at(-time.Hour), false, true, 0, false},
		{"marked expired, expiry since removed", nil, true, true, 0, false},
		{"marked expired, expiry moved ahead", at(time.Hour), true, true, 0, false},
	}
	for _, c := range cases {
		l := &FileLink{Spec: FileLinkSpec{ExpiresAt: c.expiresAt}, Status: FileLinkStatus{Expired: c.expired}}
		if got := l.ExpiredAt(now); got != c.wantExpired {
			t.Errorf("%s: ExpiredAt = %v, want %v", c.name, got, c.wantExpired)
		}
		after, pending := l.UntilExpiry(now)
		if after != c.wantAfter || pending != c.wantPending {
			t.Errorf("%s: UntilExpiry = %v, %v; want %v, %v", c.name, after, pending, c.wantAfter, c.wantPending)
		}
	}
}

func TestLinkablePurposes(t *testing.T) {
	if len(LinkablePurposes) != 13 {
		t.Fatalf("%d linkable purposes, Stripe lists 13", len(LinkablePurposes))
	}
	for _, p := range []Purpose{PurposeBusinessLogo, PurposeDisputeEvidence, PurposeTerminalReaderSplashscreen} {
		if !p.Linkable() {
			t.Errorf("%s should be linkable", p)
		}
	}
	for _, p := range []Purpose{PurposeIdentityDocument, PurposeTerminalWifiPrivateKey, PurposeAccountRequirement, "nonsense"} {
		if p.Linkable() {
			t.Errorf("%s should not be linkable", p)
		}
	}
}
