/**
 * The operator image, built from this repository (`keelson image build operator`), runs in the
 * cluster from `keelson deploy`'s manifests on the real node, in a namespace enforcing the
 * restricted Pod Security profile: the pod (uid 10001, read-only root) becomes Ready — its
 * `/readyz` answers once it leads and its caches are synced — and it reconciles: a ZookeeperZnode
 * whose ZooKeeper is a discovery ConfigMap made by hand gets its own discovery ConfigMap.
 * A failure prints the operator's log.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { PRODUCTS } from '../../apps/keelson';
import { KubeClient } from '../../lib/operator/client';
import { OperatorDeployment } from '../../lib/operator/deployment';
import { operatorImageRecipe } from '../../lib/operator/image';
import { RESTRICTED, type Manifest } from './admission';
import { manifestsToYaml } from '../../lib/synth';
import { buildImageOnRealNode, realNode, realNodePodLogs, REAL_NODE_PLACEMENT } from './real-node-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';

jest.setTimeout(30 * 60_000);

const NAME = 'keelson-operator-image-test';

describe('the operator image on the real node', () => {
  const ns = useTestNamespace('operator-image', RESTRICTED);
  const { core } = adminClients();
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
    });
    const manifests = (
      Testing.synth(chart) as (Manifest & { spec?: { template?: { spec?: object } } })[]
    ).map((m) =>
      m.kind === 'Deployment'
        ? {
            ...m,
            spec: {
              ...m.spec,
              template: { ...m.spec!.template, spec: { ...m.spec!.template!.spec, ...REAL_NODE_PLACEMENT } },
            },
          }
        : m,
    );
    const deployment = manifests.find((m) => m.kind === 'Deployment') as unknown as {
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    expect(deployment.spec.template.spec.containers[0].image).toBe(recipe.reference);
    // CRDs and cluster RBAC are not children the test client knows: kubectl applies them all.
    const file = path.join(
      fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-operator-image-')),
      'operator.yaml',
    );
    fs.writeFileSync(file, manifestsToYaml(manifests));
    execFileSync('kubectl', ['apply', '--server-side', '--force-conflicts', '-f', file], {
      env: { ...process.env, KUBECONFIG: process.env.KEELSON_TEST_KUBECONFIG },
      stdio: 'pipe',
    });

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
    await client.request(
      'create',
      'POST',
      `/apis/keelson.dev/v1alpha1/namespaces/${ns.name}/zookeeperznodes`,
      'zookeeperznodes',
      {
        body: {
          apiVersion: 'keelson.dev/v1alpha1',
          kind: 'ZookeeperZnode',
          metadata: { name: 'kafka-znode' },
          spec: { clusterConfig: { zookeeperConfigMapName: 'zk' } },
        },
      },
    );
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
  });
});
