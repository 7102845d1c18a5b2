/**
 * An operator deployed with `--watch-namespaces` runs with the RBAC `keelson deploy` writes for
 * it — Roles in the watched namespaces and its own, a ClusterRole that only reads StorageClasses —
 * as its own ServiceAccount: it reconciles a stacklet in a namespace it watches, holds its Lease
 * in its own namespace, and is refused everywhere else.
 */
import * as k8s from '@kubernetes/client-node';
import { createTestNamespace, DEFAULT_STORAGE_CLASS } from '../controlplane/cluster';
import {
  beacons,
  installBeaconCrd,
  operatorIdentity,
  removeOperatorIdentity,
  startOperator,
  waitForCondition,
  GROUP,
  PLURAL,
  VERSION,
  type OperatorProcess,
} from './operator-support';
import { adminClients, expectApiError, uniqueName } from './support';

const { kc, core, apps } = adminClients();

let home = '';
let watched = '';
let elsewhere = '';
let identity: k8s.KubeConfig;
let operator: OperatorProcess | undefined;

beforeAll(async () => {
  await installBeaconCrd(kc);
  home = await createTestNamespace(kc, uniqueName('watch-home'));
  watched = await createTestNamespace(kc, uniqueName('watch-data'));
  elsewhere = await createTestNamespace(kc, uniqueName('watch-other'));
  const kubeconfig = await operatorIdentity(home, kc, undefined, [watched]);
  identity = new k8s.KubeConfig();
  identity.loadFromFile(kubeconfig);
  operator = await startOperator({
    namespaces: [watched],
    kubeconfig,
    leaderElection: true,
    env: { POD_NAMESPACE: home },
  });
});

afterAll(async () => {
  await operator?.stop();
  if (home) await removeOperatorIdentity(home, kc);
  for (const name of [home, watched, elsewhere].filter(Boolean))
    await core.deleteNamespace({ name }).catch(() => undefined);
});

describe('an operator watching some namespaces', () => {
  it('reconciles a stacklet in a watched namespace to Available, leading through a Lease in its own namespace', async () => {
    await beacons(kc).create(watched, 'alpha', {
      servers: { roleGroups: { default: { replicas: 1 } } },
      gateways: { roleGroups: { default: { replicas: 1 } } },
    });
    await waitForCondition(watched, 'alpha', 'Available', 'True');
    const sts = await apps.readNamespacedStatefulSet({ name: 'alpha-servers-default', namespace: watched });
    expect(sts.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'BeaconCluster', name: 'alpha' });
    const lease = await kc
      .makeApiClient(k8s.CoordinationV1Api)
      .readNamespacedLease({ name: 'keelson-operator', namespace: home });
    expect(lease.spec?.holderIdentity).toBeTruthy();
  });

  it('is refused in other namespaces and across the cluster, where it may only read StorageClasses', async () => {
    const custom = identity.makeApiClient(k8s.CustomObjectsApi);
    const asOperator = {
      core: identity.makeApiClient(k8s.CoreV1Api),
      apps: identity.makeApiClient(k8s.AppsV1Api),
    };
    const refusals = [
      await expectApiError(
        custom.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          plural: PLURAL,
          namespace: elsewhere,
        }),
      ),
      await expectApiError(
        custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL }),
      ),
      await expectApiError(asOperator.apps.listNamespacedStatefulSet({ namespace: elsewhere })),
      await expectApiError(asOperator.apps.listStatefulSetForAllNamespaces()),
      await expectApiError(
        asOperator.core.createNamespacedConfigMap({
          namespace: elsewhere,
          body: { metadata: { name: 'x' } },
        }),
      ),
      await expectApiError(asOperator.core.listSecretForAllNamespaces()),
    ];
    expect(refusals.map((r) => r.status)).toEqual([403, 403, 403, 403, 403, 403]);
    // In the watched namespace the same ServiceAccount may do what reconciling needs.
    const mine = await asOperator.apps.listNamespacedStatefulSet({ namespace: watched });
    expect(mine.items.map((s) => s.metadata?.name)).toContain('alpha-servers-default');
    const storage = identity.makeApiClient(k8s.StorageV1Api);
    expect((await storage.readStorageClass({ name: DEFAULT_STORAGE_CLASS })).metadata?.name).toBe(
      DEFAULT_STORAGE_CLASS,
    );
    expect((await expectApiError(storage.listStorageClass())).status).toBe(403);
  });
});
