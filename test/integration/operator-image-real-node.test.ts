/**
 * The operator image, built from this repository (`keelson image build operator`), runs in the
 * cluster from `keelson deploy`'s manifests on the real node, in a namespace enforcing the
 * restricted Pod Security profile: the pod (uid 10001, read-only root) becomes Ready — its
 * `/readyz` answers once it leads and its caches are synced — and it reconciles: a ZookeeperZnode
 * whose ZooKeeper is a discovery ConfigMap made by hand gets its own discovery ConfigMap.
 * Its own monitoring, the way every product's is proven: a Prometheus finds the operator through
 * keelson's scrape job (its metrics Service), loads its rules, every metric name of
 * `OPERATOR_METRIC_NAMES` and every query of its dashboard has data, and each of its alerts fires
 * under a fault the test makes: `KeelsonReconcileErrors` (a ConfigMap a quota refuses),
 * `KeelsonWatchRestarting` and `KeelsonOperatorNoLeader` (its right to list Nodes taken away, its
 * pod replaced), `KeelsonWorkQueueNotDraining` (a webhook that holds ConfigMap writes) and, with
 * the operator stopped (scaled to zero), `KeelsonOperatorDown`.
 * A failure prints the operator's log.
 */
import { execFileSync } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Chart, Testing } from 'cdk8s';
import { PRODUCTS } from '../../apps/keelson';
import { KubeClient } from '../../lib/operator/client';
import { OperatorDeployment } from '../../lib/operator/deployment';
import { operatorImageRecipe } from '../../lib/operator/image';
import { OPERATOR_METRIC_NAMES } from '../../lib/operator/monitoring';
import { RESTRICTED, type Manifest } from './admission';
import {
  buildImageOnRealNode,
  deploymentsOnRealNode,
  kubectlApply,
  realNode,
  realNodePodLogs,
} from './real-node-support';
import { startPrometheus, withAlertDelay, type TestPrometheus } from './prometheus-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';

jest.setTimeout(30 * 60_000);

const NAME = 'keelson-operator-image-test';

let prometheus: TestPrometheus | undefined;
afterAll(async () => {
  await prometheus?.stop();
});

describe('the operator image on the real node', () => {
  const ns = useTestNamespace('operator-image', RESTRICTED);
  const { core, apps } = adminClients();
  const client = new KubeClient(adminKubeConfig());

  async function operatorLogs(): Promise<string> {
    const pods = await core.listNamespacedPod({ namespace: ns.name });
    const logs = await Promise.all(
      (pods.items ?? []).map(
        async (p) =>
          `--- ${p.metadata?.name}:\n${await realNodePodLogs(ns.name, p.metadata!.name!).catch((e: Error) => `(no logs: ${e.message})`)}`,
      ),
    );
    return logs.join('\n');
  }

  /** A ZNode of the hand-made ZooKeeper below (its discovery ConfigMap `zk`). */
  const createZnode = (name: string) =>
    client.request(
      'create',
      'POST',
      `/apis/keelson.dev/v1alpha1/namespaces/${ns.name}/zookeeperznodes`,
      'zookeeperznodes',
      {
        body: {
          apiVersion: 'keelson.dev/v1alpha1',
          kind: 'ZookeeperZnode',
          metadata: { name },
          spec: { clusterConfig: { zookeeperConfigMapName: 'zk' } },
        },
      },
    );

  it('runs keelson operator as uid 10001 and reconciles', async () => {
    await realNode();
    // The image packs the build, as `npm run image:operator` does.
    const root = path.resolve(__dirname, '..', '..');
    execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', root], {
      stdio: 'inherit',
    });
    const recipe = operatorImageRecipe();
    await buildImageOnRealNode(recipe);

    const chart = new Chart(Testing.app(), 'operator');
    new OperatorDeployment(chart, 'operator', {
      products: PRODUCTS,
      namespace: ns.name,
      name: NAME,
      replicas: 1,
      imagePullPolicy: 'Never',
      watchNamespaces: [ns.name],
      monitoring: { prometheusRules: true, grafanaDashboards: true },
    });
    const synthesized = Testing.synth(chart) as Manifest[];
    // The PrometheusRule's groups go to the test Prometheus' rule file (no prometheus-operator here).
    const rule = synthesized.find((m) => m.kind === 'PrometheusRule') as unknown as {
      spec: { groups: unknown[] };
    };
    const dashboard = synthesized.find(
      (m) => m.kind === 'ConfigMap' && m.metadata.name === `${NAME}-dashboard`,
    );
    expect(dashboard).toBeDefined();
    const manifests = deploymentsOnRealNode(synthesized.filter((m) => m.kind !== 'PrometheusRule'));
    const deployment = manifests.find((m) => m.kind === 'Deployment') as unknown as {
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    expect(deployment.spec.template.spec.containers[0].image).toBe(recipe.reference);
    kubectlApply(manifests);

    await waitFor(
      'the operator pod to be Ready',
      async () => {
        const pods = await core.listNamespacedPod({ namespace: ns.name });
        return (pods.items ?? []).some((p) =>
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
      },
      5 * 60_000,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await operatorLogs()}`);
    });
    const [pod] = (await core.listNamespacedPod({ namespace: ns.name })).items;
    expect(pod.spec?.securityContext).toMatchObject({ runAsUser: 10001, runAsNonRoot: true });
    expect(pod.spec?.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true });

    // A ZooKeeper made by hand (its discovery ConfigMap) and a ZNode the operator reconciles.
    await core.createNamespacedConfigMap({
      namespace: ns.name,
      body: {
        metadata: { name: 'zk' },
        data: {
          ZOOKEEPER: 'zk-0.zk:2181',
          ZOOKEEPER_HOSTS: 'zk-0.zk:2181',
          ZOOKEEPER_CLIENT_PORT: '2181',
          ZOOKEEPER_CHROOT: '/',
        },
      },
    });
    await createZnode('kafka-znode');
    await waitFor(
      "the operator to write the ZNode's discovery ConfigMap",
      async () => {
        const cm = await core
          .readNamespacedConfigMap({ name: 'kafka-znode', namespace: ns.name })
          .catch(() => undefined);
        return cm?.data?.ZOOKEEPER?.startsWith('zk-0.zk:2181/znode-') ?? false;
      },
      2 * 60_000,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await operatorLogs()}`);
    });

    // Its metrics, rules and dashboard in a Prometheus that finds it through keelson's scrape job.
    // The alerts wait 15 s instead of their minutes, for the fault below.
    prometheus = await startPrometheus(await realNode(), ns.name, {
      ruleGroups: withAlertDelay(rule.spec.groups, '15s'),
    });
    const sel = `namespace="${ns.name}", product="keelson-operator", stacklet="${NAME}"`;
    expect(
      await prometheus.waitForValue(
        'the operator scraped and leading',
        `keelson_leader{${sel}}`,
        (v) => v === 1,
      ),
    ).toBe(1);
    expect(
      await prometheus.waitForValue(
        'the ZNode reconciled, as its metrics say',
        `sum(keelson_reconciles_total{${sel}, result="success"})`,
        (v) => v >= 1,
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(await prometheus.waitForRules()).toHaveLength(1);
    await prometheus.checkMonitoring(ns.name, OPERATOR_METRIC_NAMES, dashboard);
    // Running and leading: neither of the alerts about that fires.
    expect(
      await prometheus.value(
        `ALERTS{namespace="${ns.name}", alertname=~"KeelsonOperatorDown|KeelsonOperatorNoLeader"}`,
      ),
    ).toBeUndefined();

    /** Waits for the operator's alert `name` after `fault`, prints how long it took, checks its labels. */
    const alertAfter = async (name: string, fault: string, labels: Record<string, string>) => {
      const at = Date.now();
      const alert = await prometheus!.waitForAlert(name, ns.name);
      process.stdout.write(
        `operator image on the real node: ${name} fired ${((Date.now() - at) / 1000).toFixed(1)} s ` +
          `after ${fault} (its for: shortened to 15 s)\n`,
      );
      expect(alert.labels).toMatchObject({
        namespace: ns.name,
        product: 'keelson-operator',
        stacklet: NAME,
        ...labels,
      });
    };

    // A stacklet that keeps failing to reconcile: a ResourceQuota allows the namespace no more
    // ConfigMaps, so the API server refuses a second ZNode's discovery ConfigMap at every retry.
    // The stacklet says so in its status, and the errors' rate fires keelson's alert (for: 15 s).
    expect(
      await prometheus.value(`ALERTS{namespace="${ns.name}", alertname="KeelsonReconcileErrors"}`),
    ).toBeUndefined();
    await core.createNamespacedResourceQuota({
      namespace: ns.name,
      body: { metadata: { name: 'no-more-configmaps' }, spec: { hard: { 'count/configmaps': '0' } } },
    });
    await createZnode('refused-znode');
    await alertAfter('KeelsonReconcileErrors', 'a ZNode whose ConfigMap a quota refuses was created', {
      kind: 'ZookeeperZnode',
      severity: 'warning',
    });
    const refused = await client.request<{
      status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
    }>(
      'get',
      'GET',
      `/apis/keelson.dev/v1alpha1/namespaces/${ns.name}/zookeeperznodes/refused-znode`,
      'zookeeperznodes',
    );
    expect(refused.status?.conditions).toContainEqual(
      expect.objectContaining({
        type: 'Degraded',
        status: 'True',
        reason: 'ReconcileError',
        message: expect.stringMatching(/^reconcile failed, retrying: .*quota/),
      }),
    );

    // The operator denied a kind it watches: its ClusterRole loses the rule on Nodes, and its pod
    // is replaced (a watch already open outlives an RBAC change). The new replica serves its
    // metrics, but its Node list keeps failing, so its caches never sync and it never campaigns
    // for the lease: the watch restarts and the missing leader both fire.
    const rbac = adminClients().kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    const clusterRole = await rbac.readClusterRole({ name: NAME });
    const grantsNodes = (r: k8s.V1PolicyRule) => r.resources?.includes('nodes') ?? false;
    expect(clusterRole.rules?.some(grantsNodes)).toBe(true);
    await rbac.replaceClusterRole({
      name: NAME,
      body: { ...clusterRole, rules: clusterRole.rules!.filter((r) => !grantsNodes(r)) },
    });
    const [denied] = (await core.listNamespacedPod({ namespace: ns.name })).items;
    await core.deleteNamespacedPod({ name: denied.metadata!.name!, namespace: ns.name });
    await alertAfter('KeelsonWatchRestarting', 'the operator lost its right to list Nodes and restarted', {
      resource: 'nodes',
      severity: 'warning',
    });
    await alertAfter('KeelsonOperatorNoLeader', 'the operator lost its right to list Nodes and restarted', {
      severity: 'critical',
    });
    expect(await prometheus.value(`sum(up{${sel}}) > 0 and max(keelson_leader{${sel}}) == 0`)).toBeDefined();
    // The right back: the replica's next list succeeds, its caches sync and it leads.
    const restored = await rbac.readClusterRole({ name: NAME });
    await rbac.replaceClusterRole({
      name: NAME,
      body: { ...restored, rules: [...(restored.rules ?? []), ...clusterRole.rules!.filter(grantsNodes)] },
    });
    expect(
      await prometheus.waitForValue(
        'the operator leading again',
        `max(keelson_leader{${sel}})`,
        (v) => v === 1,
      ),
    ).toBe(1);

    // A queue that does not drain: a webhook of the test's that never answers holds every
    // ConfigMap write of the namespace for the API server's 30 s, so with 16 ZNodes each of the
    // operator's 4 workers waits on one while the others queue. The rule looks at the last 15
    // minutes, in which the queue was empty before this fault, so a Prometheus started afresh
    // after it judges them (its alert waits 15 s, as the others').
    const stall = net.createServer(() => undefined);
    const held: net.Socket[] = [];
    stall.on('connection', (socket) => held.push(socket));
    await new Promise<void>((resolve) => stall.listen(0, '127.0.0.1', resolve));
    const admission = adminClients().kc.makeApiClient(k8s.AdmissionregistrationV1Api);
    const webhookName = `${ns.name}-stall`;
    await admission.createValidatingWebhookConfiguration({
      body: {
        metadata: { name: webhookName },
        webhooks: [
          {
            name: 'stall.keelson.dev',
            clientConfig: { url: `https://127.0.0.1:${(stall.address() as net.AddressInfo).port}/` },
            rules: [
              {
                apiGroups: [''],
                apiVersions: ['v1'],
                operations: ['CREATE', 'UPDATE'],
                resources: ['configmaps'],
              },
            ],
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns.name } },
            sideEffects: 'None',
            admissionReviewVersions: ['v1'],
            timeoutSeconds: 30,
            failurePolicy: 'Fail',
          },
        ],
      },
    });
    try {
      for (let i = 0; i < 16; i++) await createZnode(`queued-znode-${i}`);
      await prometheus.waitForValue(
        'ZNodes waiting in the work queue',
        `max(keelson_workqueue_depth{${sel}})`,
        (v) => v > 0,
      );
      await prometheus.stop();
      prometheus = await startPrometheus(await realNode(), ns.name, {
        ruleGroups: withAlertDelay(rule.spec.groups, '15s'),
      });
      await alertAfter(
        'KeelsonWorkQueueNotDraining',
        '16 ZNodes whose ConfigMaps a webhook holds were created (in a fresh Prometheus)',
        { severity: 'warning' },
      );
    } finally {
      await admission.deleteValidatingWebhookConfiguration({ name: webhookName });
      for (const socket of held) socket.destroy();
      stall.close();
    }

    // The fault: the operator stopped. Its series go stale and the alert says nothing reconciles.
    await apps.patchNamespacedDeploymentScale(
      { name: NAME, namespace: ns.name, body: [{ op: 'replace', path: '/spec/replicas', value: 0 }] },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    await alertAfter('KeelsonOperatorDown', 'the operator was scaled to zero', { severity: 'critical' });
  });
});
