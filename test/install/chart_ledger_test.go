package install

import (
	"slices"
	"strings"
	"testing"
)

// TestChartDownloadLedger: downloadLedger=false is the manager's --download-ledger=false,
// and the default passes nothing, so the binary's default (on) holds.
func TestChartDownloadLedger(t *testing.T) {
	if args := render(t, "filelink-system", nil).managerArgs(t); slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--download-ledger") }) {
		t.Errorf("the default passes %v", args)
	}
	if args := render(t, "filelink-system", map[string]any{"downloadLedger": false}).managerArgs(t); !slices.Contains(args, "--download-ledger=false") {
		t.Errorf("downloadLedger=false: args %v", args)
	}
}
