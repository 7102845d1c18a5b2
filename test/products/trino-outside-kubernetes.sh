#!/bin/bash
# Runs keelson's Trino files outside Kubernetes in keelson's image, as the pods would run them:
# the image's root filesystem read-only (chroot in a private mount namespace), uid 10001,
# /keelson/config and /keelson/catalog read-only, /tmp and /data/trino writable; the coordinator
# on 127.0.0.1:18080 and a worker on 127.0.0.1:18081 (keelson's addresses rewritten to loopback).
# It checks that both become ready by keelson's readiness command, that the image's CLI gets 25 from
# tpch.tiny.nation, and that the worker, put in SHUTTING_DOWN by keelson's preStop command, finishes
# a running query and exits. Needs root (mount namespaces, chroot) and `npm run build` first.
#
#   npx keelson image build trino 476 --out /tmp/images   (or: node build/apps/keelson.js image build …)
#   sudo test/products/trino-outside-kubernetes.sh /tmp/images/docker.io_trinodb_trino_476.tar
set -euo pipefail
for port in 18080 18081; do
  if ss -ltnH "sport = :$port" | grep -q .; then echo "port $port is in use" >&2; exit 1; fi
done
archive=${1:?usage: trino-outside-kubernetes.sh <image archive>}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/keelson-trino-outside-XXXXXX)
rootfs=$work/rootfs
pids=()
cleanup() {
  # The servers run under unshare and chroot: stop them by the ports they listen on.
  for port in 18080 18081; do
    for p in $(ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do kill "$p" 2>/dev/null || true; done
  done
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

echo "unpacking $archive"
mkdir -p "$rootfs" "$work/oci"
tar -xf "$archive" -C "$work/oci"
node -e '
const fs = require("fs"); const dir = process.argv[1];
const blob = (d) => `${dir}/blobs/sha256/${d.split(":")[1]}`;
const index = JSON.parse(fs.readFileSync(`${dir}/index.json`));
const manifest = JSON.parse(fs.readFileSync(blob(index.manifests[0].digest)));
for (const l of manifest.layers) console.log(blob(l.digest));
' "$work/oci" | while read -r layer; do tar -xzf "$layer" -C "$rootfs" --same-owner -p; done
mkdir -p "$rootfs/keelson/config" "$rootfs/keelson/catalog" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys"

echo "synthesizing keelson's TrinoCluster"
node -e '
const repo = process.argv[1]; const fs = require("fs");
const { Chart, Testing } = require(`${repo}/node_modules/cdk8s`);
const k = require(`${repo}/build/index.js`);
const chart = new Chart(Testing.app(), "platform", { namespace: "data" });
const tpch = new k.TrinoCatalog(chart, "tpch", { connector: { tpch: {} }, labels: { trino: "trino" } });
const small = { resources: { memory: { limit: "1Gi" } } };
new k.TrinoCluster(chart, "trino", {
  clusterConfig: { catalogLabelSelector: { matchLabels: { trino: "trino" } } },
  catalogs: [tpch], coordinators: { config: small }, workers: { config: small },
});
fs.writeFileSync(process.argv[2], JSON.stringify(Testing.synth(chart)));
' "$repo" "$work/synth.json"

# node <role> <port>: writes the role's files (addresses rewritten) and the commands keelson's pod runs.
prepare() {
  local role=$1 port=$2 dir=$work/$1
  mkdir -p "$dir/config" "$dir/catalog" "$dir/data" "$dir/tmp"
  node -e '
const fs = require("fs"); const [synth, role, port, dir] = process.argv.slice(1);
const objs = JSON.parse(fs.readFileSync(synth));
const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === `trino-${role}-default`);
const local = (t) => t.replaceAll("http://trino-coordinators.data.svc.cluster.local:8080", "http://127.0.0.1:18080")
  .replaceAll("http-server.http.port=8080", `http-server.http.port=${port}`).replaceAll("127.0.0.1:8080", `127.0.0.1:${port}`);
for (const [key, text] of Object.entries(cm.data)) {
  const out = key === "node.properties" ? `${text}node.internal-address=127.0.0.1\n` : text;
  fs.writeFileSync(key.startsWith("catalog.") ? `${dir}/catalog/${key.slice(8)}` : `${dir}/config/${key}`, local(out));
}
const c = objs.find((o) => o.kind === "StatefulSet" && o.metadata.name === `trino-${role}-default`).spec.template.spec.containers[0];
fs.writeFileSync(`${dir}/command`, c.command[2]);
fs.writeFileSync(`${dir}/ready`, local(c.readinessProbe.exec.command[2]));
fs.writeFileSync(`${dir}/prestop`, local(c.lifecycle?.preStop?.exec.command[2] ?? "").replace(/; sleep [0-9]+$/, ""));
' "$work/synth.json" "$role" "$port" "$dir"
  chown -R 10001:10001 "$dir/data" "$dir/tmp"
  chmod -R a+rX,go-w "$dir/config" "$dir/catalog"
}

# in_image <dir> <script>: runs a script in the image as uid 10001 with a read-only root and the
# role's mounts (dir may name a role's folder or a scratch one with only tmp/).
in_image() {
  local dir=$1 script=$2
  unshare -m --propagation private bash -c '
    set -e; rootfs=$1; dir=$2; script=$3
    mount --bind "$rootfs" "$rootfs"
    if [ -d "$dir/config" ]; then
      mount --bind "$dir/config" "$rootfs/keelson/config"
      mount --bind "$dir/catalog" "$rootfs/keelson/catalog"
      mount --bind "$dir/data" "$rootfs/data/trino"
    fi
    mount --bind "$dir/tmp" "$rootfs/tmp"
    mount --rbind /proc "$rootfs/proc"; mount --rbind /dev "$rootfs/dev"; mount --rbind /sys "$rootfs/sys"
    mount -o remount,bind,ro "$rootfs"
    if [ -d "$dir/config" ]; then
      mount -o remount,bind,ro "$rootfs/keelson/config"; mount -o remount,bind,ro "$rootfs/keelson/catalog"
    fi
    exec chroot --userspec=10001:10001 "$rootfs" env -i \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/jvm/temurin-25-jdk-amd64/bin \
      JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 LANG=C.UTF-8 HOME=/tmp POD_NAME="${POD_NAME:-client}" \
      TRINO_INTERNAL_SHARED_SECRET=outside-kubernetes /bin/bash -c "$script"
  ' _ "$rootfs" "$dir" "$script"
}

for role in coordinators workers; do
  port=$([ $role = coordinators ] && echo 18080 || echo 18081)
  prepare $role $port
  POD_NAME=trino-$role-default-0 in_image "$work/$role" "$(cat "$work/$role/command")" > "$work/$role.log" 2>&1 &
  pids+=($!)
done
mkdir -p "$work/client/tmp" && chmod 1777 "$work/client/tmp"

fail() { echo "FAILED: $*"; for r in coordinators workers; do echo "=== $r log (tail)"; tail -n 60 "$work/$r.log"; done; exit 1; }

echo "waiting for keelson's readiness command to pass on both nodes"
for i in $(seq 1 120); do
  if in_image "$work/client" "$(cat "$work/coordinators/ready")" && in_image "$work/client" "$(cat "$work/workers/ready")"; then break; fi
  [ "$i" = 120 ] && fail "not ready after 10 minutes"
  sleep 5
done
cli='trino --server http://127.0.0.1:18080 --user keelson'
for i in $(seq 1 60); do
  nodes=$(in_image "$work/client" "$cli --execute \"SELECT count(*) FROM system.runtime.nodes WHERE state = 'active'\"" 2>/dev/null || true)
  [ "$nodes" = '"2"' ] && break
  [ "$i" = 60 ] && fail "the worker did not join (active nodes: $nodes)"
  sleep 2
done
nation=$(in_image "$work/client" "id -u; $cli --execute 'SELECT count(*) FROM tpch.tiny.nation'" 2>/dev/null)
echo "$nation"
[ "$(echo "$nation" | tail -n 1)" = '"25"' ] || fail "tpch.tiny.nation did not count 25"
[ "$(echo "$nation" | head -n 1)" = 10001 ] || fail "the client did not run as uid 10001"

echo "draining the worker through keelson's preStop command while a query runs"
in_image "$work/client" "$cli --execute 'SELECT count(*) FROM tpch.sf1.lineitem CROSS JOIN tpch.tiny.region'" > "$work/query.out" 2>/dev/null &
query=$!
until curl -sf -H 'X-Trino-User: keelson' http://127.0.0.1:18080/v1/query | grep -q '"state":"RUNNING"'; do sleep 1; done
in_image "$work/client" "$(cat "$work/workers/prestop")" || fail "the preStop command failed"
wait $query || fail "the query failed while the worker drained: $(cat "$work/query.out")"
[ "$(cat "$work/query.out")" = '"30006075"' ] || fail "the query returned $(cat "$work/query.out")"
grep -q 'Shutdown requested' "$work/workers.log" || fail "the worker was not asked to shut down"
for i in $(seq 1 60); do
  kill -0 "${pids[1]}" 2>/dev/null || break
  [ "$i" = 60 ] && fail "the worker did not exit within 5 minutes of draining"
  sleep 5
done
echo "OK: ready as uid 10001 on a read-only root, 25 nations, a query survived the worker's drain, the worker exited"
