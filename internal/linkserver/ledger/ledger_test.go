package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/linkserver/ledger"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

var (
	cfg *rest.Config
	k8s client.WithWatch
)

func TestMain(m *testing.M) {
	os.Exit(framework.RunWithControlPlane(m, func(c *rest.Config, cl client.WithWatch) error {
		cfg, k8s = c, cl
		return nil
	}))
}

// namespaces are the tests' own, one each, so that -count=N runs them again cleanly.
var namespaces sync.Map // testing.TB → string

func namespaceOf(t testing.TB) string {
	if ns, ok := namespaces.Load(t); ok {
		return ns.(string)
	}
	ns := framework.NewNamespace(t, k8s, "ledger-")
	namespaces.Store(t, ns)
	return ns
}

// newLink creates a link limited to limit (nil: unlimited) and returns it as created: the
// oldest version there is, which is what a replica whose cache lags decides on.
func newLink(t *testing.T, name string, limit *int32) *filelinkv1.FileLink {
	t.Helper()
	l := &filelinkv1.FileLink{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespaceOf(t), Name: name},
		Spec:       filelinkv1.FileLinkSpec{File: "evidence", MaxDownloads: limit},
	}
	if err := k8s.Create(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	return l
}

func stored(t *testing.T, l *filelinkv1.FileLink) *filelinkv1.FileLink {
	t.Helper()
	got := &filelinkv1.FileLink{}
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(l), got); err != nil {
		t.Fatal(err)
	}
	return got
}

// replica is one manager replica's ledger: its own client, reading the API server as
// its cache (tests pass stale versions explicitly where that matters).
func replica(t *testing.T, c client.Client, clk *clocktesting.FakeClock, uncounted bool) *ledger.Ledger {
	t.Helper()
	return ledger.New(ledger.Config{Cache: c, API: c, Status: c, Clock: clk, Uncounted: uncounted,
		ReserveTimeout: time.Second}, nil)
}

// countingWrites is a client that counts the status patches going through it.
func countingWrites(t *testing.T, writes *atomic.Int64) client.Client {
	t.Helper()
	return interceptor.NewClient(k8s, interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, o ...client.SubResourcePatchOption) error {
			err := c.SubResource(sub).Patch(ctx, obj, p, o...)
			writes.Add(1) // once it is stored: a test waiting on the count then reads it
			return err
		},
	})
}

// 40 clients race for a link of three downloads across two replicas, both deciding on
// the link as created: exactly three reservations are won, every other is refused.
func TestReservationsAcrossReplicasNeverPassTheLimit(t *testing.T) {
	l := newLink(t, "three", ptr.To[int32](3))
	clk := clocktesting.NewFakeClock(time.Now())
	replicas := []*ledger.Ledger{replica(t, k8s, clk, false), replica(t, k8s, clk, false)}
	var won, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			switch err := replicas[i%2].Reserve(context.Background(), l); {
			case err == nil:
				won.Add(1)
			case errors.Is(err, ledger.ErrLimitReached):
				refused.Add(1)
			default:
				t.Errorf("reservation %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 3 || refused.Load() != 37 {
		t.Fatalf("%d reservations won and %d refused, want 3 and 37", won.Load(), refused.Load())
	}
	if got := stored(t, l); got.Status.Downloads != 3 || got.Status.LastDownloadedAt == nil {
		t.Fatalf("stored status %+v, want 3 downloads and a time", got.Status)
	}
}

// A replica's next reservation starts from its own last write, not from the informer's
// older copy: one write per download, no lost race.
func TestReservationsStartFromTheReplicasOwnWrites(t *testing.T) {
	l := newLink(t, "own-writes", ptr.To[int32](5))
	var writes atomic.Int64
	r := replica(t, countingWrites(t, &writes), clocktesting.NewFakeClock(time.Now()), false)
	for i := range 5 {
		if err := r.Reserve(context.Background(), l); err != nil {
			t.Fatalf("reservation %d: %v", i, err)
		}
	}
	if err := r.Reserve(context.Background(), l); !errors.Is(err, ledger.ErrLimitReached) {
		t.Fatalf("sixth reservation: %v, want the limit reached", err)
	}
	if writes.Load() != 5 {
		t.Fatalf("%d status writes for 5 reservations", writes.Load())
	}
}

func TestReservationOfAGoneLink(t *testing.T) {
	ctx := context.Background()
	l := newLink(t, "gone", ptr.To[int32](1))
	r := replica(t, k8s, clocktesting.NewFakeClock(time.Now()), false)
	if err := k8s.Delete(ctx, l); err != nil {
		t.Fatal(err)
	}
	if err := r.Reserve(ctx, l); !errors.Is(err, ledger.ErrGone) {
		t.Fatalf("deleted link: %v, want ErrGone", err)
	}
	// The same name again is another link: the old one's reservation must not land on it.
	newLink(t, "gone", ptr.To[int32](1))
	if err := r.Reserve(ctx, l); !errors.Is(err, ledger.ErrGone) {
		t.Fatalf("recreated link: %v, want ErrGone", err)
	}
}

// A replica that cannot reach the API server reserves nothing, quickly, and serves
// again once it can.
func TestReservationWhileTheAPIServerIsUnreachable(t *testing.T) {
	l := newLink(t, "partitioned", ptr.To[int32](2))
	c, p := framework.PartitionableClient(t, cfg, 500*time.Millisecond)
	r := ledger.New(ledger.Config{Cache: k8s, API: c, Status: c, Clock: clocktesting.NewFakeClock(time.Now()),
		ReserveTimeout: time.Second}, nil)
	p.Cut()
	start := time.Now()
	if err := r.Reserve(context.Background(), l); !errors.Is(err, ledger.ErrUnavailable) {
		t.Fatalf("reservation while cut off: %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the refusal took %v", took)
	}
	p.Restore()
	if err := r.Reserve(context.Background(), l); err != nil {
		t.Fatalf("reservation after the partition: %v", err)
	}
	if got := stored(t, l).Status.Downloads; got != 1 {
		t.Fatalf("%d downloads stored, want 1", got)
	}
}

// Two replicas count the same unlimited link and flush at the same moments, so their
// writes race: every lost race is read again and retried, and the sum is exact.
func TestCountsFromTwoReplicasAddUp(t *testing.T) {
	l := newLink(t, "busy", nil)
	clk := clocktesting.NewFakeClock(time.Now())
	replicas := []*ledger.Ledger{replica(t, k8s, clk, false), replica(t, k8s, clk, false)}
	const rounds, perRound = 5, 300
	for range rounds {
		var wg sync.WaitGroup
		for _, r := range replicas {
			wg.Go(func() {
				for range perRound {
					r.Count(l.Namespace, l.Name, l.UID, clk.Now())
				}
				r.Flush(context.Background())
			})
		}
		wg.Wait()
		clk.Step(time.Minute)
	}
	got := stored(t, l)
	if want := int64(rounds * perRound * len(replicas)); got.Status.Downloads != want {
		t.Fatalf("%d downloads stored, want %d", got.Status.Downloads, want)
	}
	if last := clk.Now().Add(-time.Minute).Truncate(time.Second); !got.Status.LastDownloadedAt.Time.Equal(last) {
		t.Errorf("lastDownloadedAt %v, want %v", got.Status.LastDownloadedAt.Time, last)
	}
}

// Counts reach status on the flush interval's tick, in one write per link, never before.
func TestCountsAreWrittenOncePerInterval(t *testing.T) {
	links := []*filelinkv1.FileLink{newLink(t, "ticked-a", nil), newLink(t, "ticked-b", nil)}
	var writes atomic.Int64
	clk := clocktesting.NewFakeClock(time.Now())
	r := replica(t, countingWrites(t, &writes), clk, false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for !clk.HasWaiters() {
		time.Sleep(time.Millisecond)
	}
	for _, l := range links {
		for range 100 {
			r.Count(l.Namespace, l.Name, l.UID, clk.Now())
		}
	}
	clk.Step(ledger.DefaultFlushInterval - time.Second)
	time.Sleep(200 * time.Millisecond)
	if writes.Load() != 0 {
		t.Fatalf("%d writes before the interval passed", writes.Load())
	}
	clk.Step(time.Second)
	waitFor(t, func() bool { return writes.Load() == 2 })
	for _, l := range links {
		if got := stored(t, l).Status.Downloads; got != 100 {
			t.Errorf("%s: %d downloads stored, want 100", l.Name, got)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if writes.Load() != 2 {
		t.Fatalf("%d writes for two links in one interval", writes.Load())
	}
}

// A partition delays counts; it loses none.
func TestAPartitionOnlyDelaysCounts(t *testing.T) {
	l := newLink(t, "delayed", nil)
	c, p := framework.PartitionableClient(t, cfg, 500*time.Millisecond)
	r := ledger.New(ledger.Config{Cache: k8s, API: c, Status: c, Clock: clocktesting.NewFakeClock(time.Now())}, nil)
	p.Cut()
	for range 7 {
		r.Count(l.Namespace, l.Name, l.UID, time.Now())
	}
	r.Flush(context.Background())
	r.Count(l.Namespace, l.Name, l.UID, time.Now())
	r.Flush(context.Background())
	if got := stored(t, l).Status.Downloads; got != 0 {
		t.Fatalf("%d downloads stored through a cut", got)
	}
	p.Restore()
	r.Flush(context.Background())
	if got := stored(t, l).Status.Downloads; got != 8 {
		t.Fatalf("%d downloads stored after the partition, want 8", got)
	}
}

// A replica that stops writes what it counted: a rolling update loses no count.
func TestStoppingWritesWhatWasCounted(t *testing.T) {
	l := newLink(t, "stopping", nil)
	clk := clocktesting.NewFakeClock(time.Now())
	r := replica(t, k8s, clk, false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	for range 3 {
		r.Count(l.Namespace, l.Name, l.UID, clk.Now())
	}
	cancel()
	<-done
	if got := stored(t, l).Status.Downloads; got != 3 {
		t.Fatalf("%d downloads stored on stop, want 3", got)
	}
}

// The counts of a deleted link go with it; they never land on a new link of its name.
func TestCountsOfADeletedLinkAreDropped(t *testing.T) {
	ctx := context.Background()
	old := newLink(t, "replaced", nil)
	r := replica(t, k8s, clocktesting.NewFakeClock(time.Now()), false)
	r.Count(old.Namespace, old.Name, old.UID, time.Now())
	if err := k8s.Delete(ctx, old); err != nil {
		t.Fatal(err)
	}
	fresh := newLink(t, "replaced", nil)
	r.Flush(ctx)
	r.Flush(ctx)
	if got := stored(t, fresh).Status.Downloads; got != 0 {
		t.Fatalf("the new link got %d of the old one's downloads", got)
	}
}

func TestUncountedLedgerWritesNothing(t *testing.T) {
	l := newLink(t, "uncounted", nil)
	r := replica(t, k8s, clocktesting.NewFakeClock(time.Now()), true)
	r.Count(l.Namespace, l.Name, l.UID, time.Now())
	r.Flush(context.Background())
	if got := stored(t, l).Status.Downloads; got != 0 {
		t.Fatalf("%d downloads stored with the ledger off", got)
	}
	// Limits hold whatever the ledger's setting.
	limited := newLink(t, "uncounted-limited", ptr.To[int32](1))
	if err := r.Reserve(context.Background(), limited); err != nil {
		t.Fatal(err)
	}
	if err := r.Reserve(context.Background(), limited); !errors.Is(err, ledger.ErrLimitReached) {
		t.Fatalf("second download of a one-time link: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(fmt.Errorf("condition not met in 10s"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
