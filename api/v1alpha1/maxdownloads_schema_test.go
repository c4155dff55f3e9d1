package v1alpha1_test

import (
	"context"
	"testing"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

func TestMaxDownloadsRange(t *testing.T) {
	runInvalid(t, validLink, []invalidCase[*filelinkv1.FileLink]{
		{"zero", func(l *filelinkv1.FileLink) { l.Spec.MaxDownloads = ptr.To[int32](0) }, []string{"spec.maxDownloads", "greater than or equal to 1"}},
		{"negative", func(l *filelinkv1.FileLink) { l.Spec.MaxDownloads = ptr.To[int32](-1) }, []string{"spec.maxDownloads"}},
		{"over a million", func(l *filelinkv1.FileLink) { l.Spec.MaxDownloads = ptr.To[int32](1_000_001) }, []string{"spec.maxDownloads", "less than or equal to 1000000"}},
	})
	for name, n := range map[string]int32{"one-time": 1, "a-million": 1_000_000} {
		l := validLink("max-" + name)
		l.Spec.MaxDownloads = new(n)
		if err := k8s.Create(context.Background(), l); err != nil {
			t.Errorf("maxDownloads %d refused: %v", n, err)
		}
	}
}

// linkWithDownloads creates a link limited to limit with downloads already counted, as
// the link server's reservations leave it.
func linkWithDownloads(t *testing.T, name string, limit *int32, downloads int64) *filelinkv1.FileLink {
	t.Helper()
	ctx := context.Background()
	l := validLink(name)
	l.Spec.MaxDownloads = limit
	if err := k8s.Create(ctx, l); err != nil {
		t.Fatal(err)
	}
	base := l.DeepCopy()
	l.Status.Downloads = downloads
	if err := k8s.Status().Patch(ctx, l, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	return l
}

// The limit of a link that has reached it is its end state: raising or removing it
// would hand out downloads the sender meant to be the last. Every other change is free.
func TestMaxDownloadsOnceReached(t *testing.T) {
	ctx := context.Background()
	refused := map[string]func(*filelinkv1.FileLink){
		"raised":  func(l *filelinkv1.FileLink) { l.Spec.MaxDownloads = ptr.To[int32](4) },
		"removed": func(l *filelinkv1.FileLink) { l.Spec.MaxDownloads = nil },
	}
	for name, change := range refused {
		t.Run(name, func(t *testing.T) {
			l := linkWithDownloads(t, "reached-"+name, ptr.To[int32](3), 3)
			change(l)
			framework.WantInvalid(t, k8s.Update(ctx, l), "maxDownloads has been reached")
		})
	}
	allowed := map[string]struct {
		// object is the link's name.
		object    string
		limit     *int32
		downloads int64
		change    func(*filelinkv1.FileLink)
	}{
		"reached, lowered":            {"reached-lowered", ptr.To[int32](3), 3, func(l *filelinkv1.FileLink) { l.Spec.MaxDownloads = ptr.To[int32](1) }},
		"reached, metadata changed":   {"reached-metadata", ptr.To[int32](3), 3, func(l *filelinkv1.FileLink) { l.Spec.Metadata = map[string]string{"k": "v"} }},
		"not reached, raised":         {"open-raised", ptr.To[int32](3), 2, func(l *filelinkv1.FileLink) { l.Spec.MaxDownloads = ptr.To[int32](10) }},
		"not reached, removed":        {"open-removed", ptr.To[int32](3), 2, func(l *filelinkv1.FileLink) { l.Spec.MaxDownloads = nil }},
		"not reached, lowered past":   {"open-lowered-past", ptr.To[int32](3), 2, func(l *filelinkv1.FileLink) { l.Spec.MaxDownloads = ptr.To[int32](1) }},
		"unlimited, limited below it": {"unlimited-limited", nil, 7, func(l *filelinkv1.FileLink) { l.Spec.MaxDownloads = ptr.To[int32](2) }},
	}
	for name, c := range allowed {
		t.Run(name, func(t *testing.T) {
			l := linkWithDownloads(t, c.object, c.limit, c.downloads)
			c.change(l)
			if err := k8s.Update(ctx, l); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
}

// The link server's reservations are status writes, which the rule must never refuse,
// even the one that reaches the limit.
func TestReservationsPassTheLimitRule(t *testing.T) {
	ctx := context.Background()
	l := linkWithDownloads(t, "reserving", ptr.To[int32](2), 1)
	base := l.DeepCopy()
	l.Status.Downloads = 2
	if err := k8s.Status().Patch(ctx, l, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		t.Fatalf("the reservation of the last download refused: %v", err)
	}
}
