#!/usr/bin/env bash
# Builds the binaries of the test control plane from the Go module proxy:
# kube-apiserver, kube-controller-manager, kube-scheduler, etcd and kwok.
#
# No release download is reachable from our machines, and `go install module@version` refuses
# modules whose go.mod has `replace` lines (Kubernetes and etcd both do). So each component is
# built inside a small wrapper module of our own that requires the release and restates its
# replace lines as version pins (Kubernetes' `./staging/src/k8s.io/X` becomes `k8s.io/X v0.N.P`),
# derived from the release's own go.mod, never from a hand-kept list.
#
# Binaries land in $KEELSON_CACHE/controlplane/<versions>/bin (default ~/.cache/keelson), never in
# the repository. A binary that already exists is not rebuilt. Prints the bin folder on stdout's
# last line.
set -euo pipefail

KUBERNETES_VERSION="${KUBERNETES_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.7.0}"

cache_root="${KEELSON_CACHE:-$HOME/.cache/keelson}"
bin_dir="$cache_root/controlplane/k8s-$KUBERNETES_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION/bin"
work_dir="$cache_root/controlplane/wrappers"
mkdir -p "$bin_dir" "$work_dir"

log() { printf '[controlplane build] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v go >/dev/null 2>&1 || die "Go is not installed (need Go >= 1.26 on PATH; Debian: apt-get install golang, or the machine's own Go)."

export CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export GOFLAGS="${GOFLAGS:-} -mod=mod"

# Path of a release's go.mod, fetched through the module proxy.
mod_file_of() {
  local module="$1" version="$2" out
  out=$(cd "$work_dir" && GOFLAGS= go mod download -json "$module@$version" 2>&1) ||
    die "the Go module proxy did not serve $module@$version ($(go env GOPROXY)): $out"
  printf '%s' "$out" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p'
}

# Turn a release's local-path replace lines into version pins.
#   k8s.io/api => ./staging/src/k8s.io/api      ->  k8s.io/api => k8s.io/api v0.36.3
#   go.etcd.io/etcd/api/v3 => ../api             ->  (dropped: the require line pins it already)
pins_from_replaces() {
  local mod_file="$1" staging_version="$2"
  sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/src/k8s\.io/.*$#replace \1 => \1 '"$staging_version"'#p' "$mod_file"
}

# build NAME MODULE VERSION PACKAGE [LDFLAGS]
build() {
  local name="$1" module="$2" version="$3" package="$4" ldflags="${5:-}"
  if [ -x "$bin_dir/$name" ]; then
    log "$name: already built"
    return
  fi
  local dir="$work_dir/$name-$version"
  rm -rf "$dir" && mkdir -p "$dir"
  local mod_file
  mod_file=$(mod_file_of "$module" "$version")
  [ -f "$mod_file" ] || die "could not find the go.mod of $module@$version"
  {
    echo "module keelson.test/controlplane/$name"
    echo
    echo "go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')"
    echo
    echo "require $module $version"
    if [ "$module" = "k8s.io/kubernetes" ]; then
      pins_from_replaces "$mod_file" "v0.${version#v1.}"
    fi
  } >"$dir/go.mod"
  log "$name: resolving $module@$version"
  local start=$SECONDS
  (cd "$dir" && go mod download "$module" >&2 && go get "$package@$version" >&2 2>&1) ||
    die "$name: could not resolve $module@$version; see above"
  log "$name: compiling $package (cold builds take minutes on 2 cores)"
  (cd "$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$bin_dir/$name.tmp" "$package") ||
    die "$name: go build failed; see above"
  mv "$bin_dir/$name.tmp" "$bin_dir/$name"
  log "$name: built in $((SECONDS - start)) s"
}

k8s_minor="${KUBERNETES_VERSION#v1.}"; k8s_minor="${k8s_minor%%.*}"
version_ldflags="-X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION \
-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$k8s_minor \
-X k8s.io/component-base/version.gitTreeState=clean"

build etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" go.etcd.io/etcd/server/v3
build kwok sigs.k8s.io/kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok \
  "-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"
build kube-apiserver k8s.io/kubernetes "$KUBERNETES_VERSION" k8s.io/kubernetes/cmd/kube-apiserver "$version_ldflags"
build kube-controller-manager k8s.io/kubernetes "$KUBERNETES_VERSION" k8s.io/kubernetes/cmd/kube-controller-manager "$version_ldflags"
build kube-scheduler k8s.io/kubernetes "$KUBERNETES_VERSION" k8s.io/kubernetes/cmd/kube-scheduler "$version_ldflags"

log "all binaries in $bin_dir"
echo "$bin_dir"
