package stripeid

import (
	"regexp"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

var shape = regexp.MustCompile(`^(file|link)_[0-9A-Za-z]{24}$`)

func TestIdentifiersHaveStripesShapeAndAreStable(t *testing.T) {
	uids := []types.UID{"", "0", "6f1c2b7e-0a0b-4c4d-9e9f-123456789abc", "another-uid"}
	seen := map[string]types.UID{}
	for _, uid := range uids {
		for _, id := range []string{File(uid), Link(uid)} {
			if !shape.MatchString(id) {
				t.Errorf("id %q for uid %q does not match %s", id, uid, shape)
			}
			if other, dup := seen[id]; dup {
				t.Errorf("id %q given to uids %q and %q", id, other, uid)
			}
			seen[id] = uid
		}
		if f1, f2, l1, l2 := File(uid), File(uid), Link(uid), Link(uid); f1 != f2 || l1 != l2 {
			t.Errorf("ids for uid %q are not deterministic", uid)
		}
	}
}

func TestFileAndLinkSuffixesDiffer(t *testing.T) {
	uid := types.UID("6f1c2b7e-0a0b-4c4d-9e9f-123456789abc")
	if File(uid)[len("file_"):] == Link(uid)[len("link_"):] {
		t.Fatalf("file and link ids share a suffix: %s %s", File(uid), Link(uid))
	}
}
