package install

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// objects are an installer's rendered objects, by "Kind/name".
type objects map[string]*unstructured.Unstructured

func decode(t *testing.T, manifest []byte) objects {
	t.Helper()
	objs := objects{}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		// The unstructured decoder keeps integers int64, as the API machinery does.
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			t.Fatal(err)
		}
		key := u.GetKind() + "/" + u.GetName()
		// One name in several namespaces (a namespace-scoped install's Roles): the
		// first keeps the plain key, the others are known by name@namespace.
		if prev := objs[key]; prev != nil && prev.GetNamespace() != "" && u.GetNamespace() != "" && prev.GetNamespace() != u.GetNamespace() {
			key += "@" + u.GetNamespace()
		}
		if objs[key] != nil {
			t.Errorf("%s rendered twice", key)
		}
		objs[key] = u
	}
	return objs
}

// dryRunApply applies every object with server-side apply and dryRun=All: the API server
// validates each as it would on a real install. Namespaces are created for real first,
// since a dry-run Namespace cannot hold dry-run objects.
func dryRunApply(t *testing.T, objs objects) {
	t.Helper()
	for _, u := range objs {
		if u.GetKind() == "Namespace" {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: u.GetName()}}
			if err := k8s.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
		}
	}
	for key, u := range objs {
		err := k8s.Apply(ctx, client.ApplyConfigurationFromUnstructured(u.DeepCopy()),
			client.FieldOwner("install-test"), client.ForceOwnership, client.DryRunAll)
		if err != nil {
			t.Errorf("server-side dry-run apply of %s: %v", key, err)
		}
	}
}

func (o objects) get(t *testing.T, key string) *unstructured.Unstructured {
	t.Helper()
	u := o[key]
	if u == nil {
		var keys []string
		for k := range o {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		t.Fatalf("no %s among %v", key, keys)
	}
	return u
}

// byKind returns the single object of a kind whose name ends with suffix.
func (o objects) one(t *testing.T, kind, suffix string) *unstructured.Unstructured {
	t.Helper()
	var found []*unstructured.Unstructured
	for _, u := range o {
		if u.GetKind() == kind && strings.HasSuffix(u.GetName(), suffix) {
			found = append(found, u)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d objects %s/*%s, want 1", len(found), kind, suffix)
	}
	return found[0]
}

// managerArgs are the manager container's args.
func (o objects) managerArgs(t *testing.T) []string {
	t.Helper()
	dep := o.one(t, "Deployment", "controller-manager")
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	return args
}

func (o objects) count(kind string) int {
	n := 0
	for _, u := range o {
		if u.GetKind() == kind {
			n++
		}
	}
	return n
}

// expect says what an installer must render under some settings.
type expect struct {
	namespace     string
	replicas      int64
	webhook       bool
	metricsSecure bool
	linkBaseURL   string
}

// checkInstall asserts what matters of a rendered installer, whichever produced it.
func checkInstall(t *testing.T, objs objects, want expect) {
	t.Helper()
	dep := objs.one(t, "Deployment", "controller-manager")
	if dep.GetNamespace() != want.namespace {
		t.Errorf("Deployment in namespace %q, want %q", dep.GetNamespace(), want.namespace)
	}
	if r, _, _ := unstructured.NestedInt64(dep.Object, "spec", "replicas"); r != want.replicas {
		t.Errorf("replicas %d, want %d", r, want.replicas)
	}
	pod, _, _ := unstructured.NestedMap(dep.Object, "spec", "template", "spec")
	if nonRoot, _, _ := unstructured.NestedBool(pod, "securityContext", "runAsNonRoot"); !nonRoot {
		t.Error("pod may run as root")
	}
	containers, _, _ := unstructured.NestedSlice(pod, "containers")
	if len(containers) != 1 {
		t.Fatalf("%d containers", len(containers))
	}
	c := containers[0].(map[string]any)
	if ro, _, _ := unstructured.NestedBool(c, "securityContext", "readOnlyRootFilesystem"); !ro {
		t.Error("root filesystem is writable")
	}
	if esc, found, _ := unstructured.NestedBool(c, "securityContext", "allowPrivilegeEscalation"); !found || esc {
		t.Error("privilege escalation is not refused")
	}
	if drop, _, _ := unstructured.NestedStringSlice(c, "securityContext", "capabilities", "drop"); !slices.Contains(drop, "ALL") {
		t.Errorf("capabilities dropped: %v", drop)
	}
	for _, probe := range []string{"livenessProbe", "readinessProbe"} {
		if p, _, _ := unstructured.NestedString(c, probe, "httpGet", "path"); p == "" {
			t.Errorf("no %s", probe)
		}
	}
	if s, _, _ := unstructured.NestedInt64(c, "lifecycle", "preStop", "sleep", "seconds"); s <= 0 {
		t.Error("no preStop sleep: endpoints would not drain before the replica stops serving")
	}
	if mem, _, _ := unstructured.NestedString(c, "resources", "limits", "memory"); mem == "" {
		t.Error("no memory limit")
	}
	args, _, _ := unstructured.NestedStringSlice(c, "args")
	wantArgs := []string{"--leader-elect", "--link-base-url=" + want.linkBaseURL, "--health-probe-bind-address=:8081", "--link-bind-address=:8082"}
	if want.metricsSecure {
		wantArgs = append(wantArgs, "--metrics-secure", "--metrics-bind-address=:8443")
	}
	if want.webhook {
		wantArgs = append(wantArgs, "--webhook-cert-dir=/tmp/k8s-webhook-server/serving-certs")
	}
	for _, a := range wantArgs {
		if !slices.Contains(args, a) {
			t.Errorf("args %v lack %s", args, a)
		}
	}
	if !want.metricsSecure && slices.Contains(args, "--metrics-secure") {
		t.Errorf("args %v serve secure metrics", args)
	}
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--signing-key-secret=$(POD_NAMESPACE)/") }) {
		t.Errorf("args %v: the signing key is not in the manager's namespace", args)
	}

	// Spread and disruption budget select exactly the manager's pods.
	podLabels := labels.Set(dep.GetLabels())
	if tl, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "template", "metadata", "labels"); tl != nil {
		podLabels = tl
	}
	spread, _, _ := unstructured.NestedSlice(pod, "topologySpreadConstraints")
	if !slices.ContainsFunc(spread, func(s any) bool {
		key, _, _ := unstructured.NestedString(s.(map[string]any), "topologyKey")
		sel, _, _ := unstructured.NestedStringMap(s.(map[string]any), "labelSelector", "matchLabels")
		return key == "kubernetes.io/hostname" && len(sel) > 0 && labels.SelectorFromSet(sel).Matches(podLabels)
	}) {
		t.Errorf("replicas are not spread across nodes: %v", spread)
	}
	pdb := objs.one(t, "PodDisruptionBudget", "controller-manager")
	sel, _, _ := unstructured.NestedStringMap(pdb.Object, "spec", "selector", "matchLabels")
	if len(sel) == 0 || !labels.SelectorFromSet(sel).Matches(podLabels) {
		t.Errorf("PodDisruptionBudget selects %v, pods have %v", sel, podLabels)
	}
	if m, _, _ := unstructured.NestedInt64(pdb.Object, "spec", "minAvailable"); m < 1 {
		t.Errorf("PodDisruptionBudget minAvailable %d", m)
	}

	// The ServiceAccount the pods use exists and is what the bindings grant to.
	saName, _, _ := unstructured.NestedString(pod, "serviceAccountName")
	objs.get(t, "ServiceAccount/"+saName)
	for _, kind := range []string{"ClusterRoleBinding", "RoleBinding"} {
		for _, u := range objs {
			if u.GetKind() != kind {
				continue
			}
			subjects, _, _ := unstructured.NestedSlice(u.Object, "subjects")
			for _, s := range subjects {
				n, _, _ := unstructured.NestedString(s.(map[string]any), "name")
				ns, _, _ := unstructured.NestedString(s.(map[string]any), "namespace")
				if n != saName || ns != want.namespace {
					t.Errorf("%s/%s binds %s/%s, not the manager", kind, u.GetName(), ns, n)
				}
			}
			ref, _, _ := unstructured.NestedString(u.Object, "roleRef", "name")
			refKind, _, _ := unstructured.NestedString(u.Object, "roleRef", "kind")
			objs.get(t, refKind+"/"+ref)
		}
	}

	// Least privilege: cluster-wide, ConfigMaps are only read, and Secrets only read,
	// created and updated (a link's URL Secret, SPEC §12: the manager writes only Secrets
	// its links own), never patched or deleted (the garbage collector deletes URL Secrets
	// with their links); no wildcards.
	for _, u := range objs {
		if u.GetKind() != "ClusterRole" && u.GetKind() != "Role" {
			continue
		}
		rules, _, _ := unstructured.NestedSlice(u.Object, "rules")
		for _, r := range rules {
			res, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "resources")
			verbs, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "verbs")
			if slices.Contains(verbs, "*") || slices.Contains(res, "*") {
				t.Errorf("%s/%s has a wildcard rule", u.GetKind(), u.GetName())
			}
			allowed := []string{"get", "list", "watch"}
			if slices.Contains(res, "secrets") && !slices.Contains(res, "configmaps") {
				allowed = append(allowed, "create", "update")
			}
			if u.GetKind() == "ClusterRole" && (slices.Contains(res, "secrets") || slices.Contains(res, "configmaps")) &&
				slices.ContainsFunc(verbs, func(v string) bool { return !slices.Contains(allowed, v) }) {
				t.Errorf("ClusterRole/%s may %v %v", u.GetName(), verbs, res)
			}
		}
	}

	if want.metricsSecure {
		objs.one(t, "ClusterRole", "metrics-reader")
		auth := strings.Join(rulesOf(objs.one(t, "ClusterRole", "metrics-auth-role")), ";")
		if !strings.Contains(auth, "tokenreviews:create") || !strings.Contains(auth, "subjectaccessreviews:create") {
			t.Errorf("metrics auth role: %s", auth)
		}
	}

	if !want.webhook {
		if n := objs.count("ValidatingWebhookConfiguration"); n != 0 {
			t.Errorf("%d webhook configurations with the webhook off", n)
		}
		if !slices.ContainsFunc(envOf(c), func(e string) bool { return e == "ENABLE_WEBHOOKS=false" }) {
			t.Errorf("webhook off, but the manager is not told: env %v", envOf(c))
		}
		return
	}
	vwc := objs.one(t, "ValidatingWebhookConfiguration", "validating-webhook-configuration")
	hooks, _, _ := unstructured.NestedSlice(vwc.Object, "webhooks")
	if len(hooks) == 0 {
		t.Fatal("no webhooks")
	}
	for _, h := range hooks {
		hm := h.(map[string]any)
		if ts, _, _ := unstructured.NestedInt64(hm, "timeoutSeconds"); ts < 1 || ts > 5 {
			t.Errorf("webhook timeoutSeconds %d, want 1..5", ts)
		}
		svc, _, _ := unstructured.NestedString(hm, "clientConfig", "service", "name")
		ns, _, _ := unstructured.NestedString(hm, "clientConfig", "service", "namespace")
		if ns != want.namespace {
			t.Errorf("webhook calls a Service in %q", ns)
		}
		objs.get(t, "Service/"+svc)
		cert := objs.one(t, "Certificate", "serving-cert")
		dns, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
		if !slices.Contains(dns, fmt.Sprintf("%s.%s.svc", svc, ns)) {
			t.Errorf("serving certificate names %v, not the webhook Service", dns)
		}
		if got, wantRef := vwc.GetAnnotations()["cert-manager.io/inject-ca-from"], ns+"/"+cert.GetName(); got != wantRef {
			t.Errorf("CA injected from %q, want %q", got, wantRef)
		}
		// The chain: serving cert ← CA Issuer ← CA Certificate ← self-signed Issuer.
		issuer, _, _ := unstructured.NestedString(cert.Object, "spec", "issuerRef", "name")
		caSecret, _, _ := unstructured.NestedString(objs.get(t, "Issuer/"+issuer).Object, "spec", "ca", "secretName")
		if caSecret == "" {
			t.Fatalf("Issuer/%s is not a CA issuer", issuer)
		}
		ca := objs.one(t, "Certificate", "ca-cert")
		if isCA, _, _ := unstructured.NestedBool(ca.Object, "spec", "isCA"); !isCA {
			t.Error("CA certificate is not a CA")
		}
		if s, _, _ := unstructured.NestedString(ca.Object, "spec", "secretName"); s != caSecret {
			t.Errorf("CA issuer reads %q, CA certificate writes %q", caSecret, s)
		}
		root, _, _ := unstructured.NestedString(ca.Object, "spec", "issuerRef", "name")
		if _, self, _ := unstructured.NestedMap(objs.get(t, "Issuer/"+root).Object, "spec", "selfSigned"); !self {
			t.Errorf("CA certificate issued by %s, not a self-signed root", root)
		}
		secret, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
		vols, _, _ := unstructured.NestedSlice(pod, "volumes")
		if !slices.ContainsFunc(vols, func(v any) bool {
			s, _, _ := unstructured.NestedString(v.(map[string]any), "secret", "secretName")
			return s == secret
		}) {
			t.Errorf("the pod does not mount the serving certificate's Secret %q", secret)
		}
	}
}

func rulesOf(u *unstructured.Unstructured) []string {
	var out []string
	rules, _, _ := unstructured.NestedSlice(u.Object, "rules")
	for _, r := range rules {
		res, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "resources")
		verbs, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "verbs")
		for _, x := range res {
			for _, v := range verbs {
				out = append(out, x+":"+v)
			}
		}
	}
	return out
}

func envOf(c map[string]any) []string {
	var out []string
	env, _, _ := unstructured.NestedSlice(c, "env")
	for _, e := range env {
		n, _, _ := unstructured.NestedString(e.(map[string]any), "name")
		v, _, _ := unstructured.NestedString(e.(map[string]any), "value")
		out = append(out, n+"="+v)
	}
	return out
}
