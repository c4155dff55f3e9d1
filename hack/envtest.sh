#!/usr/bin/env bash
# Builds the control-plane binaries envtest runs (kube-apiserver and etcd) from their Go
# modules, pinned in hack/tools/envtest, because release downloads are unavailable here.
# Builds only what is missing, logs to stderr, and prints the assets directory on stdout
# so callers can set KUBEBUILDER_ASSETS from it.
set -euo pipefail

version=${1:?kubernetes version, e.g. 1.37.2}
dir=${2:?assets directory}
tools=$(cd "$(dirname "$0")/tools/envtest" && pwd)

pinned=$(go -C "$tools" list -m -f '{{.Version}}' k8s.io/kubernetes)
if [ "$pinned" != "v$version" ]; then
	echo "hack/tools/envtest pins k8s.io/kubernetes $pinned, not v$version" >&2
	exit 1
fi

mkdir -p "$dir"
build() { # name package
	if [ -x "$dir/$1" ]; then return; fi
	echo "building $1 into $dir (a few minutes on the first run)..." >&2
	go -C "$tools" build -o "$dir/$1.tmp" "$2"
	mv "$dir/$1.tmp" "$dir/$1"
}
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build etcd go.etcd.io/etcd/server/v3
echo "$dir"
