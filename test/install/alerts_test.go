package install

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
)

// alertCase is a history of series (promqltest's load syntax, one sample a minute from
// time 0) and whether an alert is firing at evalAt.
type alertCase struct {
	name   string
	series string
	fires  bool
}

// evalAt is when each case is judged: later than every rule's for: and range, so
// each is judged on history alone.
const evalAt = 2 * time.Hour

// TestAlertRules evaluates each rule of config/prometheus/alerts.yaml with Prometheus'
// engine on histories that must fire it and ones that must not.
func TestAlertRules(t *testing.T) {
	const ns = `namespace="shop"`
	cases := map[string][]alertCase{
		"FileLinkServerErrors": {
			{"a sixth of answers are 503", `
				filelink_link_requests_total{` + ns + `, code="200"} 0+60x130
				filelink_link_requests_total{` + ns + `, code="503"} 0+12x130`, true},
			{"one 503 a minute in 61 answers", `
				filelink_link_requests_total{` + ns + `, code="200"} 0+60x130
				filelink_link_requests_total{` + ns + `, code="503"} 0+1x130`, false},
			{"half of a trickle fails", `
				filelink_link_requests_total{` + ns + `, code="200"} 0+1x130
				filelink_link_requests_total{` + ns + `, code="503"} 0+1x130`, false},
		},
		"FileLinkStoreUnreachable": {
			{"the store stopped answering", `
				filelink_link_store_requests_total{` + ns + `, delivery="proxy", outcome="fetched"} 0+10x110 1100x20
				filelink_link_store_requests_total{` + ns + `, delivery="proxy", outcome="unavailable"} 0x105 0+10x25`, true},
			{"unavailable long ago, fetched since", `
				filelink_link_store_requests_total{` + ns + `, delivery="proxy", outcome="fetched"} 0+10x130
				filelink_link_store_requests_total{` + ns + `, delivery="proxy", outcome="unavailable"} 0+5x5 25x125`, false},
		},
		"FileLinkReconcileErrors": {
			{"the FileLink reconciler fails steadily", `
				controller_runtime_reconcile_errors_total{` + ns + `, controller="filelink"} 0+2x130`, true},
			{"a burst of errors at start, none since", `
				controller_runtime_reconcile_errors_total{` + ns + `, controller="filelink"} 0+5x5 25x125`, false},
			{"another operator's controller fails", `
				controller_runtime_reconcile_errors_total{` + ns + `, controller="certificates"} 0+2x130
				controller_runtime_reconcile_errors_total{` + ns + `, controller="filelink"} 0x130`, false},
		},
		"FileLinkNoLeader": {
			{"both replicas standing by", `
				leader_election_master_status{` + ns + `, pod="a", name="filelink-operator.filelink.dev"} 0x130
				leader_election_master_status{` + ns + `, pod="b", name="filelink-operator.filelink.dev"} 0x130`, true},
			{"no replica scraped", `
				filelink_signing_key_present{` + ns + `, pod="a"} _x130`, true},
			{"one replica leads", `
				leader_election_master_status{` + ns + `, pod="a", name="filelink-operator.filelink.dev"} 0x130
				leader_election_master_status{` + ns + `, pod="b", name="filelink-operator.filelink.dev"} 1x130`, false},
			{"a failover of a minute", `
				leader_election_master_status{` + ns + `, pod="a", name="filelink-operator.filelink.dev"} 1x117 0x13
				leader_election_master_status{` + ns + `, pod="b", name="filelink-operator.filelink.dev"} 0x118 1x12`, false},
		},
		"FileLinkSigningKeyMissing": {
			{"a replica lost its key", `
				filelink_signing_key_present{` + ns + `, pod="a"} 1x130
				filelink_signing_key_present{` + ns + `, pod="b"} 1x110 0x20`, true},
			{"both hold the key", `
				filelink_signing_key_present{` + ns + `, pod="a"} 1x130
				filelink_signing_key_present{` + ns + `, pod="b"} 1x130`, false},
		},
		"FileLinkWebhookCertificateExpiring": {
			// time() is 7200 at evalAt.
			{"7 days left", `
				filelink_webhook_certificate_expiry_timestamp_seconds{` + ns + `, pod="a"} 612000x130`, true},
			{"30 days left", `
				filelink_webhook_certificate_expiry_timestamp_seconds{` + ns + `, pod="a"} 2599200x130`, false},
		},
	}

	engine := promqltest.NewTestEngine(t, false, 5*time.Minute, 1_000_000)
	rules := readAlerts(t)
	for _, r := range rules {
		cs := cases[r.Alert]
		if !hasBoth(cs) {
			t.Errorf("alert %s has no case that fires it and none that must not, or lacks one of them", r.Alert)
		}
		for _, c := range cs {
			t.Run(r.Alert+"/"+c.name, func(t *testing.T) {
				st := promqltest.LoadedStorage(t, loadScript(c.series))
				if got := firing(t, engine, st, r); got != c.fires {
					t.Errorf("firing %v, want %v, after %s of:%s", got, c.fires, evalAt, c.series)
				}
			})
		}
		delete(cases, r.Alert)
	}
	for alert := range cases {
		t.Errorf("cases for %s, which is no rule", alert)
	}
}

// loadScript is a promqltest load of series, one per line, a sample a minute.
func loadScript(series string) string {
	script := "load 1m\n"
	for line := range strings.SplitSeq(series, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			script += "  " + line + "\n"
		}
	}
	return script
}

func hasBoth(cs []alertCase) bool {
	var pos, neg bool
	for _, c := range cs {
		pos, neg = pos || c.fires, neg || !c.fires
	}
	return pos && neg
}

// firing is whether r fires at evalAt as Prometheus' rule manager, evaluating every
// minute, decides it: its expression has returned a sample at every evaluation for the
// rule's for: duration.
func firing(t *testing.T, engine *promql.Engine, st storage.Queryable, r alertRule) bool {
	t.Helper()
	ctx := context.Background()
	for at := evalAt - forDuration(t, r); at <= evalAt; at += time.Minute {
		q, err := engine.NewInstantQuery(ctx, st, nil, r.Expr, time.Unix(0, 0).Add(at))
		if err != nil {
			t.Fatalf("alert %s: %v", r.Alert, err)
		}
		res := q.Exec(ctx)
		q.Close()
		if res.Err != nil {
			t.Fatalf("alert %s at %s: %v", r.Alert, at, res.Err)
		}
		v, err := res.Vector()
		if err != nil {
			t.Fatalf("alert %s at %s: %v", r.Alert, at, err)
		}
		if len(v) == 0 {
			return false
		}
	}
	return true
}
