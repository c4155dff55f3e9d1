package controllers_test

import (
	"os"
	"path/filepath"
	"testing"

	lua "github.com/yuin/gopher-lua"
	"k8s.io/apimachinery/pkg/runtime"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

// argoHealthFor is what the Argo CD health check must say for each kstatus verdict, so
// Flux (kstatus) and Argo CD (config/argocd/health.lua) agree on every state.
var argoHealthFor = map[kstatus.Status]string{
	kstatus.CurrentStatus:    "Healthy",
	kstatus.InProgressStatus: "Progressing",
	kstatus.FailedStatus:     "Degraded",
}

// wantGitOpsHealth asserts kstatus's view of obj, and that the shipped Argo CD Lua health
// check, run as Argo CD runs it, maps obj the same way.
func wantGitOpsHealth(t *testing.T, obj client.Object, want kstatus.Status) {
	t.Helper()
	if got := kstatusOf(t, obj); got != want {
		t.Errorf("kstatus = %s, want %s", got, want)
	}
	if got := argoHealthOf(t, obj); got != argoHealthFor[want] {
		t.Errorf("Argo CD health = %s, want %s", got, argoHealthFor[want])
	}
}

// argoHealthOf runs config/argocd/health.lua with obj as the global `obj`, the contract
// of Argo CD's resource.customizations.health scripts, and returns hs.status.
func argoHealthOf(t *testing.T, obj client.Object) string {
	t.Helper()
	script, err := os.ReadFile(filepath.Join(framework.RepoRoot(), "config", "argocd", "health.lua"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("obj", toLua(L, m))
	fn, err := L.LoadString(string(script))
	if err != nil {
		t.Fatal(err)
	}
	L.Push(fn)
	if err := L.PCall(0, 1, nil); err != nil {
		t.Fatalf("health.lua: %v", err)
	}
	hs, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("health.lua returned %v, not a table", L.Get(-1))
	}
	return lua.LVAsString(hs.RawGetString("status"))
}

// toLua converts decoded JSON into Lua values: objects to tables, arrays to 1-based
// sequences, numbers to numbers.
func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := L.NewTable()
		for k, x := range v {
			t.RawSetString(k, toLua(L, x))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, x := range v {
			t.Append(toLua(L, x))
		}
		return t
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case nil:
		return lua.LNil
	}
	panic("unexpected JSON value")
}
