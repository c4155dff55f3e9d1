#!/usr/bin/env bash
# Builds SeaweedFS's weed, the S3-compatible store the object-storage tests run on
# loopback, from its Go module pinned in hack/tools/seaweedfs, because release downloads
# are unavailable. The binary is cached outside the repository, keyed by the pinned
# version (SEAWEEDFS_CACHE overrides the cache root), and built only when missing
# (several minutes on the first run). Logs go to
# stderr; the binary's path is printed on stdout so callers can run it.
set -euo pipefail

tools=$(cd "$(dirname "$0")/tools/seaweedfs" && pwd)
version=$(go -C "$tools" list -m -f '{{.Version}}' github.com/seaweedfs/seaweedfs)
dir=${SEAWEEDFS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/filelink-operator/seaweedfs}/$version
bin=$dir/weed

if [ ! -x "$bin" ]; then
	mkdir -p "$dir"
	# One build at a time: parallel test packages may all find the binary missing.
	exec 9>"$dir/.lock"
	flock 9
	if [ ! -x "$bin" ]; then
		echo "building SeaweedFS weed $version into $dir (several minutes on the first run)..." >&2
		start=$(date +%s)
		go -C "$tools" build -o "$bin.tmp" github.com/seaweedfs/seaweedfs/weed
		mv "$bin.tmp" "$bin"
		echo "built weed in $(($(date +%s) - start))s" >&2
	fi
fi
echo "$bin"
