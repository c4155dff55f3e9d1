#!/usr/bin/env bash
# Fails when the generated files (CRDs, RBAC, webhook manifests, deepcopy, the Helm chart's
# copies of them and of the dashboard and alerts, the chart's README, dist/install.yaml) differ from what the markers and config/ produce now. It compares the tree before and after regeneration, so it
# works on uncommitted work as well as in CI; the regenerated files are left in place.
set -euo pipefail
cd "$(dirname "$0")/.."

generated() {
	local paths=()
	for p in config/crd/bases config/rbac/role.yaml config/webhook/manifests.yaml api \
		charts/filelink-operator/files charts/filelink-operator/templates/_generated.tpl dist/install.yaml; do
		[ -e "$p" ] && paths+=("$p")
	done
	{
		find "${paths[@]}" \( -name '*.yaml' -o -name '*.json' -o -name '*.tpl' -o -name 'zz_generated.*.go' \)
		echo charts/filelink-operator/README.md
	} | sort | xargs -r sha256sum
}

before=$(generated)
# dist/install.yaml is kept rendered with the Makefile's default IMG.
env -u IMG make --no-print-directory manifests generate build-installer >/dev/null
after=$(generated)
if [ "$before" != "$after" ]; then
	echo "Generated files were stale and have been regenerated; review and commit them:" >&2
	diff <(echo "$before") <(echo "$after") >&2 || true
	exit 1
fi
