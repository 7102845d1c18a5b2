/**
 * Restarts before certificate expiry through the operator on the real node
 * (lib/operator/certificate-restarts.ts). Pod certificates live at least an hour, so the test does
 * not wait for one to age: the operator runs in this process (its own ServiceAccount and RBAC, as
 * everywhere) with a clock the test moves to the moment the servers' certificates are due. Proven:
 * - a ZooKeeper ensemble of three with internal (quorum) TLS, which ZooKeeper does not reload, is
 *   rolled by evictions one server at a time: never more than one server missing or not Ready, the
 *   PodDisruptionBudget of one in place, each server replaced once, the operator writing only
 *   evictions (no pod deletes) and a `CertificateRestart` Event per server;
 * - each new server has a certificate issued after the roll began;
 * - a client session opened before the roll keeps writing and reading through it;
 * - a ZooKeeper with server TLS only (its client port reloads renewed files), whose certificate is
 *   as old, is left running.
 * Failures print the servers', the client's and the operator's logs.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import pino from 'pino';
import { PRODUCTS } from '../../apps/keelson';
import { zookeeperDistDir } from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { tlsSignerName, TLS_CLASS_LABEL } from '../../lib';
import { restartAt } from '../../lib/operator/certificate-restarts';
import { KubeClient } from '../../lib/operator/client';
import type { KubeObject } from '../../lib/operator/informer';
import { createLogger } from '../../lib/operator/logger';
import { Operator } from '../../lib/operator/operator';
import { CLOCK_SKEW_SECONDS } from '../../lib/tls/certificates';
import { createTestNamespace } from '../controlplane/cluster';
import { installCrds, RESTRICTED } from './admission';
import { operatorIdentity, removeOperatorIdentity, tail, writesByResource } from './operator-support';
import {
  buildImageOnRealNode,
  clientPod,
  execInPod,
  isReady,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
} from './real-node-support';
import { adminClients, adminKubeConfig, uniqueName, waitFor } from './support';

jest.setTimeout(30 * 60_000);

const VERSION = '3.9.4';
const ZK = '/apis/keelson.dev/v1alpha1';
const SERVERS = [0, 1, 2].map((i) => `zk-servers-default-${i}`);
const RELOADING = 'zkreload-servers-default-0';

type Condition = { type: string; status: string };
type Request = {
  metadata: { creationTimestamp: string };
  spec: { podName: string; podUID: string; signerName: string };
  status?: { notBefore?: string; notAfter?: string; certificateChain?: string };
};

describe('certificate restarts through the operator on the real node', () => {
  const kc = adminKubeConfig();
  const { core } = adminClients();
  const client = new KubeClient(kc);
  const className = uniqueName('roll-tls');
  const logFile = path.join(os.tmpdir(), `keelson-operator-${className}.log`);
  let operatorNamespace = '';
  let namespace = '';
  let operator: Operator | undefined;
  /** The operator's clock: the system's until the test moves it. */
  let frozenAt: Date | undefined;

  beforeAll(async () => {
    await realNode();
    await installCrds(PRODUCTS, kc);
    operatorNamespace = await createTestNamespace(kc, uniqueName('roll-op'));
    namespace = await createTestNamespace(kc, uniqueName('roll-e2e'), RESTRICTED);
    const access = new k8s.KubeConfig();
    access.loadFromFile(await operatorIdentity(operatorNamespace, kc, PRODUCTS, [namespace]));
    operator = new Operator({
      products: PRODUCTS,
      access,
      log: createLogger('debug', pino.destination({ dest: logFile, sync: true })),
      namespaces: [namespace],
      operatorNamespace,
      clock: () => frozenAt ?? new Date(),
    });
    await operator.start();
  });

  afterAll(async () => {
    await operator?.stop();
    for (const name of ['zk', 'zkreload'])
      await client.request('delete', 'DELETE', zkPath(name), 'zookeeperclusters').catch(() => undefined);
    await client
      .request('delete', 'DELETE', `${ZK}/tlsclasses/${className}`, 'tlsclasses')
      .catch(() => undefined);
    if (operatorNamespace) await removeOperatorIdentity(operatorNamespace, kc);
    for (const name of [namespace, operatorNamespace].filter(Boolean))
      await core.deleteNamespace({ name }).catch(() => undefined);
  });

  const zkPath = (name = '') => `${ZK}/namespaces/${namespace}/zookeeperclusters${name ? `/${name}` : ''}`;
  const logs = async () =>
    `${await podsLogs(namespace, [...SERVERS, RELOADING, 'client'])}\n--- operator\n${tail(logFile, 80)}`;
  const fail = async (message: string) => new Error(`${message}\n${await logs()}`);

  const createZookeeper = (name: string, replicas: number, internalTlsClass: string | undefined) =>
    client.request('create', 'POST', zkPath(), 'zookeeperclusters', {
      body: {
        apiVersion: 'keelson.dev/v1alpha1',
        kind: 'ZookeeperCluster',
        metadata: { name },
        spec: {
          image: { productVersion: VERSION, pullPolicy: 'Never' },
          // Unnamed, a use takes the class `tls`, which this cluster does not have: that use is off.
          clusterConfig: { tls: { serverTlsClass: className, internalTlsClass } },
          servers: {
            config: { resources: { memory: { limit: '512Mi' }, cpu: { min: '100m', max: '1' } } },
            podOverrides: { spec: REAL_NODE_PLACEMENT },
            roleGroups: { default: { replicas } },
          },
        },
      },
    });

  const available = async (name: string) => {
    const zk = await client.request<KubeObject>('get', 'GET', zkPath(name), 'zookeeperclusters');
    const conditions = (zk.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
    return conditions.some((c) => c.type === 'Available' && c.status === 'True');
  };

  const listPods = async () =>
    (await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/name=zookeeper' })).items;

  const requests = async () =>
    (
      await client.request<{ items: Request[] }>(
        'list',
        'GET',
        `/apis/certificates.k8s.io/v1beta1/namespaces/${namespace}/podcertificaterequests`,
        'podcertificaterequests',
      )
    ).items.filter((r) => r.spec.signerName === tlsSignerName(className) && r.status?.certificateChain);

  it('rolls the servers of a quorum that does not reload, one eviction at a time, and leaves a reloading one running', async () => {
    await buildImageOnRealNode(zookeeperImageRecipe(VERSION));
    await client.request('create', 'POST', `${ZK}/tlsclasses`, 'tlsclasses', {
      body: {
        apiVersion: 'keelson.dev/v1alpha1',
        kind: 'TlsClass',
        metadata: { name: className },
        spec: { keelsonCa: { certificateLifetime: '1h' } },
      },
    });
    await createZookeeper('zk', 3, className);
    // Server TLS only: the default class `tls` must be absent for internal TLS to be off.
    const defaultClass = await client
      .request('get', 'GET', `${ZK}/tlsclasses/tls`, 'tlsclasses')
      .then(() => true)
      .catch(() => false);
    if (defaultClass) throw new Error('a TlsClass "tls" exists; this test needs a cluster without one');
    await createZookeeper('zkreload', 1, undefined);
    const created = Date.now();
    try {
      await waitFor(
        'both ZookeeperClusters to be Available',
        async () => (await available('zk')) && (await available('zkreload')),
        10 * 60_000,
      );
    } catch (error) {
      throw await fail((error as Error).message);
    }
    const up = Date.now();
    process.stdout.write(
      `certificate restarts: both stacklets Available ${((up - created) / 1000).toFixed(0)} s after apply\n`,
    );

    // The PodDisruptionBudget the roll has to respect: one server of three at most.
    const pdbs = await kc
      .makeApiClient(k8s.PolicyV1Api)
      .listNamespacedPodDisruptionBudget({ namespace, labelSelector: 'app.kubernetes.io/instance=zk' });
    expect(pdbs.items.map((p) => p.spec?.maxUnavailable)).toEqual([1]);

    // A client session through the roll: it sets and gets a znode every second until told to stop.
    const trust = {
      name: 'trust',
      projected: {
        sources: [
          {
            clusterTrustBundle: {
              signerName: tlsSignerName(className),
              labelSelector: { matchLabels: { [TLS_CLASS_LABEL]: className } },
              path: 'ca.crt',
            },
          },
        ],
      },
    };
    const body = clientPod({
      name: 'client',
      image: zookeeperImageRecipe(VERSION).reference,
      command: ['/bin/bash', '-c', 'sleep 3600'],
      memory: '256Mi',
      volumes: [{ volume: trust, mountPath: '/trust' }],
    });
    body.spec!.terminationGracePeriodSeconds = 0;
    await core.createNamespacedPod({ namespace, body });
    await waitFor(
      'the client pod to run',
      async () => (await core.readNamespacedPod({ namespace, name: 'client' })).status?.phase === 'Running',
    );
    const hosts = SERVERS.map(
      (pod) => `${pod}.zk-servers-default-headless.${namespace}.svc.cluster.local:2181`,
    ).join(',');
    const session = [
      '(echo "create /keelson-roll 0"; i=0; while [ ! -e /tmp/stop ]; do i=$((i+1)); ',
      'echo "set /keelson-roll $i"; echo "get /keelson-roll"; sleep 1; done; echo "set /keelson-roll last"; ',
      'echo "get /keelson-roll"; sleep 2; echo quit) | ',
      'java -Xmx96m -Dzookeeper.client.secure=true ',
      '-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty ',
      '-Dzookeeper.ssl.trustStore.location=/trust/ca.crt -Dzookeeper.ssl.trustStore.type=PEM ',
      `-cp '${zookeeperDistDir(VERSION)}/lib/*:/conf' org.apache.zookeeper.ZooKeeperMain -server ${hosts} `,
      '> /tmp/session.log 2>&1',
    ].join('');
    await execInPod(
      namespace,
      'client',
      `nohup bash -c '${session.replace(/'/g, `'"'"'`)}' >/dev/null 2>&1 &`,
    );
    await waitFor('the client session to read its znode', async () =>
      /^\d+$/m.test(await execInPod(namespace, 'client', 'cat /tmp/session.log')),
    );

    // Move the operator's clock to when the last server's certificate is due: every server is.
    const before = await listPods();
    const uids = new Map(before.map((p) => [p.metadata!.name!, p.metadata!.uid!]));
    const issued = await requests();
    const loaded = (pod: string) =>
      issued
        .filter((r) => r.spec.podUID === uids.get(pod))
        .map((r) => ({
          notBefore: new Date(r.status!.notBefore!),
          notAfter: new Date(r.status!.notAfter!),
        }));
    for (const pod of [...SERVERS, RELOADING])
      expect({ pod, certificates: loaded(pod).length > 0 }).toEqual({ pod, certificates: true });
    const due = Math.max(
      ...[...SERVERS, RELOADING].flatMap((pod) => loaded(pod).map((c) => restartAt(c).getTime())),
    );
    const writesBefore = writesByResource(await operator!.metrics.registry.metrics());
    const rollBegan = Date.now();
    frozenAt = new Date(due + 1000);
    // The operator looks again when a pod changes; the clock moving is no event, so nudge it the
    // way a resync would: a label on the stacklet.
    await client.request('patch', 'PATCH', zkPath('zk'), 'zookeeperclusters', {
      body: { metadata: { labels: { 'keelson.dev/test-clock': String(frozenAt.getTime()) } } },
      contentType: 'application/merge-patch+json',
    });

    // Watch the roll: at most one server missing or not Ready at any time.
    let worst = 0;
    let replaced: string[] = [];
    try {
      await waitFor(
        'every server to be replaced and Ready',
        async () => {
          const pods = (await listPods()).filter((p) => SERVERS.includes(p.metadata!.name!));
          const down =
            SERVERS.length - pods.filter((p) => isReady(p) && !p.metadata!.deletionTimestamp).length;
          worst = Math.max(worst, down);
          replaced = pods
            .filter((p) => p.metadata!.uid !== uids.get(p.metadata!.name!))
            .map((p) => p.metadata!.name!);
          return down === 0 && replaced.length === SERVERS.length;
        },
        10 * 60_000,
      );
    } catch (error) {
      throw await fail(`${(error as Error).message}; replaced: ${replaced}`);
    }
    const rolled = Date.now();
    process.stdout.write(
      `certificate restarts: three servers rolled in ${((rolled - rollBegan) / 1000).toFixed(0)} s, at most ${worst} down at once\n`,
    );
    expect(worst).toBe(1);

    // The operator evicted (three times) and deleted no pod itself.
    const written = writesByResource(await operator!.metrics.registry.metrics());
    const since = (key: string) => (written[key] ?? 0) - (writesBefore[key] ?? 0);
    expect({ evictions: since('create pods/eviction'), deletes: since('delete pods') }).toEqual({
      evictions: 3,
      deletes: 0,
    });

    // Each new server started with a certificate issued after the roll began (the signer dates
    // notBefore back by its clock skew allowance).
    const after = await listPods();
    const newUids = new Map(after.map((p) => [p.metadata!.name!, p.metadata!.uid!]));
    const fresh = await requests();
    for (const pod of SERVERS) {
      const ofPod = fresh.filter((r) => r.spec.podUID === newUids.get(pod));
      const notBefore = Math.min(...ofPod.map((r) => Date.parse(r.status!.notBefore!)));
      expect({
        pod,
        issuedAfterRollBegan: notBefore + CLOCK_SKEW_SECONDS * 1000 >= rollBegan - 1000,
      }).toEqual({
        pod,
        issuedAfterRollBegan: true,
      });
    }

    // The server whose product reloads kept running (same pod), its certificate just as old.
    expect(newUids.get(RELOADING)).toBe(uids.get(RELOADING));

    // Why, in Events on the stacklet and on each pod.
    const events = (await core.listNamespacedEvent({ namespace })).items.filter(
      (e) => e.reason === 'CertificateRestart',
    );
    const on = (kind: string) =>
      events
        .filter((e) => e.involvedObject.kind === kind)
        .map((e) => e.involvedObject.name)
        .sort();
    expect(on('ZookeeperCluster')).toEqual(['zk', 'zk', 'zk']);
    expect(on('Pod')).toEqual(SERVERS);
    expect(events[0].message).toMatch(/does not reload certificate files/);

    // The client session wrote and read through the roll, and still does.
    await execInPod(namespace, 'client', 'touch /tmp/stop');
    let log = '';
    await waitFor('the client session to end', async () => {
      log = await execInPod(namespace, 'client', 'cat /tmp/session.log');
      return /^last$/m.test(log) || /state:Expired/.test(log);
    });
    const reads = log.split('\n').filter((l) => /^\d+$/.test(l)).length;
    const lost = (log.match(/ConnectionLoss/g) ?? []).length;
    process.stdout.write(
      `certificate restarts: the client read ${reads} times, ${lost} operations lost the connection\n`,
    );
    // ZooKeeperMain prints every state change of its session (`WatchedEvent state:…`); a session
    // that expired would have lost its ephemeral state and watches.
    if (!/^last$/m.test(log) || /state:Expired/.test(log))
      throw await fail(`the client session did not survive the roll:\n${log.slice(-3000)}`);
    expect(reads).toBeGreaterThan(10);
  });
});
