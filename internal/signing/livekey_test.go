package signing_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/filelink-dev/filelink-operator/internal/signing"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

// These tests run key holders ("replicas") against a real API server and change the key
// Secret the way the README tells operators to.

var (
	k8s    client.Client
	apiCfg *rest.Config
)

const (
	uid  = types.UID("3b0e7c1a-55d2-4f7e-9a61-0c9d8e7f6a5b")
	wait = 10 * time.Second
)

func TestMain(m *testing.M) { os.Exit(runSuite(m)) }

func runSuite(m *testing.M) int {
	// `make fuzz` runs FuzzTokenFromPath in this binary, and every fuzz worker process runs
	// TestMain again: none of them needs a control plane, and starting one per worker
	// stalls the fuzzer.
	flag.Parse()
	if fuzzing() {
		return m.Run()
	}
	env, err := framework.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg, c, err := framework.Start(env)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	k8s, apiCfg = c, cfg
	return m.Run()
}

// fuzzing reports whether this process coordinates or works for `go test -fuzz`.
func fuzzing() bool {
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		return true
	}
	f := flag.Lookup("test.fuzzworker")
	return f != nil && f.Value.String() == "true"
}

func key(b byte) []byte { return bytes.Repeat([]byte{b}, signing.MinKeyLength) }

func tokenUnder(t *testing.T, k []byte) string {
	t.Helper()
	s, err := signing.NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	return s.Token(uid)
}

// holder is one replica's view of the key, with every Signer it was notified of.
type holder struct {
	*signing.LiveKey
	mu   sync.Mutex
	seen []*signing.Signer
}

func (h *holder) notifications() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.seen)
}

func (h *holder) sawNil() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.seen {
		if s == nil {
			return true
		}
	}
	return false
}

// startHolder runs a LiveKey on ref until the test ends.
func startHolder(t *testing.T, ref types.NamespacedName) *holder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	k, err := signing.NewLiveKey(ctx, apiCfg, ref)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	h := &holder{LiveKey: k}
	k.Notify(ctx, func(s *signing.Signer) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.seen = append(h.seen, s)
	})
	framework.RunUntilCleanup(ctx, cancel, t, k.Start)
	// A replica whose watch starts after a change sees only the result (a deletion and
	// recreation arrive as the new Secret); the tests' changes must come after the sync
	// for every holder to see each of them.
	NewWithT(t).Eventually(k.Synced).WithTimeout(wait).Should(BeTrue())
	return h
}

func newKeySecret(t *testing.T, data map[string][]byte) types.NamespacedName {
	t.Helper()
	ns := framework.NewNamespace(t, k8s, "key-")
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "signing-key"}, Data: data}
	if data != nil {
		if err := k8s.Create(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	return client.ObjectKeyFromObject(s)
}

func storedKey(g Gomega, ref types.NamespacedName) []byte {
	s := &corev1.Secret{}
	g.ExpectWithOffset(1, k8s.Get(context.Background(), ref, s)).To(Succeed())
	return s.Data[signing.ActiveKeyEntry]
}

func updateSecret(t *testing.T, ref types.NamespacedName, data map[string][]byte) {
	framework.SetSecretData(t, k8s, ref, data)
}

// issues asserts that h issues tokens under active and accepts exactly the tokens of
// every key in accepted.
func issues(g Gomega, h *holder, active []byte, accepted ...[]byte) {
	s := h.Current()
	g.ExpectWithOffset(1, s).NotTo(BeNil(), "no current key")
	want, _ := signing.NewSigner(active)
	g.ExpectWithOffset(1, s.Token(uid)).To(Equal(want.Token(uid)), "active key")
	for _, k := range accepted {
		other, _ := signing.NewSigner(k)
		g.ExpectWithOffset(1, s.Verify(other.Token(uid), uid)).To(BeTrue(), "a key that should verify does not")
	}
}

func TestLiveKeyCreatesAMissingSecretAndReplicasAgree(t *testing.T) {
	ref := newKeySecret(t, nil)
	a, b := startHolder(t, ref), startHolder(t, ref)
	g := NewWithT(t)
	stored := storedKey(g, ref)
	g.Expect(stored).To(HaveLen(signing.MinKeyLength))
	issues(g, a, stored)
	issues(g, b, stored)
}

func TestLiveKeyFollowsRotationThenRevocation(t *testing.T) {
	ref := newKeySecret(t, map[string][]byte{"key": key('a')})
	a, b := startHolder(t, ref), startHolder(t, ref)
	oldToken := tokenUnder(t, key('a'))

	// Graceful rotation: the old key moves to a retired entry, a new one becomes active.
	updateSecret(t, ref, map[string][]byte{"key": key('b'), "retired-2026-11": key('a')})
	for _, h := range []*holder{a, b} {
		NewWithT(t).Eventually(func(g Gomega) { issues(g, h, key('b'), key('a')) }).WithTimeout(wait).Should(Succeed())
	}

	// Revocation of the old key: its entry goes, its tokens stop verifying everywhere.
	updateSecret(t, ref, map[string][]byte{"key": key('b')})
	for _, h := range []*holder{a, b} {
		NewWithT(t).Eventually(func(g Gomega) {
			issues(g, h, key('b'))
			g.Expect(h.Current().Verify(oldToken, uid)).To(BeFalse(), "revoked key still verifies")
		}).WithTimeout(wait).Should(Succeed())
	}

	// An update that changes no key (a label) notifies nobody.
	n := a.notifications()
	s := &corev1.Secret{}
	g := NewWithT(t)
	g.Expect(k8s.Get(context.Background(), ref, s)).To(Succeed())
	s.Labels = map[string]string{"touched": "yes"}
	g.Expect(k8s.Update(context.Background(), s)).To(Succeed())
	g.Consistently(a.notifications).WithTimeout(time.Second).Should(Equal(n))
}

// A subscription ends with its context: it is dropped at once, not at the next change,
// and a change after that is delivered only to the subscriptions still running.
func TestLiveKeyNotifyEndsWithItsContext(t *testing.T) {
	ref := newKeySecret(t, map[string][]byte{"key": key('a')})
	h := startHolder(t, ref)
	g := NewWithT(t)
	base := signing.Subscribers(h.LiveKey)

	var mu sync.Mutex
	told := map[string]int{}
	subscribe := func(name string) context.CancelFunc {
		ctx, cancel := context.WithCancel(context.Background())
		h.Notify(ctx, func(*signing.Signer) {
			mu.Lock()
			defer mu.Unlock()
			told[name]++
		})
		return cancel
	}
	toldTo := func(name string) int {
		mu.Lock()
		defer mu.Unlock()
		return told[name]
	}
	for range 50 {
		subscribe("ended")()
	}
	defer subscribe("running")()
	g.Eventually(func() int { return signing.Subscribers(h.LiveKey) }).WithTimeout(wait).Should(Equal(base + 1))

	updateSecret(t, ref, map[string][]byte{"key": key('b')})
	g.Eventually(func() int { return toldTo("running") }).WithTimeout(wait).Should(Equal(2))
	g.Expect(toldTo("ended")).To(Equal(50), "an ended subscription was told of a later change")
}

func TestLiveKeyRecreatesADeletedSecretAndEveryReplicaAdoptsTheOneKey(t *testing.T) {
	ref := newKeySecret(t, map[string][]byte{"key": key('a'), "retired": key('c')})
	holders := []*holder{startHolder(t, ref), startHolder(t, ref), startHolder(t, ref)}
	g := NewWithT(t)
	g.Expect(k8s.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ref.Namespace, Name: ref.Name}})).To(Succeed())

	// Every holder saw the deletion (nothing verified under the deleted keys meanwhile)
	// and all issue under the one key stored now, which is new.
	g.Eventually(func(g Gomega) {
		stored := storedKey(g, ref)
		g.Expect(stored).To(HaveLen(signing.MinKeyLength))
		g.Expect(stored).NotTo(Equal(key('a')))
		for _, h := range holders {
			g.Expect(h.sawNil()).To(BeTrue(), "a holder never dropped the deleted key")
			issues(g, h, stored)
			for _, old := range [][]byte{key('a'), key('c')} {
				g.Expect(h.Current().Verify(tokenUnder(t, old), uid)).To(BeFalse(), "a deleted key still verifies")
			}
		}
	}).WithTimeout(wait).Should(Succeed())
}

func TestLiveKeyNoticesADeletionBeforeItsWatchStarted(t *testing.T) {
	ref := newKeySecret(t, map[string][]byte{"key": key('a')})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k, err := signing.NewLiveKey(ctx, apiCfg, ref)
	if err != nil {
		t.Fatal(err)
	}
	g := NewWithT(t)
	g.Expect(k8s.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ref.Namespace, Name: ref.Name}})).To(Succeed())
	done := make(chan error, 1)
	go func() { done <- k.Start(ctx) }()
	g.Eventually(func(g Gomega) {
		stored := storedKey(g, ref)
		g.Expect(stored).NotTo(Equal(key('a')))
		g.Expect(k.Current()).NotTo(BeNil())
		g.Expect(k.Current().Token(uid)).To(Equal(tokenUnder(t, stored)))
	}).WithTimeout(wait).Should(Succeed())
	cancel()
	g.Expect(<-done).To(Succeed())
}

func TestLiveKeyFailsClosedOnASecretWithoutAUsableKey(t *testing.T) {
	ref := newKeySecret(t, map[string][]byte{"key": key('a')})
	h := startHolder(t, ref)
	g := NewWithT(t)

	updateSecret(t, ref, map[string][]byte{"retired": key('a')})
	g.Eventually(h.Current).WithTimeout(wait).Should(BeNil(), "a Secret without an active key still verifies")
	g.Consistently(func(g Gomega) { g.Expect(k8s.Get(context.Background(), ref, &corev1.Secret{})).To(Succeed()) }).
		WithTimeout(time.Second).Should(Succeed(), "the holder replaced a Secret someone is editing")
	g.Expect(storedKey(g, ref)).To(BeNil(), "the holder wrote into the Secret")

	updateSecret(t, ref, map[string][]byte{"key": key('b')})
	g.Eventually(func(g Gomega) { issues(g, h, key('b')) }).WithTimeout(wait).Should(Succeed())
}
