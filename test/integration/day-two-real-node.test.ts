/**
 * Day two on the real node: the changes a user makes to a running stacklet, applied as users apply
 * them (re-synth, then server-side apply of every object), with real processes behind them.
 *
 * ZooKeeper (three servers, keelson's images of 3.9.3 and 3.9.4):
 * - 3.9.3 → 3.9.4 rolls the servers one at a time; a znode written before is read through every
 *   server after, the quorum re-forms (`srvr`: one leader, two followers, all 3.9.4), and the data
 *   claims are the same objects (uids) before and after;
 * - a `zoo.cfg` override (`tickTime`) rolls the servers and every server serves the new value
 *   (`conf`);
 * - the ensemble grows 3 → 4 and shrinks 4 → 3 the way its static member list allows: stopped,
 *   changed, started (a rolling change of the members can stop for good or split the ensemble; the
 *   operator refuses it, see zookeeper-membership-operator.test.ts): the quorum re-forms with every
 *   server and the data stays;
 * - stop (`clusterOperation.stopped`) takes the servers to 0 and keeps the claims; start brings
 *   back the servers with the data.
 *
 * Trino (a coordinator and one worker, keelson's images of 470 and 476):
 * - 470 → 476 rolls both; `SELECT count(*) FROM tpch.tiny.nation` is 25 before and after, and
 *   every node reports 476;
 * - a TrinoCatalog added to the program (a `memory` catalog) rolls the pods with the new catalog
 *   file, and a table created in it is read back, with nothing restarted by hand.
 *
 * Every wait polls a condition until a deadline; a failure prints every pod's log.
 */
import { App, Chart, Testing } from 'cdk8s';
import { TrinoCatalog, TrinoCluster } from '../../constructs/trino';
import { trinoImageRecipe } from '../../constructs/trino/image';
import { ZookeeperCluster, zookeeperDistDir } from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import {
  FIRST_TIER_JIT,
  CLIENT_JVM_OPTIONS,
  buildImageOnRealNode,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  statefulSetRolledOut,
} from './real-node-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';

// A cold machine builds the node and the images first; each roll restarts every pod on 2 busy cores.
jest.setTimeout(60 * 60_000);

const { core, apps } = adminClients();
const client = new KubeClient(adminKubeConfig());
const log = (message: string) => process.stdout.write(`day two on the real node: ${message}\n`);
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(0)} s`;

/** Every pod's status and log in `namespace`, and its last events, for a failure's message. */
async function everything(namespace: string): Promise<string> {
  const pods = (await core.listNamespacedPod({ namespace })).items;
  const states = pods.map(
    (p) => `${p.metadata!.name}: ${JSON.stringify(p.status?.containerStatuses ?? p.status?.phase)}`,
  );
  const logs = await podsLogs(
    namespace,
    pods.map((p) => p.metadata!.name!),
  );
  const events = (await core.listNamespacedEvent({ namespace })).items
    .slice(-30)
    .map((e) => `${e.involvedObject.name}: ${e.reason}: ${e.message}`);
  return `=== pods\n${states.join('\n')}\n${logs}\n=== events\n${events.join('\n')}`;
}

/** Runs `step`; a failure gets every pod's log of `namespace` added to its message. */
async function withLogs<T>(namespace: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${await everything(namespace)}`, { cause: error });
  }
}

/** Applies a program's manifests as `kubectl apply --server-side` does; nothing may be refused. */
async function apply(namespace: string, manifests: Manifest[]): Promise<void> {
  expect(await applyAll(client, manifests, namespace)).toEqual([]);
}

/**
 * Runs `script` with bash in a client pod of `image` on the real node (as keelson's pods run); a
 * failure prints every pod's log of `namespace`.
 */
function runClient(
  namespace: string,
  name: string,
  image: string,
  script: string,
  labels: Record<string, string> = {},
): Promise<string> {
  return runClientPod(
    namespace,
    {
      name,
      image,
      command: ['/bin/bash', '-c', script],
      labels,
      env: [{ name: 'JAVA_TOOL_OPTIONS', value: CLIENT_JVM_OPTIONS }],
    },
    () => everything(namespace),
    8 * 60_000,
  );
}

/** Waits until the StatefulSet `name` has rolled out to `replicas` Ready pods; a timeout prints the pods' logs. */
function rolledOut(
  namespace: string,
  name: string,
  replicas: number,
  timeoutMs = 15 * 60_000,
): Promise<void> {
  return withLogs(namespace, () => statefulSetRolledOut(namespace, name, replicas, timeoutMs));
}

describe('ZooKeeper day two on the real node', () => {
  const ns = useTestNamespace('zk-day-two', RESTRICTED);
  const SERVERS = ['zk-servers-default-0', 'zk-servers-default-1', 'zk-servers-default-2'];
  const CLAIMS = SERVERS.map((pod) => `data-${pod}`);
  /** The fourth server's claim, for the scale-up by one. */
  const FOURTH = 'data-zk-servers-default-3';

  interface ZkShape {
    readonly version: string;
    readonly tickTime?: string;
    readonly stopped?: boolean;
    readonly replicas?: number;
  }

  /** The user's program at each step: the same ensemble, re-synthesized with the change. */
  function zookeeper(shape: ZkShape): { manifests: Manifest[]; hosts: string[] } {
    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    const zk = new ZookeeperCluster(chart, 'zk', {
      image: { productVersion: shape.version, pullPolicy: 'Never' },
      clusterOperation: { stopped: shape.stopped ?? false },
      servers: {
        // Small heaps: three servers and a client share the 2-core test machine.
        config: { resources: { memory: { limit: '512Mi' }, cpu: { min: '100m', max: '1' } } },
        configOverrides: shape.tickTime ? { 'zoo.cfg': { tickTime: shape.tickTime } } : {},
        podOverrides: { spec: REAL_NODE_PLACEMENT },
        roleGroups: { default: { replicas: shape.replicas ?? 3 } },
      },
    });
    return { manifests: Testing.synth(chart) as Manifest[], hosts: zk.hosts.split(',') };
  }

  /** The uids of the claims `names` (the StatefulSet makes them; keelson never deletes them). */
  const claimUids = async (names: string[]) =>
    Promise.all(
      names.map(
        async (name) =>
          (await core.readNamespacedPersistentVolumeClaim({ name, namespace: ns.name })).metadata!.uid!,
      ),
    );

  /**
   * A line of client script that runs `command` until a line of its output matches `pattern`
   * (an extended regular expression), for at most 90 s, and prints that line (or nothing). A
   * server that just restarted may not answer yet, or its DNS record may still be the old pod's,
   * whatever its readiness says.
   */
  function retried(pattern: string, command: string): string {
    if (command.includes('"') || pattern.includes("'")) throw new Error(`cannot quote ${command}`);
    return `until_match '${pattern}' "${command}"`;
  }

  /** A four-letter word sent to server `h` (`host:port`). */
  const fourLetters = (word: string, h: string) => `echo ${word} | nc -w 5 ${h.replace(':', ' ')}`;

  /**
   * A client script that waits (until its deadline) for one leader and the other servers as
   * followers, then prints each server's version and what `extra` prints (lines that may use
   * `retried`).
   */
  function quorumScript(hosts: string[], extra: string[]): string {
    return [
      'set -u',
      'until_match() {',
      '  local end=$((SECONDS + 90)) out',
      '  while :; do',
      `    out=$(eval "$2" 2>/dev/null | tr -d '\\r' | grep -m1 -E "$1")`,
      '    if [ -n "$out" ] || [ $SECONDS -gt $end ]; then echo "$out"; return; fi',
      '    sleep 2',
      '  done',
      '}',
      'deadline=$((SECONDS + 300))',
      'while :; do',
      '  modes=""',
      ...hosts.map(
        (h) =>
          `  modes="$modes $(${fourLetters('srvr', h)} 2>/dev/null | tr -d '\\r' | sed -n 's/^Mode: //p')"`,
      ),
      '  leaders=$(echo $modes | tr " " "\\n" | grep -c "^leader$")',
      '  followers=$(echo $modes | tr " " "\\n" | grep -c "^follower$")',
      `  if [ "$leaders" = 1 ] && [ "$followers" = ${hosts.length - 1} ]; then break; fi`,
      '  if [ $SECONDS -gt $deadline ]; then echo "no quorum:$modes"; exit 1; fi',
      '  sleep 2',
      'done',
      'echo "modes:$modes"',
      ...hosts.map(
        (h) =>
          `echo "version ${h}: $(${retried('^Zookeeper version: ', fourLetters('srvr', h))} | sed 's/^Zookeeper version: \\([0-9.]*\\).*/\\1/')"`,
      ),
      ...extra,
    ].join('\n');
  }

  it('upgrades 3.9.3 → 3.9.4 keeping data and claims, applies a config override, stops and starts', async () => {
    await realNode();
    let started = Date.now();
    await buildImageOnRealNode(zookeeperImageRecipe('3.9.3'));
    await buildImageOnRealNode(zookeeperImageRecipe('3.9.4'));
    log(`ZooKeeper images 3.9.3 and 3.9.4 built (or cached) and imported in ${seconds(started)}`);
    const cli = (version: string) =>
      `java ${CLIENT_JVM_OPTIONS} -cp '${zookeeperDistDir(version)}/lib/*:/conf' org.apache.zookeeper.ZooKeeperMain`;
    const image = (version: string) => zookeeperImageRecipe(version).reference;
    const ensemble = 'zk-servers-default';

    // Day one: 3.9.3, and a znode written through server 0.
    started = Date.now();
    let zk = zookeeper({ version: '3.9.3' });
    await apply(ns.name, zk.manifests);
    await rolledOut(ns.name, ensemble, 3);
    log(`3.9.3: three servers Ready ${seconds(started)} after apply`);
    const uids = await claimUids(CLAIMS);
    const before = await runClient(
      ns.name,
      'before',
      image('3.9.3'),
      quorumScript(zk.hosts, [
        `echo "create: $(${retried('^Created|already exists', `${cli('3.9.3')} -server ${zk.hosts[0]} create /day-two written-on-3.9.3 2>&1`)})"`,
        `echo "read: $(${retried('written-on', `${cli('3.9.3')} -server ${zk.hosts[1]} get /day-two`)})"`,
      ]),
    );
    expect(before).toMatch(/^modes:(?=.*leader)(?=(.*follower){2})/m);
    expect(before).toContain('read: written-on-3.9.3');
    for (const host of zk.hosts) expect(before).toContain(`version ${host}: 3.9.3`);
    const podUids = async () =>
      Promise.all(
        SERVERS.map(
          async (name) => (await core.readNamespacedPod({ name, namespace: ns.name })).metadata!.uid!,
        ),
      );
    const day1Pods = await podUids();

    // The upgrade: the same program with 3.9.4. The servers roll one at a time.
    started = Date.now();
    zk = zookeeper({ version: '3.9.4' });
    await apply(ns.name, zk.manifests);
    await rolledOut(ns.name, ensemble, 3);
    log(`3.9.3 → 3.9.4: rolled out ${seconds(started)} after apply`);
    const upgradedPods = await podUids();
    for (const uid of upgradedPods) expect(day1Pods).not.toContain(uid);
    const after = await runClient(
      ns.name,
      'after-upgrade',
      image('3.9.4'),
      quorumScript(zk.hosts, [
        ...zk.hosts.map(
          (h, i) =>
            `echo "read ${i}: $(${retried('written-on', `${cli('3.9.4')} -server ${h} get /day-two`)})"`,
        ),
        `echo "create: $(${retried('^Created|already exists', `${cli('3.9.4')} -server ${zk.hosts[2]} create /day-two-upgraded written-on-3.9.4 2>&1`)})"`,
      ]),
    );
    expect(after).toMatch(/^modes:(?=.*leader)(?=(.*follower){2})/m);
    for (const host of zk.hosts) expect(after).toContain(`version ${host}: 3.9.4`);
    for (const i of [0, 1, 2]) expect(after).toContain(`read ${i}: written-on-3.9.3`);
    expect(await claimUids(CLAIMS)).toEqual(uids);

    // A config override: tickTime 2000 → 3000 rolls the servers; each one serves the new value.
    started = Date.now();
    zk = zookeeper({ version: '3.9.4', tickTime: '3000' });
    await apply(ns.name, zk.manifests);
    await rolledOut(ns.name, ensemble, 3);
    log(`tickTime override: rolled out ${seconds(started)} after apply`);
    const conf = await runClient(
      ns.name,
      'conf',
      image('3.9.4'),
      quorumScript(
        zk.hosts,
        zk.hosts.map((h) => `echo "conf ${h}: $(${retried('^tickTime=', fourLetters('conf', h))})"`),
      ),
    );
    for (const host of zk.hosts) expect(conf).toContain(`conf ${host}: tickTime=3000`);

    /** Waits until the stopped ensemble has no pods left. */
    const serversGone = () =>
      withLogs(ns.name, () =>
        waitFor(
          'every ZooKeeper server to be gone',
          async () =>
            (await core.listNamespacedPod({ namespace: ns.name })).items.filter((p) =>
              p.metadata!.name!.startsWith(ensemble),
            ).length === 0,
          5 * 60_000,
        ),
      );

    // The ensemble grows and shrinks while stopped, so no server with the old member list runs
    // beside the new ones (see the README): the quorum and the data stay.
    for (const replicas of [4, 3]) {
      started = Date.now();
      await apply(
        ns.name,
        zookeeper({ version: '3.9.4', tickTime: '3000', replicas, stopped: true }).manifests,
      );
      await serversGone();
      zk = zookeeper({ version: '3.9.4', tickTime: '3000', replicas });
      await apply(ns.name, zk.manifests);
      await rolledOut(ns.name, ensemble, replicas);
      log(
        `${replicas === 4 ? '3 → 4' : '4 → 3'} servers, stopped and started: Ready ${seconds(started)} after the stop`,
      );
      const scaled = await runClient(
        ns.name,
        `scaled-to-${replicas}`,
        image('3.9.4'),
        quorumScript(zk.hosts, [
          `echo "read: $(${retried('written-on', `${cli('3.9.4')} -server ${zk.hosts[replicas - 1]} get /day-two`)})"`,
        ]),
      );
      expect(scaled).toMatch(new RegExp(`^modes:(?=.*leader)(?=(.*follower){${replicas - 1}})`, 'm'));
      expect(scaled).toContain('read: written-on-3.9.3');
    }
    // The fourth server's claim stays after the scale-down (keelson never deletes data).
    const fourth = await claimUids([FOURTH]);

    // Stop: no servers, the claims stay. Start: the same data is back.
    started = Date.now();
    await apply(ns.name, zookeeper({ version: '3.9.4', tickTime: '3000', stopped: true }).manifests);
    await serversGone();
    expect(
      (await apps.readNamespacedStatefulSet({ name: ensemble, namespace: ns.name })).spec!.replicas,
    ).toBe(0);
    expect(await claimUids(CLAIMS)).toEqual(uids);
    log(`stop: every server gone ${seconds(started)} after apply`);
    started = Date.now();
    zk = zookeeper({ version: '3.9.4', tickTime: '3000' });
    await apply(ns.name, zk.manifests);
    await rolledOut(ns.name, ensemble, 3);
    log(`start: three servers Ready ${seconds(started)} after apply`);
    const restarted = await runClient(
      ns.name,
      'after-start',
      image('3.9.4'),
      quorumScript(zk.hosts, [
        `echo "read: $(${retried('written-on', `${cli('3.9.4')} -server ${zk.hosts[1]} get /day-two`)})"`,
        `echo "read: $(${retried('written-on', `${cli('3.9.4')} -server ${zk.hosts[0]} get /day-two-upgraded`)})"`,
      ]),
    );
    expect(restarted).toMatch(/^modes:(?=.*leader)(?=(.*follower){2})/m);
    expect(restarted).toContain('read: written-on-3.9.3');
    expect(restarted).toContain('read: written-on-3.9.4');
    expect(await claimUids(CLAIMS)).toEqual(uids);
    expect(await claimUids([FOURTH])).toEqual(fourth);
  });
});

describe('Trino day two on the real node', () => {
  const ns = useTestNamespace('trino-day-two', RESTRICTED);

  /** The user's program at each step: a coordinator and one worker, small, on the real node. */
  function trino(version: string, withScratch: boolean): Manifest[] {
    const chart = new Chart(new App(), 'trino-day-two', { namespace: ns.name });
    const labels = { trino: 'trino' };
    const catalogs = [new TrinoCatalog(chart, 'tpch', { connector: { tpch: {} }, labels })];
    if (withScratch) {
      catalogs.push(
        new TrinoCatalog(chart, 'scratch', { connector: { generic: { connectorName: 'memory' } }, labels }),
      );
    }
    const small = { resources: { cpu: { min: '200m', max: '2' }, memory: { limit: '1536Mi' } } };
    const placement = { podOverrides: { spec: REAL_NODE_PLACEMENT } };
    const cluster = new TrinoCluster(chart, 'trino', {
      image: { productVersion: version, pullPolicy: 'Never' },
      clusterConfig: { catalogLabelSelector: { matchLabels: labels } },
      catalogs,
      coordinators: { config: small, ...placement, ...FIRST_TIER_JIT },
      // A worker's drain waits twice its shutdown grace period, a quarter of this (at most 30 s):
      // 5 s here, where no query runs during a roll (trino-real-node proves the drain).
      workers: {
        config: { ...small, gracefulShutdownTimeout: '20s' },
        roleGroups: { default: { replicas: 1 } },
        ...placement,
        ...FIRST_TIER_JIT,
      },
    });
    cluster.addAllowedClient({ podSelector: { matchLabels: { app: 'trino-client' } } });
    return chart.toJson() as Manifest[];
  }

  const server = () => `http://trino-coordinators.${ns.name}.svc.cluster.local:8080`;

  /**
   * A client script (Trino 476's CLI; a newer CLI talks to older servers) that waits until both
   * nodes are active on `version` — the coordinator is Ready before the worker has announced
   * itself — and then runs `queries`.
   */
  function queryScript(version: string, queries: string[]): string {
    const cli = `trino --server ${server()} --user keelson`;
    const nodes = `SELECT count(*) FROM system.runtime.nodes WHERE state = 'active' AND node_version = '${version}'`;
    return [
      'deadline=$((SECONDS + 300))',
      `until [ "$(${cli} --execute "${nodes}" 2>/dev/null)" = '"2"' ]; do`,
      '  if [ $SECONDS -gt $deadline ]; then echo "nodes not active"; ' +
        `${cli} --execute "SELECT * FROM system.runtime.nodes"; exit 1; fi`,
      '  sleep 2',
      'done',
      `echo "nodes=2 on ${version}"`,
      ...queries.map((q) => `echo "$(${cli} --execute "${q}" 2>&1 | grep -v WARNING)"`),
    ].join('\n');
  }

  it('upgrades 470 → 476 and serves a catalog added to the program', async () => {
    await realNode();
    let started = Date.now();
    await buildImageOnRealNode(trinoImageRecipe('470'));
    await buildImageOnRealNode(trinoImageRecipe('476'));
    log(`Trino images 470 and 476 built (or cached) and imported in ${seconds(started)}`);
    const clientImage = trinoImageRecipe('476').reference;
    const coordinators = 'trino-coordinators-default';
    const workers = 'trino-workers-default';
    await core.createNamespacedSecret({
      namespace: ns.name,
      body: {
        metadata: { name: 'trino-internal-secret' },
        stringData: { internalSharedSecret: 'day-two-secret' },
      },
    });
    const nations = 'SELECT count(*) FROM tpch.tiny.nation';
    const query = (name: string, script: string) =>
      runClient(ns.name, name, clientImage, script, { app: 'trino-client' });

    started = Date.now();
    await apply(ns.name, trino('470', false));
    await rolledOut(ns.name, coordinators, 1);
    await rolledOut(ns.name, workers, 1);
    log(`470: coordinator and worker Ready ${seconds(started)} after apply`);
    const before = await query('on-470', queryScript('470', [nations]));
    expect(before).toContain('nodes=2 on 470');
    expect(before).toContain('"25"');

    started = Date.now();
    await apply(ns.name, trino('476', false));
    await rolledOut(ns.name, coordinators, 1);
    await rolledOut(ns.name, workers, 1);
    log(`470 → 476: rolled out ${seconds(started)} after apply`);
    const after = await query('on-476', queryScript('476', [nations]));
    expect(after).toContain('nodes=2 on 476');
    expect(after).toContain('"25"');

    // A catalog added to the program: the pods roll with its file, and it serves.
    started = Date.now();
    const coordinatorBefore = (
      await core.readNamespacedPod({ name: `${coordinators}-0`, namespace: ns.name })
    ).metadata!.uid;
    await apply(ns.name, trino('476', true));
    await withLogs(ns.name, () =>
      waitFor('the coordinator to be replaced', async () => {
        const pod = await core
          .readNamespacedPod({ name: `${coordinators}-0`, namespace: ns.name })
          .catch(() => undefined);
        return pod !== undefined && pod.metadata!.uid !== coordinatorBefore;
      }),
    );
    await rolledOut(ns.name, coordinators, 1);
    await rolledOut(ns.name, workers, 1);
    log(`a catalog added: rolled out ${seconds(started)} after apply`);
    const scratch = await query(
      'scratch',
      queryScript('476', [
        'SHOW CATALOGS',
        'CREATE TABLE scratch.default.nation AS SELECT * FROM tpch.tiny.nation',
        'SELECT count(*) FROM scratch.default.nation',
      ]),
    );
    expect(scratch).toContain('"scratch"');
    expect(scratch).toContain('CREATE TABLE: 25 rows');
    expect(scratch).toMatch(/^"25"$/m);
  });
});
