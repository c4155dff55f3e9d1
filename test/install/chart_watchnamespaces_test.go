package install

import (
	"slices"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/lint/support"
)

// TestChartWatchNamespaces checks SPEC §12's namespace-scoped install as an API server
// enforces it: the chart rendered with watchNamespaces [a, b] has its RBAC applied for
// real, and the manager's ServiceAccount, impersonated, asks the API server what it may
// do. It may read Secrets and write the kinds' status in a and b, and still its signing
// key Secret and Lease at home, and nothing in c nor anything cluster-wide. The default
// render, applied the same way, may read a Secret in c: the checks tell the two apart.
func TestChartWatchNamespaces(t *testing.T) {
	const home, a, b, c = "wns-system", "wns-a", "wns-b", "wns-c"
	for _, ns := range []string{home, a, b, c} {
		createNamespace(t, ns)
	}

	t.Run("namespace-scoped", func(t *testing.T) {
		objs := render(t, home, map[string]any{"watchNamespaces": []any{a, b}})
		dryRunApply(t, objs)
		checkInstall(t, objs, expect{namespace: home, replicas: 2, webhook: true, metricsSecure: true, linkBaseURL: "http://localhost:8082"})

		if args := objs.managerArgs(t); !slices.Contains(args, "--watch-namespaces="+a+","+b) {
			t.Errorf("the manager is not told the namespaces: args %v", args)
		}
		for key, u := range objs {
			if u.GetKind() == "ClusterRole" && strings.HasSuffix(u.GetName(), "-manager-role") ||
				u.GetKind() == "ClusterRoleBinding" && strings.HasSuffix(u.GetName(), "-manager-rolebinding") {
				t.Errorf("%s rendered for a namespace-scoped install", key)
			}
		}
		for _, ns := range []string{a, b} {
			if !slices.ContainsFunc(roleNamespaces(objs, "Role"), func(s string) bool { return s == ns }) ||
				!slices.ContainsFunc(roleNamespaces(objs, "RoleBinding"), func(s string) bool { return s == ns }) {
				t.Errorf("no Role and RoleBinding in %s: Roles in %v, RoleBindings in %v", ns, roleNamespaces(objs, "Role"), roleNamespaces(objs, "RoleBinding"))
			}
		}
		vwc := objs.one(t, "ValidatingWebhookConfiguration", "validating-webhook-configuration")
		hooks, _, _ := unstructured.NestedSlice(vwc.Object, "webhooks")
		for _, h := range hooks {
			exprs, _, _ := unstructured.NestedSlice(h.(map[string]any), "namespaceSelector", "matchExpressions")
			if len(exprs) != 1 {
				t.Fatalf("webhook namespaceSelector %v, want one expression", exprs)
			}
			e := exprs[0].(map[string]any)
			values, _, _ := unstructured.NestedStringSlice(e, "values")
			if e["key"] != "kubernetes.io/metadata.name" || e["operator"] != "In" || !slices.Equal(values, []string{a, b}) {
				t.Errorf("webhook namespaceSelector %v, want kubernetes.io/metadata.name In [%s %s]", e, a, b)
			}
		}

		sa := applyManagerRBAC(t, objs)
		for _, q := range []access{
			{"list", "", "secrets", "", a, true},
			{"watch", "", "secrets", "", b, true},
			{"list", "", "configmaps", "", b, true},
			{"get", "", "secrets", "", c, false},
			{"list", "", "secrets", "", c, false},
			{"list", "", "secrets", "", "", false}, // cluster-wide
			{"list", "", "configmaps", "", c, false},
			{"patch", "filelink.dev", "filelinks", "status", a, true},
			{"patch", "filelink.dev", "files", "status", b, true},
			{"patch", "filelink.dev", "filelinks", "status", c, false},
			{"watch", "filelink.dev", "filelinks", "", b, true},
			{"list", "filelink.dev", "files", "", c, false},
			{"list", "filelink.dev", "filelinks", "", "", false},
			// Its own, wherever the watched namespaces are.
			{"create", "", "secrets", "", home, true},
			{"update", "coordination.k8s.io", "leases", "", home, true},
		} {
			q.check(t, sa)
		}
	})

	t.Run("default", func(t *testing.T) {
		objs := render(t, home, nil)
		objs.one(t, "ClusterRole", "-manager-role")
		objs.one(t, "ClusterRoleBinding", "-manager-rolebinding")
		if n := len(roleNamespaces(objs, "Role")); n != 2 {
			t.Errorf("Roles in %v, want the manager's two at home only", roleNamespaces(objs, "Role"))
		}
		if args := objs.managerArgs(t); slices.ContainsFunc(args, func(s string) bool { return strings.HasPrefix(s, "--watch-namespaces") }) {
			t.Errorf("args %v", args)
		}
		vwc := objs.one(t, "ValidatingWebhookConfiguration", "validating-webhook-configuration")
		hooks, _, _ := unstructured.NestedSlice(vwc.Object, "webhooks")
		if _, ok, _ := unstructured.NestedMap(hooks[0].(map[string]any), "namespaceSelector"); ok {
			t.Error("the default webhook selects namespaces")
		}
		sa := applyManagerRBAC(t, objs)
		for _, q := range []access{
			{"get", "", "secrets", "", c, true},
			{"list", "", "secrets", "", "", true},
			{"patch", "filelink.dev", "filelinks", "status", c, true},
		} {
			q.check(t, sa)
		}
	})
}

// TestChartWatchNamespacesSchema: values.schema.json refuses what --watch-namespaces
// would refuse, so the mistake fails `helm install`, not the pods.
func TestChartWatchNamespacesSchema(t *testing.T) {
	for _, bad := range [][]any{{"Team-A"}, {"a", "a"}, {"a.b"}, {""}, {strings.Repeat("a", 64)}} {
		if _, err := template("filelink-system", map[string]any{"watchNamespaces": bad}); err == nil || !strings.Contains(err.Error(), "watchNamespaces") {
			t.Errorf("watchNamespaces %q: error %v, want a schema error naming it", bad, err)
		}
	}
	valid := map[string]any{"watchNamespaces": []any{"team-a", "b0"}}
	if _, err := template("filelink-system", valid); err != nil {
		t.Errorf("refused valid namespaces: %v", err)
	}
	lint := action.NewLint()
	lint.Strict = true
	res := lint.Run([]string{chartDir}, valid)
	for _, m := range res.Messages {
		if m.Severity >= support.WarningSev {
			t.Errorf("helm lint: %s", m)
		}
	}
	for _, err := range res.Errors {
		t.Errorf("helm lint: %v", err)
	}
}

// roleNamespaces are the namespaces of the rendered objects of kind.
func roleNamespaces(objs objects, kind string) []string {
	var out []string
	for _, u := range objs {
		if u.GetKind() == kind {
			out = append(out, u.GetNamespace())
		}
	}
	slices.Sort(out)
	return out
}

// applyManagerRBAC applies, for real, every Role, RoleBinding, ClusterRole and
// ClusterRoleBinding of objs that binds the manager's ServiceAccount (the user roles
// filelink-edit and filelink-view are another test's), removes them when the test
// ends, and returns that ServiceAccount's user name.
func applyManagerRBAC(t *testing.T, objs objects) string {
	t.Helper()
	saName, _, _ := unstructured.NestedString(objs.one(t, "Deployment", "controller-manager").Object, "spec", "template", "spec", "serviceAccountName")
	var sa string
	for _, u := range objs {
		switch u.GetKind() {
		case "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding":
		default:
			continue
		}
		if u.GetName() == "filelink-edit" || u.GetName() == "filelink-view" {
			continue
		}
		if subjects, _, _ := unstructured.NestedSlice(u.Object, "subjects"); len(subjects) > 0 {
			s := subjects[0].(map[string]any)
			sa = "system:serviceaccount:" + s["namespace"].(string) + ":" + s["name"].(string)
		}
		obj := u.DeepCopy()
		if err := k8s.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner("install-test"), client.ForceOwnership); err != nil {
			t.Fatalf("applying %s/%s in %q: %v", u.GetKind(), u.GetName(), u.GetNamespace(), err)
		}
		t.Cleanup(func() {
			if err := k8s.Delete(ctx, u.DeepCopy()); err != nil {
				t.Errorf("deleting %s/%s: %v", u.GetKind(), u.GetName(), err)
			}
		})
	}
	if !strings.HasSuffix(sa, ":"+saName) {
		t.Fatalf("the bindings name %q, the Deployment runs as %q", sa, saName)
	}
	return sa
}

// access is a question to the API server: may the user verb the resource (or its
// subresource) of group in namespace ("" for every namespace)?
type access struct {
	verb, group, resource, subresource, namespace string
	allowed                                       bool
}

// check asks as user, a ServiceAccount's user name, with the groups the API server
// gives a ServiceAccount's token.
func (a access) check(t *testing.T, user string) {
	t.Helper()
	ns := strings.Split(user, ":")[2]
	as := rest.CopyConfig(cfg)
	as.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}}
	c, err := client.New(as, client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.subresource, Namespace: a.namespace},
	}}
	if err := c.Create(ctx, review); err != nil {
		t.Fatal(err)
	}
	if review.Status.Allowed != a.allowed {
		where := a.namespace
		if where == "" {
			where = "every namespace"
		}
		t.Errorf("%s: %s %s in %s: allowed=%v, want %v", user, a.verb, strings.TrimSuffix(strings.Join([]string{a.resource, a.subresource}, "/"), "/")+"."+a.group, where, review.Status.Allowed, a.allowed)
	}
}
