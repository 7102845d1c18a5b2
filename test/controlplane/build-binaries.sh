#!/usr/bin/env bash
# Builds the binaries of the test control plane from the Go module proxy:
# kube-apiserver, kube-controller-manager, kube-scheduler, etcd and kwok; with `node` (or `all`),
# the binaries of the real node instead (or as well): kubelet, kube-proxy, containerd with ctr and
# its runc shim, the CNI plugins bridge, host-local, loopback and portmap, CoreDNS, the pause
# program of the pod sandbox image, and kube-router (only its NetworkPolicy controller runs: the
# enforcing implementation the network-policy test turns on).
#
#   build-binaries.sh [controlplane|node|all|certmanager|prometheus]     (default: controlplane)
#
# `certmanager` builds a cert-manager controller (only for the cert-manager test; not part of `all`).
# `prometheus` builds Prometheus and promtool (only for the metrics test; not part of `all`), with
# Kubernetes service discovery as their only discovery (Prometheus' own `remove_all_sd` and
# `enable_kubernetes_sd` build tags), which is all the test uses and keeps the cloud SDKs out.
#
# No release download is reachable from our machines, and `go install module@version` refuses
# modules whose go.mod has `replace` lines (Kubernetes and etcd both do). So each component is
# built inside a small wrapper module of our own that requires the release and restates its
# replace lines as version pins (Kubernetes' `./staging/src/k8s.io/X` becomes `k8s.io/X v0.N.P`),
# derived from the release's own go.mod, never from a hand-kept list.
#
# Everything but runc is built with CGO_ENABLED=0 (static binaries, no C toolchain needed);
# containerd is built with the tags of its own static release (no btrfs, devmapper or zfs
# snapshotters: btrfs needs cgo, and the node uses overlayfs). runc needs cgo (its nsexec C code)
# and libseccomp: it is built with Debian's gcc and libseccomp-dev, linked static. It is built
# rather than taken from Debian because Debian 12's runc is 1.1.5, while containerd 2.4 is tested
# with runc 1.5; the node installs the Debian packages it needs when missing (ensure_node_packages).
#
# Binaries land in $KEELSON_CACHE/controlplane/<versions>/bin and $KEELSON_CACHE/node/<versions>/
# (default ~/.cache/keelson), never in the repository. A binary that already exists is not
# rebuilt. Concurrent runs wait for each other (flock on the cache). Prints the bin folder on
# stdout's last line (the node's bin folder for `node` and `all`).
set -euo pipefail

what="${1:-controlplane}"
case "$what" in controlplane | node | all | certmanager | prometheus) ;; *) echo "usage: $0 [controlplane|node|all|certmanager|prometheus]" >&2; exit 2 ;; esac

KUBERNETES_VERSION="${KUBERNETES_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.7.0}"
CONTAINERD_VERSION="${CONTAINERD_VERSION:-v2.4.2}"
CNI_PLUGINS_VERSION="${CNI_PLUGINS_VERSION:-v1.10.0}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
RUNC_VERSION="${RUNC_VERSION:-v1.5.3}"
KUBE_ROUTER_VERSION="${KUBE_ROUTER_VERSION:-v2.1.0}"
CERT_MANAGER_VERSION="${CERT_MANAGER_VERSION:-v1.21.2}"
# Prometheus' Go module is versioned v0.3MM.P for Prometheus 3.MM.P.
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"

cache_root="${KEELSON_CACHE:-$HOME/.cache/keelson}"
controlplane_bin_dir="$cache_root/controlplane/k8s-$KUBERNETES_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION/bin"
certmanager_dir="$cache_root/certmanager/cert-manager-$CERT_MANAGER_VERSION"
prometheus_bin_dir="$cache_root/prometheus/prometheus-$PROMETHEUS_VERSION/bin"
node_dir="$cache_root/node/k8s-$KUBERNETES_VERSION-containerd-$CONTAINERD_VERSION-runc-$RUNC_VERSION-cni-$CNI_PLUGINS_VERSION-coredns-$COREDNS_VERSION"
work_dir="$cache_root/controlplane/wrappers"
mkdir -p "$work_dir"
bin_dir="$controlplane_bin_dir"

log() { printf '[controlplane build] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# One build at a time per cache: a second run waits, then finds the binaries built. cert-manager
# and Prometheus (each built only for its own test, and long) have a lock of their own, so that
# they never hold up the control plane and node builds every other test waits for.
lock_file="$cache_root/.build.lock"
[ "$what" = certmanager ] && lock_file="$cache_root/.build-certmanager.lock"
[ "$what" = prometheus ] && lock_file="$cache_root/.build-prometheus.lock"
exec 9>"$lock_file"
if ! flock -n 9; then
  log "another build runs on $cache_root; waiting for it"
  flock 9
fi

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
# Environment: BUILD_TAGS (go build -tags), MAIN_SOURCE (a main.go of our own for the wrapper,
# for binaries whose upstream main links more than the node needs; PACKAGE is then ".").
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
  if [ -n "${MAIN_SOURCE:-}" ]; then
    printf '%s\n' "$MAIN_SOURCE" >"$dir/main.go"
    (cd "$dir" && go mod download "$module" >&2 && go get "$module@$version" >&2 2>&1 && go mod tidy >&2 2>&1) ||
      die "$name: could not resolve $module@$version; see above"
  else
    (cd "$dir" && go mod download "$module" >&2 && go get "$package@$version" >&2 2>&1) ||
      die "$name: could not resolve $module@$version; see above"
  fi
  log "$name: compiling $package (cold builds take minutes on 2 cores)"
  (cd "$dir" && go build -trimpath -tags "${BUILD_TAGS:-}" -ldflags "-s -w $ldflags" -o "$bin_dir/$name.tmp" "$package") ||
    die "$name: go build failed; see above"
  mv "$bin_dir/$name.tmp" "$bin_dir/$name"
  log "$name: built in $((SECONDS - start)) s"
}

k8s_minor="${KUBERNETES_VERSION#v1.}"; k8s_minor="${k8s_minor%%.*}"
version_ldflags="-X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION \
-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$k8s_minor \
-X k8s.io/component-base/version.gitTreeState=clean"

build_controlplane() {
  bin_dir="$controlplane_bin_dir"
  mkdir -p "$bin_dir"
  build etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" go.etcd.io/etcd/server/v3
  build kwok sigs.k8s.io/kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok \
    "-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"
  build kube-apiserver k8s.io/kubernetes "$KUBERNETES_VERSION" k8s.io/kubernetes/cmd/kube-apiserver "$version_ldflags"
  build kube-controller-manager k8s.io/kubernetes "$KUBERNETES_VERSION" k8s.io/kubernetes/cmd/kube-controller-manager "$version_ldflags"
  build kube-scheduler k8s.io/kubernetes "$KUBERNETES_VERSION" k8s.io/kubernetes/cmd/kube-scheduler "$version_ldflags"
  log "all binaries in $bin_dir"
}

# CoreDNS's own main links every plugin it ships (cloud DNS providers included); the node needs
# the Kubernetes plugin and a few core ones, so its wrapper has a main of our own that imports
# only those (CoreDNS's documented way to build with a smaller plugin set).
COREDNS_MAIN='package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

func main() { coremain.Run() }'

# The sandbox image's program (node/pause.go, standard library only); its file name carries a hash
# of the source, so a changed source is built anew.
build_pause() {
  local source
  source="$(cd "$(dirname "$0")" && pwd)/node/pause.go"
  local name="pause-$(sha256sum "$source" | cut -c1-12)"
  if [ -x "$bin_dir/$name" ]; then
    log "pause: already built"
  else
    local dir="$work_dir/pause"
    rm -rf "$dir" && mkdir -p "$dir"
    cp "$source" "$dir/main.go"
    printf 'module keelson.test/pause\n\ngo 1.22\n' >"$dir/go.mod"
    (cd "$dir" && go build -trimpath -ldflags "-s -w" -o "$bin_dir/$name.tmp" .) || die "pause: go build failed"
    mv "$bin_dir/$name.tmp" "$bin_dir/$name"
    log "pause: built"
  fi
  ln -sfn "$name" "$bin_dir/pause"
}

# Debian packages the real node needs: gcc, libc6-dev, libseccomp-dev and pkg-config to build
# runc; iptables for kube-proxy and the CNI bridge's masquerading; conntrack for kube-proxy's
# cleanup of UDP flows; socat forwards the API server to the node's network namespace;
# busybox-static is the busybox image's binary; iproute2 and util-linux (ip, nsenter); ipset for
# kube-router's NetworkPolicy controller (it runs the ipset command).
NODE_DEBIAN_PACKAGES="gcc libc6-dev libseccomp-dev pkg-config iptables conntrack socat busybox-static iproute2 util-linux ipset"

ensure_node_packages() {
  local missing=() package
  for package in $NODE_DEBIAN_PACKAGES; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return
  command -v apt-get >/dev/null 2>&1 || die "the real node needs the Debian packages ${missing[*]}, and apt-get is missing"
  [ "$(id -u)" = 0 ] || die "the real node needs the Debian packages ${missing[*]}: run apt-get install ${missing[*]} as root"
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
    { apt-get update >&2 && apt-get install -y --no-install-recommends "${missing[@]}" >&2; } ||
    die "apt-get install ${missing[*]} failed; see above"
}

build_node() {
  ensure_node_packages
  bin_dir="$node_dir/bin"
  mkdir -p "$bin_dir"
  local containerd_tags="no_btrfs no_devmapper no_zfs urfave_cli_no_docs osusergo netgo static_build"
  local containerd_ldflags="-X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION"
  BUILD_TAGS="$containerd_tags" build containerd github.com/containerd/containerd/v2 "$CONTAINERD_VERSION" \
    github.com/containerd/containerd/v2/cmd/containerd "$containerd_ldflags"
  BUILD_TAGS="$containerd_tags no_grpc" build containerd-shim-runc-v2 github.com/containerd/containerd/v2 \
    "$CONTAINERD_VERSION" github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 "$containerd_ldflags"
  BUILD_TAGS="$containerd_tags" build ctr github.com/containerd/containerd/v2 "$CONTAINERD_VERSION" \
    github.com/containerd/containerd/v2/cmd/ctr "$containerd_ldflags"
  # runc needs cgo (its nsexec C code) and libseccomp (for the seccomp tag; Debian's
  # libseccomp-dev, linked static, so the binary runs anywhere).
  CGO_ENABLED=1 BUILD_TAGS="seccomp urfave_cli_no_docs netgo osusergo" build runc github.com/opencontainers/runc \
    "$RUNC_VERSION" github.com/opencontainers/runc "-X main.version=${RUNC_VERSION#v} -extldflags=-static"
  MAIN_SOURCE="$COREDNS_MAIN" build coredns github.com/coredns/coredns "$COREDNS_VERSION" . \
    "-X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION"
  build_pause
  bin_dir="$node_dir/cni"
  mkdir -p "$bin_dir"
  local plugins=github.com/containernetworking/plugins
  local cni_ldflags="-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION"
  build bridge "$plugins" "$CNI_PLUGINS_VERSION" "$plugins/plugins/main/bridge" "$cni_ldflags"
  build loopback "$plugins" "$CNI_PLUGINS_VERSION" "$plugins/plugins/main/loopback" "$cni_ldflags"
  build host-local "$plugins" "$CNI_PLUGINS_VERSION" "$plugins/plugins/ipam/host-local" "$cni_ldflags"
  build portmap "$plugins" "$CNI_PLUGINS_VERSION" "$plugins/plugins/meta/portmap" "$cni_ldflags"
  bin_dir="$node_dir/bin"
  if [ "${SKIP_KUBERNETES_NODE:-}" != 1 ]; then
    build kubelet k8s.io/kubernetes "$KUBERNETES_VERSION" k8s.io/kubernetes/cmd/kubelet "$version_ldflags"
    build kube-proxy k8s.io/kubernetes "$KUBERNETES_VERSION" k8s.io/kubernetes/cmd/kube-proxy "$version_ldflags"
  fi
  # The NetworkPolicy enforcer (iptables and ipset; the kernel here lacks nft_queue, which the
  # nftables-based sigs.k8s.io/kube-network-policies needs). Its version is in the file name:
  # the node folder's name does not carry it, so a new pin builds a new binary beside the old.
  build "kube-router-$KUBE_ROUTER_VERSION" github.com/cloudnativelabs/kube-router/v2 "$KUBE_ROUTER_VERSION" \
    github.com/cloudnativelabs/kube-router/v2/cmd/kube-router \
    "-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION"
  ln -sfn "kube-router-$KUBE_ROUTER_VERSION" "$bin_dir/kube-router"
  log "all node binaries in $node_dir"
}

# cert-manager's controller main is a module of its own (cmd/controller, module path
# github.com/cert-manager/cert-manager/controller-binary) that the Go module proxy does not serve
# under its path; the main module (which holds the controllers and deploy/crds) is served. So the
# wrapper has a main of our own that runs the registered controllers a CA issuer needs.
CERT_MANAGER_MAIN='// A cert-manager controller with only what a CA issuer needs: the Certificate controllers, the
// CertificateRequest approver and CA signer, and the Issuer/ClusterIssuer readiness controllers.
// cert-manager'\''s own main (cmd/controller) is a module of its own that the Go module proxy does
// not serve under its path, so this wrapper drives the same registered controllers.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	controllerpkg "github.com/cert-manager/cert-manager/pkg/controller"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
)

var controllers = []string{
	"issuers", "clusterissuers",
	"certificates-trigger", "certificates-key-manager", "certificates-request-manager",
	"certificates-issuing", "certificates-readiness", "certificates-revision-manager",
	"certificaterequests-approver", "certificaterequests-issuer-ca",
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the API server")
	clusterResourceNamespace := flag.String("cluster-resource-namespace", "cert-manager", "namespace of ClusterIssuers'\'' Secrets")
	flag.Parse()

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	opts := controllerpkg.ContextOptions{Kubeconfig: *kubeconfig, KubernetesAPIQPS: 50, KubernetesAPIBurst: 100}
	opts.ClusterResourceNamespace = *clusterResourceNamespace
	opts.CertificateRequestMinimumBackoffDuration = time.Second
	opts.CertificateRequestMaximumBackoffDuration = 10 * time.Second
	factory, err := controllerpkg.NewContextFactory(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cert-manager: %v\n", err)
		os.Exit(1)
	}
	var run []controllerpkg.Interface
	for _, name := range controllers {
		fn, ok := controllerpkg.Known()[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "cert-manager: no controller %q\n", name)
			os.Exit(1)
		}
		c, err := fn(factory)
		if err != nil {
			fmt.Fprintf(os.Stderr, "cert-manager: %s: %v\n", name, err)
			os.Exit(1)
		}
		run = append(run, c)
	}
	shared, err := factory.Build()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cert-manager: %v\n", err)
		os.Exit(1)
	}
	shared.KubeSharedInformerFactory.Start(ctx.Done())
	shared.SharedInformerFactory.Start(ctx.Done())
	fmt.Fprintf(os.Stderr, "cert-manager: running %v\n", controllers)
	var wg sync.WaitGroup
	for i, c := range run {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Run(2, ctx); err != nil {
				fmt.Fprintf(os.Stderr, "cert-manager: %s: %v\n", controllers[i], err)
			}
		}()
	}
	wg.Wait()
}
'

# The controller binary, and the release's CRDs (from the same module) beside it in crds/.
build_certmanager() {
  bin_dir="$certmanager_dir/bin"
  mkdir -p "$bin_dir"
  MAIN_SOURCE="$CERT_MANAGER_MAIN" build cert-manager-controller github.com/cert-manager/cert-manager \
    "$CERT_MANAGER_VERSION" . "-X github.com/cert-manager/cert-manager/pkg/util.AppVersion=$CERT_MANAGER_VERSION"
  local module_dir
  module_dir=$(cd "$work_dir" && GOFLAGS= go mod download -json "github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [ -d "$module_dir/deploy/crds" ] || die "cert-manager $CERT_MANAGER_VERSION: no deploy/crds in $module_dir"
  mkdir -p "$certmanager_dir/crds"
  cp "$module_dir"/deploy/crds/cert-manager.io_*.yaml "$certmanager_dir/crds/"
  log "cert-manager in $certmanager_dir"
}

# Prometheus and promtool, with Kubernetes service discovery only.
build_prometheus() {
  bin_dir="$prometheus_bin_dir"
  mkdir -p "$bin_dir"
  # v0.316.0 -> 3.16.0
  local release ldflags
  release="3.$((10#${PROMETHEUS_VERSION:4:2})).${PROMETHEUS_VERSION##*.}"
  ldflags="-X github.com/prometheus/common/version.Version=$release -X github.com/prometheus/common/version.Branch=HEAD"
  BUILD_TAGS=remove_all_sd,enable_kubernetes_sd build prometheus github.com/prometheus/prometheus "$PROMETHEUS_VERSION" \
    github.com/prometheus/prometheus/cmd/prometheus "$ldflags"
  BUILD_TAGS=remove_all_sd,enable_kubernetes_sd build promtool github.com/prometheus/prometheus "$PROMETHEUS_VERSION" \
    github.com/prometheus/prometheus/cmd/promtool "$ldflags"
}

case "$what" in
  prometheus) build_prometheus; echo "$prometheus_bin_dir" ;;
  certmanager) build_certmanager; echo "$certmanager_dir" ;;
  controlplane) build_controlplane; echo "$controlplane_bin_dir" ;;
  node) build_node; echo "$node_dir/bin" ;;
  all) build_controlplane; build_node; echo "$node_dir/bin" ;;
esac
