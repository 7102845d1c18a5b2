/**
 * ZooKeeper from keelson's manifests on the real node, with keelson's own build of
 * `docker.io/library/zookeeper:3.9.4` imported into the node's containerd, in a namespace enforcing
 * the restricted Pod Security profile:
 * - three servers reach quorum (`srvr`: one leader, two followers) and become Ready by keelson's probe;
 * - a znode written through one server is read through another, and a ZookeeperZnode's chroot
 *   works for a client (a pod running the image's jars: `java -cp … ZooKeeperMain`);
 * - the metrics port serves Prometheus text;
 * - the servers run as uid 10001 with a read-only root filesystem.
 * Each failure prints the servers' logs.
 */
import { Chart, Testing } from 'cdk8s';
import { ZookeeperCluster, ZookeeperZnode, zookeeperDistDir } from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import {
  buildImageOnRealNode,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  waitPodsReady,
} from './real-node-support';
import { startPrometheus } from './prometheus-support';
import { adminClients, adminKubeConfig, useTestNamespace } from './support';

jest.setTimeout(30 * 60_000);

const VERSION = '3.9.4';
const SERVERS = ['zk-servers-default-0', 'zk-servers-default-1', 'zk-servers-default-2'];

describe('ZooKeeper on the real node', () => {
  const ns = useTestNamespace('zk-real', RESTRICTED);
  const { core } = adminClients();
  const client = new KubeClient(adminKubeConfig());

  it('forms a quorum from keelson manifests, serves reads of writes across servers, a chroot and metrics', async () => {
    await realNode();
    const started = Date.now();
    await buildImageOnRealNode(zookeeperImageRecipe(VERSION));
    const imported = Date.now();

    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    const zk = new ZookeeperCluster(chart, 'zk', {
      image: { productVersion: VERSION, pullPolicy: 'Never' },
      servers: {
        // Small heaps: three servers and a client share the 2-core test machine.
        config: { resources: { memory: { limit: '512Mi' }, cpu: { min: '100m', max: '1' } } },
        podOverrides: { spec: REAL_NODE_PLACEMENT },
      },
    });
    const znode = new ZookeeperZnode(chart, 'znode', { zookeeper: zk });
    expect(await applyAll(client, Testing.synth(chart) as Manifest[], ns.name)).toEqual([]);

    await waitPodsReady(ns.name, SERVERS);
    const ready = Date.now();
    process.stdout.write(
      `zookeeper on the real node: image ${((imported - started) / 1000).toFixed(1)} s (build or cache, import), ` +
        `three servers Ready ${((ready - imported) / 1000).toFixed(1)} s after apply\n`,
    );

    for (const name of SERVERS) {
      const pod = await core.readNamespacedPod({ name, namespace: ns.name });
      expect(pod.spec?.securityContext).toMatchObject({
        runAsUser: 10001,
        runAsGroup: 10001,
        runAsNonRoot: true,
      });
      for (const c of pod.spec?.containers ?? []) {
        expect(c.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
        });
      }
    }

    const hosts = zk.hosts.split(',');
    const chroot = znode.path;
    const cli = `java -Xmx128m -cp '${zookeeperDistDir(VERSION)}/lib/*:/conf' org.apache.zookeeper.ZooKeeperMain`;
    const [metricsHost] = hosts[0].split(':');
    // Ready servers are in a quorum, but a client may resolve a just-Ready server's name before
    // the DNS record is published: each server gets two minutes to answer with its mode.
    const srvr = (host: string, port: string) =>
      `for i in $(seq 60); do mode=$(echo srvr | nc -w 5 ${host} ${port} | grep '^Mode:' || true); ` +
      `[ -n "$mode" ] && break; sleep 2; done; echo "srvr $mode"`;
    const script = [
      'set -eu',
      ...hosts.map((h) => {
        const [host, port] = h.split(':');
        return srvr(host, port);
      }),
      `${cli} -server ${hosts[0]} create /keelson-real-node written-through-0 2>&1 | grep -v ' INFO ' || true`,
      `echo "read: $(${cli} -server ${hosts[1]} get /keelson-real-node 2>/dev/null | grep written-through || true)"`,
      `${cli} -server ${hosts[0]} create ${chroot} '' 2>&1 | grep -v ' INFO ' || true`,
      `${cli} -server ${hosts[2]}${chroot} create /inside chrooted 2>&1 | grep -v ' INFO ' || true`,
      `echo "chroot: $(${cli} -server ${hosts[1]} get ${chroot}/inside 2>/dev/null | grep chrooted || true)"`,
      `exec 3<>/dev/tcp/${metricsHost}/7000`,
      `printf 'GET /metrics HTTP/1.0\\r\\nHost: ${metricsHost}\\r\\n\\r\\n' >&3`,
      "cat <&3 | grep -E '^# TYPE|^HTTP/' | head -5 | sed 's/^/metrics: /'",
    ].join('\n');
    // A Prometheus finds every server through keelson's scrape job and sees the znodes the client adds.
    const prometheus = await startPrometheus(await realNode(), ns.name);
    const znodes = `max(znode_count{namespace="${ns.name}", product="zookeeper"})`;
    let before = 0;
    try {
      await prometheus.waitForValue(
        'all three servers scraped',
        `count(up{namespace="${ns.name}", role="servers"} == 1)`,
        (v) => v === 3,
      );
      before = await prometheus.waitForValue('znode_count', znodes);
    } catch (error) {
      await prometheus.stop();
      throw error;
    }
    const output = await runClientPod(
      ns.name,
      {
        name: 'client',
        image: zookeeperImageRecipe(VERSION).reference,
        command: ['/bin/bash', '-c', script],
        memory: '512Mi',
      },
      () => podsLogs(ns.name, SERVERS),
    );
    const modes = output
      .split('\n')
      .filter((l) => l.startsWith('srvr '))
      .map((l) => l.replace('srvr Mode: ', ''))
      .sort();
    expect({ modes, output }).toMatchObject({ modes: ['follower', 'follower', 'leader'] });
    expect(output).toContain('read: written-through-0');
    expect(output).toContain('chroot: chrooted');
    expect(output).toMatch(/metrics: HTTP\/1\.[01] 200/);
    expect(output).toMatch(/metrics: # TYPE \w+ (gauge|counter|summary)/);
    try {
      // The client created three znodes (one, the chroot, one inside it).
      expect(
        await prometheus.waitForValue('znode_count to grow by 3', znodes, (v) => v >= before + 3),
      ).toBeGreaterThanOrEqual(before + 3);
    } finally {
      await prometheus.stop();
    }
  });
});
