package v1alpha1_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/test/framework"
)

var link = framework.Link

func file(ns, name string, purpose filelinkv1.Purpose) *filelinkv1.File {
	return &filelinkv1.File{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: filelinkv1.FileSpec{
		Purpose: purpose, Source: filelinkv1.FileSource{Secret: &filelinkv1.KeySelector{Name: "docs", Key: "k"}}}}
}

func at(d time.Duration) *time.Time {
	t := clk.Now().Add(d).Truncate(time.Second)
	return &t
}

// warningClient is a client of the suite's API server that collects the admission
// warnings it is sent, as kubectl prints them.
func warningClient(t *testing.T) (client.Client, *[]string) {
	t.Helper()
	var warnings []string
	cfg := rest.CopyConfig(restConfig)
	cfg.WarningHandler = warningFunc(func(_ int, _ string, text string) { warnings = append(warnings, text) })
	c, err := client.New(cfg, client.Options{Scheme: framework.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c, &warnings
}

type warningFunc func(code int, agent, text string)

func (f warningFunc) HandleWarningHeader(code int, agent, text string) { f(code, agent, text) }

func wantWarning(t *testing.T, warnings *[]string, parts ...string) {
	t.Helper()
	if len(*warnings) != 1 {
		t.Fatalf("want one warning, got %q", *warnings)
	}
	for _, p := range parts {
		if !strings.Contains((*warnings)[0], p) {
			t.Errorf("warning %q does not mention %q", (*warnings)[0], p)
		}
	}
}

func TestCreate(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	for _, f := range []*filelinkv1.File{file(ns, "logo", filelinkv1.PurposeBusinessLogo), file(ns, "passport", filelinkv1.PurposeIdentityDocument)} {
		if err := k8s.Create(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	// Validation never depends on the clock (SPEC §12): a link already past its
	// expiry is admitted, with a warning kubectl prints, and is born expired.
	t.Run("expiresAt in the past is admitted with a warning", func(t *testing.T) {
		c, warnings := warningClient(t)
		if err := c.Create(ctx, link(ns, "past", "logo", at(-time.Minute))); err != nil {
			t.Fatal(err)
		}
		wantWarning(t, warnings, "spec.expiresAt", "not in the future", "created expired")
	})
	t.Run("expiresAt equal to now is admitted with a warning", func(t *testing.T) {
		now := clk.Now().Truncate(time.Second)
		clk.SetTime(now)
		c, warnings := warningClient(t)
		if err := c.Create(ctx, link(ns, "now", "logo", &now)); err != nil {
			t.Fatal(err)
		}
		wantWarning(t, warnings, "spec.expiresAt")
	})
	t.Run("expiresAt in the future is admitted without a warning", func(t *testing.T) {
		c, warnings := warningClient(t)
		if err := c.Create(ctx, link(ns, "later", "logo", at(time.Hour))); err != nil {
			t.Fatal(err)
		}
		if len(*warnings) != 0 {
			t.Errorf("warnings for a future expiry: %q", *warnings)
		}
	})
	t.Run("expiresAt in the future is allowed", func(t *testing.T) {
		if err := k8s.Create(ctx, link(ns, "future", "logo", at(time.Hour))); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no expiresAt is allowed", func(t *testing.T) {
		if err := k8s.Create(ctx, link(ns, "forever", "logo", nil)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("existing File with unlinkable purpose is refused", func(t *testing.T) {
		framework.WantInvalid(t, k8s.Create(ctx, link(ns, "passport", "passport", nil)),
			"spec.file", `purpose "identity_document"`, "linkable purposes are: business_icon, business_logo")
	})
	t.Run("File that does not exist yet is allowed", func(t *testing.T) {
		if err := k8s.Create(ctx, link(ns, "early", "later", nil)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a refusal still carries the expiry warning", func(t *testing.T) {
		c, warnings := warningClient(t)
		framework.WantInvalid(t, c.Create(ctx, link(ns, "both", "passport", at(-time.Hour))), "spec.file")
		wantWarning(t, warnings, "spec.expiresAt")
	})
}

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	if err := k8s.Create(ctx, file(ns, "logo", filelinkv1.PurposeBusinessLogo)); err != nil {
		t.Fatal(err)
	}

	t.Run("an active link may move its expiry, change metadata, or drop the expiry", func(t *testing.T) {
		l := link(ns, "active", "logo", at(time.Hour))
		if err := k8s.Create(ctx, l); err != nil {
			t.Fatal(err)
		}
		l.Spec.ExpiresAt = &metav1.Time{Time: *at(2 * time.Hour)}
		l.Spec.Metadata = map[string]string{"order": "42"}
		if err := k8s.Update(ctx, l); err != nil {
			t.Fatal(err)
		}
		l.Spec.ExpiresAt = nil
		if err := k8s.Update(ctx, l); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a past expiresAt on update is allowed: it expires the link at once", func(t *testing.T) {
		l := link(ns, "expire-now", "logo", at(time.Hour))
		if err := k8s.Create(ctx, l); err != nil {
			t.Fatal(err)
		}
		l.Spec.ExpiresAt = &metav1.Time{Time: *at(-time.Minute)}
		if err := k8s.Update(ctx, l); err != nil {
			t.Fatal(err)
		}
		// ...and from then on the link is expired: its spec is frozen.
		l.Spec.Metadata = map[string]string{"late": "edit"}
		framework.WantInvalid(t, k8s.Update(ctx, l), "spec", "expired and can no longer be updated")
	})

	t.Run("a link expired by the clock refuses spec changes but not label changes", func(t *testing.T) {
		l := link(ns, "clock-expired", "logo", at(time.Hour))
		if err := k8s.Create(ctx, l); err != nil {
			t.Fatal(err)
		}
		clk.Step(time.Hour)
		defer clk.Step(-time.Hour)
		l.Spec.ExpiresAt = &metav1.Time{Time: *at(time.Hour)}
		framework.WantInvalid(t, k8s.Update(ctx, l), "expired and can no longer be updated")
		l.Spec.ExpiresAt = nil
		framework.WantInvalid(t, k8s.Update(ctx, l), "expired and can no longer be updated")

		if err := k8s.Get(ctx, client.ObjectKeyFromObject(l), l); err != nil {
			t.Fatal(err)
		}
		l.Labels = map[string]string{"team": "disputes"}
		if err := k8s.Update(ctx, l); err != nil {
			t.Fatalf("label change on an expired link refused: %v", err)
		}
		if err := k8s.Delete(ctx, l); err != nil {
			t.Fatalf("delete of an expired link refused: %v", err)
		}
	})

	t.Run("a link marked expired in status refuses spec changes even without expiresAt", func(t *testing.T) {
		l := link(ns, "status-expired", "logo", nil)
		if err := k8s.Create(ctx, l); err != nil {
			t.Fatal(err)
		}
		l.Status.Expired = true
		if err := k8s.Status().Update(ctx, l); err != nil {
			t.Fatal(err)
		}
		l.Spec.Metadata = map[string]string{"a": "b"}
		framework.WantInvalid(t, k8s.Update(ctx, l), "expired and can no longer be updated")
	})
}
