#!/bin/bash
# Builds keelson's log agent (an OpenTelemetry Collector with only the filelog receiver and the
# OTLP/HTTP exporter, pinned in go.mod: collector v0.165.0 / v1.71.0, contrib v0.165.1) from the Go
# module proxy into $KEELSON_CACHE/log-agent/v0.165.0-<key>/keelson-log-agent, unless it is there.
# The key is the start of the sha256 of go.mod, go.sum and main.go (lib/logging/image.ts computes
# the same), so a change to the module builds a new binary instead of reusing the old one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
key=$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -c1-12)
out="${KEELSON_CACHE:-$HOME/.cache/keelson}/log-agent/v0.165.0-$key"
[ -x "$out/keelson-log-agent" ] && { echo "$out"; exit 0; }
mkdir -p "$out"
cd "$here"
CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod go build -trimpath -ldflags='-s -w' -o "$out/keelson-log-agent.partial" .
mv "$out/keelson-log-agent.partial" "$out/keelson-log-agent"
echo "$out"
