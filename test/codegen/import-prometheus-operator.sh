#!/usr/bin/env bash
# Writes imports/prometheus-operator.crds.yaml: the CRDs of prometheus-operator's ServiceMonitor,
# PodMonitor and PrometheusRule at a pinned version, taken from its Go module (the Go module proxy
# serves it; no release download is needed). `npm run gen:types` then turns their schemas into
# imports/prometheus-operator.ts.
# Usage: npm run import:prometheus-operator [-- VERSION]
set -euo pipefail
VERSION="${1:-v0.85.0}"
MODULE=github.com/prometheus-operator/prometheus-operator
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
export GOMODCACHE="${GOMODCACHE:-$HOME/.cache/keelson/go-mod}"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
go mod init keelson-crd-import >/dev/null 2>&1
DIR="$(go mod download -json "$MODULE@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
OUT="$ROOT/imports/prometheus-operator.crds.yaml"
{
  echo "# prometheus-operator $VERSION: example/prometheus-operator-crd/ of the Go module $MODULE."
  echo "# Written by npm run import:prometheus-operator; do not edit by hand."
  for kind in servicemonitors podmonitors prometheusrules; do
    cat "$DIR/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml"
  done
} >"$OUT"
echo "wrote $OUT; run npm run gen:types to regenerate imports/prometheus-operator.ts"
