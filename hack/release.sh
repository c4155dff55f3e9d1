#!/usr/bin/env bash
# make release VERSION=vX.Y.Z: everything a platform team installs, into DIST (dist/),
# without a Docker daemon or network (SPEC §14):
#   filelink-operator-VERSION-image.tar    the multi-arch OCI image (amd64, arm64)
#   filelink-operator-VERSION-image.digest REPO@sha256:... of its image index
#   install.yaml                           config/default pinned to that digest
#   filelink-operator-X.Y.Z.tgz            the Helm chart, version/appVersion set, image pinned
#   filelink-operator-VERSION.sbom.cdx.json CycloneDX SBOM of the manager's modules
#   SHA256SUMS                             of all of the above
# Two runs of one commit write the same bytes: binaries are built with -trimpath, the
# image and chart archives carry the commit's time, and the SBOM has no serial or time.
# hack/release.sh VERSION DIST IMAGE_REPO
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?VERSION, e.g. v0.1.0} dist=${2:-dist} repo=${3:-filelink-operator}

if ! [[ $version =~ ^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$ ]]; then
	echo "VERSION=$version: want vMAJOR.MINOR.PATCH, e.g. v0.1.0" >&2
	exit 1
fi
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
	echo "warning: the working tree has uncommitted changes; the binaries record that, and the release is not the commit's" >&2
fi
mkdir -p "$dist"
dist=$(cd "$dist" && pwd)
epoch=$(git log -1 --format=%ct)
image=filelink-operator-$version-image.tar
sbom=filelink-operator-$version.sbom.cdx.json

make --no-print-directory image IMG="$repo:$version" IMAGE_TAR="$dist/$image" IMAGE_REVISION="$(git rev-parse HEAD)" >&2
digest=$(go -C hack/tools/image run . digest "$dist/$image")
echo "$repo@$digest" >"$dist/filelink-operator-$version-image.digest"
hack/build-installer.sh "$repo@$digest" "$dist/install.yaml"
chart=$(go -C hack/tools/release run . chart --chart "$PWD/charts/filelink-operator" \
	--version "${version#v}" --app-version "$version" --image-repository "$repo" --image-digest "$digest" \
	--epoch "$epoch" --output "$dist")
go -C hack/tools/release tool cyclonedx-gomod bin -json -noserial -notimestamp -version "$version" \
	-output "$dist/$sbom" "$PWD/bin/linux_amd64/manager"
go -C hack/tools/release run . sums "$dist" "$image" "filelink-operator-$version-image.digest" install.yaml \
	"$(basename "$chart")" "$sbom"
echo "released $version into $dist: $repo@$digest" >&2
