package install

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestUserRolesAggregate checks SPEC §12's roles for app teams as an API server enforces
// them: each installer's filelink-edit and filelink-view are created for real, folded into
// the API server's own admin, edit and view ClusterRoles by their aggregation selectors,
// and users bound to those roles in one namespace ask the API server, impersonated, what
// they may do.
//
// envtest runs no kube-controller-manager, whose aggregation controller fills the rules
// of admin, edit and view in a real cluster; aggregate does its work here, from the
// selectors the API server's bootstrap roles really carry.
func TestUserRolesAggregate(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "dist", "install.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, inst := range []struct {
		name, team string
		objs       objects
		// urlsInStatus: view may not read links, whose status holds a credential.
		urlsInStatus bool
	}{
		{"install.yaml", "team-a", decode(t, b), true},
		{"chart", "team-b", render(t, "filelink-system", nil), true},
		{"chart with URLs in Secrets only", "team-c", render(t, "filelink-system", map[string]any{"urlInStatus": false}), false},
	} {
		objs, team, urlsInStatus := inst.objs, inst.team, inst.urlsInStatus
		t.Run(inst.name, func(t *testing.T) {
			for _, role := range []string{"filelink-edit", "filelink-view"} {
				u := objs.get(t, "ClusterRole/"+role)
				cr := &rbacv1.ClusterRole{}
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, cr); err != nil {
					t.Fatal(err)
				}
				if err := k8s.Create(ctx, cr); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = k8s.Delete(ctx, cr) })
			}
			for _, role := range []string{"admin", "edit", "view"} {
				aggregate(t, role)
			}
			other := team + "-other"
			createNamespace(t, team)
			createNamespace(t, other)
			bind(t, team, "alice", "edit")
			bind(t, team, "olga", "admin")
			bind(t, team, "bob", "view")

			for _, c := range []struct {
				user, verb, resource, namespace string
				allowed                         bool
			}{
				{"alice", "create", "filelinks", team, true},
				{"alice", "delete", "files", team, true},
				{"alice", "update", "filestores", team, true},
				{"alice", "get", "filelinks", team, true},
				{"alice", "create", "filelinks", other, false},
				{"olga", "create", "files", team, true},
				{"olga", "deletecollection", "filelinks", team, true},
				{"bob", "get", "files", team, true},
				{"bob", "list", "filestores", team, true},
				{"bob", "get", "filelinks", team, !urlsInStatus}, // status.url is a credential
				{"bob", "get", "secrets", team, false},
				{"bob", "create", "files", team, false},
				{"bob", "get", "files", other, false},
			} {
				if got := allowed(t, c.user, c.verb, c.resource, c.namespace); got != c.allowed {
					t.Errorf("%s %s %s in %s: allowed=%v, want %v", c.user, c.verb, c.resource, c.namespace, got, c.allowed)
				}
			}
		})
	}
}

// aggregate does for the ClusterRole name what kube-controller-manager's aggregation
// controller does: its rules become those of every ClusterRole its selectors match.
func aggregate(t *testing.T, name string) {
	t.Helper()
	role := &rbacv1.ClusterRole{}
	if err := k8s.Get(ctx, client.ObjectKey{Name: name}, role); err != nil {
		t.Fatal(err)
	}
	if role.AggregationRule == nil {
		t.Fatalf("ClusterRole %s has no aggregation rule", name)
	}
	var rules []rbacv1.PolicyRule
	for _, sel := range role.AggregationRule.ClusterRoleSelectors {
		s, err := metav1.LabelSelectorAsSelector(&sel)
		if err != nil {
			t.Fatal(err)
		}
		var matched rbacv1.ClusterRoleList
		if err := k8s.List(ctx, &matched, client.MatchingLabelsSelector{Selector: s}); err != nil {
			t.Fatal(err)
		}
		for _, m := range matched.Items {
			if m.Name != name {
				rules = append(rules, m.Rules...)
			}
		}
	}
	role.Rules = rules
	if err := k8s.Update(ctx, role); err != nil {
		t.Fatal(err)
	}
}

func bind(t *testing.T, namespace, user, clusterRole string) {
	t.Helper()
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	if err := k8s.Create(ctx, rb); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// allowed asks the API server, as user, whether user may verb resource in namespace.
func allowed(t *testing.T, user, verb, resource, namespace string) bool {
	t.Helper()
	as := rest.CopyConfig(cfg)
	as.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	c, err := client.New(as, client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Group: "filelink.dev", Verb: verb, Resource: resource, Namespace: namespace},
	}}
	if err := c.Create(ctx, review); err != nil {
		t.Fatal(err)
	}
	return review.Status.Allowed
}

// TestChartURLInStatus: urlInStatus=false is the manager's --url-in-status=false.
func TestChartURLInStatus(t *testing.T) {
	if args := render(t, "filelink-system", nil).managerArgs(t); slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--url-in-status") }) {
		t.Errorf("the default passes %v", args)
	}
	if args := render(t, "filelink-system", map[string]any{"urlInStatus": false}).managerArgs(t); !slices.Contains(args, "--url-in-status=false") {
		t.Errorf("urlInStatus=false: args %v", args)
	}
}
