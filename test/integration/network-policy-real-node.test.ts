/**
 * keelson's default NetworkPolicy, enforced: a one-server ZooKeeper from keelson's manifests runs on
 * the real node, whose NetworkPolicy controller (kube-router's firewall, test/controlplane/real-node.ts)
 * filters the pods' traffic as a policy-enforcing CNI does, and client pods in three namespaces try
 * its client port (2181, a `srvr` that answers `Mode: standalone`) and its metrics port (7000):
 * - a pod of ZooKeeper's own namespace connects (allowSameNamespace, the default);
 * - a pod of another namespace is blocked, and connects once declared with `addAllowedClient()`
 *   (so the block was the policy's doing, not the network's);
 * - a Kafka stacklet in a third namespace that refers to the ZooKeeper is admitted: a pod there
 *   with the Kafka's pod labels connects, a pod there without them is blocked;
 * - the metrics port answers a pod of any namespace;
 * - with `allowSameNamespace: false` (and `clusterConfig.networkPolicy.allowedClients`), the
 *   same-namespace pod that connected before is blocked, the declared client still connects.
 * Policies take effect asynchronously (the controller syncs on events), so each check polls until
 * the expected outcome, then holds it twice more; a failure prints the controller's and ZooKeeper's
 * logs and the node's filter rules.
 */
import { Chart, Testing } from 'cdk8s';
import { KafkaCluster } from '../../constructs/kafka';
import { ZookeeperCluster } from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { KubeClient } from '../../lib/operator/client';
import type { NetworkPolicySpec } from '../../lib/spec/spec.generated';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import {
  execInPod,
  buildImageOnRealNode,
  networkPolicyState,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  startShellPod,
  waitPodsReady,
} from './real-node-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';

jest.setTimeout(30 * 60_000);

const VERSION = '3.9.4';
const SERVER = 'zk-servers-default-0';
const CLIENT_PORT = 2181;
const METRICS_PORT = 7000;
/** How long a connection attempt may take before it counts as blocked. */
const CONNECT_SECONDS = 3;

describe('the default NetworkPolicy, enforced on the real node', () => {
  const zkNs = useTestNamespace('np-zk', RESTRICTED);
  const otherNs = useTestNamespace('np-other', RESTRICTED);
  const kafkaNs = useTestNamespace('np-kafka', RESTRICTED);
  const { core } = adminClients();
  const client = new KubeClient(adminKubeConfig());

  /**
   * keelson's objects for the ZooKeeper, with a Kafka in another namespace referring to it (synth
   * only: its reference is what adds the ZooKeeper's policy rule; its pods are played by a client
   * pod with its labels). `configure` declares clients on the ZooKeeper.
   */
  function platform(
    networkPolicy: NetworkPolicySpec | undefined,
    configure: (zk: ZookeeperCluster) => void = () => undefined,
  ) {
    const app = Testing.app();
    const zkChart = new Chart(app, 'zk', { namespace: zkNs.name });
    const zk = new ZookeeperCluster(zkChart, 'zk', {
      image: { productVersion: VERSION, pullPolicy: 'Never' },
      clusterConfig: { networkPolicy },
      servers: {
        config: { resources: { memory: { limit: '512Mi' }, cpu: { min: '100m', max: '1' } } },
        podOverrides: { spec: REAL_NODE_PLACEMENT },
        roleGroups: { default: { replicas: 1 } },
      },
    });
    configure(zk);
    const kafkaChart = new Chart(app, 'kafka', { namespace: kafkaNs.name });
    const kafka = new KafkaCluster(kafkaChart, 'kafka', {
      image: { productVersion: '3.9.1' },
      zookeeper: zk,
    });
    const manifests = Testing.synth(zkChart) as (Manifest & { spec?: unknown })[];
    return { manifests, kafkaPodLabels: { ...kafka.podSelectorLabels } };
  }

  /** Applies only the NetworkPolicy of `manifests` (the pods stay as they are). */
  async function applyPolicy(manifests: (Manifest & { spec?: unknown })[]) {
    const policies = manifests.filter((m) => m.kind === 'NetworkPolicy');
    expect(policies).toHaveLength(1);
    expect(await applyAll(client, policies, zkNs.name)).toEqual([]);
  }

  async function diagnostics(): Promise<string> {
    return (
      `--- ZooKeeper ${SERVER} (last lines):\n${lastLines(await podsLogs(zkNs.name, [SERVER]))}\n` +
      (await networkPolicyState())
    );
  }

  /** Whether `pod` (namespace/name) reaches the ZooKeeper server's `port` now. */
  async function reaches(pod: [string, string], serverIp: string, port: number): Promise<boolean> {
    const script =
      port === CLIENT_PORT
        ? `echo srvr | nc -w ${CONNECT_SECONDS} ${serverIp} ${port} 2>&1 | grep -q '^Mode: standalone' && echo reached || echo blocked`
        : // busybox's own HTTP client: a request over nc (busybox's wget segfaults in this image).
          `printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' | nc -w ${CONNECT_SECONDS} ${serverIp} ${port} 2>&1 | grep -q '^# TYPE' && echo reached || echo blocked`;
    return (await execInPod(pod[0], pod[1], script)).trim() === 'reached';
  }

  /** Polls until `pod` reaches (or is blocked from) the port, then checks it holds twice more. */
  async function expectReach(pod: [string, string], serverIp: string, port: number, reach: boolean) {
    const what = `${pod.join('/')} to be ${reach ? 'admitted to' : 'blocked from'} port ${port}`;
    try {
      await waitFor(what, async () => (await reaches(pod, serverIp, port)) === reach, 3 * 60_000);
      for (let i = 0; i < 2; i++)
        expect({ what, reach: await reaches(pod, serverIp, port) }).toEqual({ what, reach });
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await diagnostics()}`, { cause: error });
    }
  }

  it('admits the same namespace, declared clients, a referring stacklet and metrics scrapers, and blocks the rest', async () => {
    await realNode();
    await buildImageOnRealNode(zookeeperImageRecipe(VERSION));

    const initial = platform(undefined);
    expect(await applyAll(client, initial.manifests, zkNs.name)).toEqual([]);
    // Readiness (keelson's probe from the kubelet) goes through the filter too: the node is admitted.
    await waitPodsReady(zkNs.name, [SERVER], 10 * 60_000, diagnostics);
    const serverIp = (await core.readNamespacedPod({ name: SERVER, namespace: zkNs.name })).status!.podIP!;

    const neighbour: [string, string] = [zkNs.name, 'neighbour'];
    const outsider: [string, string] = [otherNs.name, 'outsider'];
    const broker: [string, string] = [kafkaNs.name, 'kafka-broker'];
    const stranger: [string, string] = [kafkaNs.name, 'stranger'];
    await Promise.all([
      startShellPod(zkNs.name, 'neighbour', { app: 'neighbour' }),
      startShellPod(otherNs.name, 'outsider', { app: 'outsider' }),
      startShellPod(kafkaNs.name, 'kafka-broker', initial.kafkaPodLabels),
      startShellPod(kafkaNs.name, 'stranger', { app: 'stranger' }),
    ]);

    // The same namespace is admitted by default; another namespace is not: enforcement is on.
    await expectReach(neighbour, serverIp, CLIENT_PORT, true);
    await expectReach(outsider, serverIp, CLIENT_PORT, false);
    // The referring Kafka's pods are admitted across namespaces; other pods of its namespace are not.
    await expectReach(broker, serverIp, CLIENT_PORT, true);
    await expectReach(stranger, serverIp, CLIENT_PORT, false);
    // Metrics answer every namespace.
    await expectReach(outsider, serverIp, METRICS_PORT, true);
    await expectReach(stranger, serverIp, METRICS_PORT, true);

    // Declared with addAllowedClient(), the outsider that was blocked connects: the block was the policy's.
    const outsiderPeer = {
      podSelector: { matchLabels: { app: 'outsider' } },
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': otherNs.name } },
    };
    await applyPolicy(platform(undefined, (zk) => zk.addAllowedClient(outsiderPeer)).manifests);
    await expectReach(outsider, serverIp, CLIENT_PORT, true);
    await expectReach(stranger, serverIp, CLIENT_PORT, false);

    // allowSameNamespace: false: the neighbour that connected is blocked; the declared client
    // (now through clusterConfig.networkPolicy.allowedClients) and the referrer still connect.
    await applyPolicy(platform({ allowSameNamespace: false, allowedClients: [outsiderPeer] }).manifests);
    await expectReach(neighbour, serverIp, CLIENT_PORT, false);
    await expectReach(outsider, serverIp, CLIENT_PORT, true);
    await expectReach(broker, serverIp, CLIENT_PORT, true);
    await expectReach(neighbour, serverIp, METRICS_PORT, true);
  });
});

function lastLines(text: string, count = 40): string {
  return text.split('\n').slice(-count).join('\n');
}
