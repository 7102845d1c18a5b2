/**
 * An OpaCluster and a Trino that asks it, run by the operator (the package's `keelson` command,
 * as the ServiceAccount of the ClusterRole keelson generates, on kwok's nodes): the OpaCluster
 * becomes Available with its Deployment, its discovery ConfigMap, and the Role and RoleBinding that
 * let its policy step read ConfigMaps, which the operator may create with its own rights (the API
 * server refuses a Role granting more than its creator holds); the coordinator's access control
 * asks the OpaCluster's URL for the package's `allow`.
 */
import * as k8s from '@kubernetes/client-node';
import { PRODUCTS } from '../../apps/keelson';
import {
  GROUP,
  KEELSON_BIN,
  VERSION,
  type OperatorProcess,
  startOperatorInNamespace,
  stopOperatorInNamespace,
} from './operator-support';
import { adminClients, waitFor } from './support';

const { kc, core, apps, custom } = adminClients();
const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
const PLURALS: Record<string, string> = Object.fromEntries(PRODUCTS.map((p) => [p.kind, p.plural]));

let namespace = '';
let operator: OperatorProcess;

const create = (kind: string, name: string, spec: unknown) =>
  custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURALS[kind],
    namespace,
    body: { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name }, spec },
  });

type Stacklet = {
  metadata: k8s.V1ObjectMeta;
  status?: { conditions?: k8s.V1Condition[]; observedGeneration?: number };
};

async function waitAvailable(kind: string, name: string): Promise<Stacklet> {
  const get = () =>
    custom.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURALS[kind],
      namespace,
      name,
    }) as Promise<Stacklet>;
  await waitFor(
    `${kind} ${namespace}/${name} to be Available=True (operator log: ${operator.logFile})`,
    async () => {
      const s = await get();
      const available = s.status?.conditions?.find((c) => c.type === 'Available');
      return available?.status === 'True' && s.status?.observedGeneration === s.metadata.generation;
    },
    120_000,
    undefined,
    undefined,
    async () => JSON.stringify((await get()).status?.conditions ?? 'no status'),
  );
  return get();
}

beforeAll(async () => {
  ({ namespace, operator } = await startOperatorInNamespace('opa-op', PRODUCTS, KEELSON_BIN));
});

afterAll(() => stopOperatorInNamespace({ namespace, operator }));

describe('an OpaCluster with the operator', () => {
  it('becomes Available with the Role its policy step needs, and Trino asks it', async () => {
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'trino-internal-secret' }, stringData: { internalSharedSecret: 'op-test' } },
    });
    await create('OpaCluster', 'opa', { servers: { roleGroups: { default: { replicas: 1 } } } });
    await create('TrinoCluster', 'trino', {
      clusterConfig: { authorization: { opa: { configMapName: 'opa', package: 'trino' } } },
    });
    const opa = await waitAvailable('OpaCluster', 'opa');

    const role = await rbac.readNamespacedRole({ name: 'opa', namespace });
    expect(role.rules).toEqual([
      expect.objectContaining({
        apiGroups: [''],
        resources: ['configmaps'],
        verbs: ['get', 'list', 'watch'],
      }),
    ]);
    expect(role.metadata?.ownerReferences?.[0]?.uid).toBe(opa.metadata.uid);
    const binding = await rbac.readNamespacedRoleBinding({ name: 'opa', namespace });
    expect(binding.subjects).toEqual([
      expect.objectContaining({ kind: 'ServiceAccount', name: 'opa', namespace }),
    ]);
    expect(binding.metadata?.ownerReferences?.[0]?.uid).toBe(opa.metadata.uid);
    const deployment = await apps.readNamespacedDeployment({ name: 'opa-servers-default', namespace });
    expect(deployment.spec?.template.spec?.containers.map((c) => c.name)).toEqual(['opa', 'policy-sync']);
    expect((await core.readNamespacedConfigMap({ name: 'opa', namespace })).data).toEqual({
      OPA: `http://opa-servers.${namespace}.svc.cluster.local:8181/`,
    });

    await waitAvailable('TrinoCluster', 'trino');
    const coordinator = await core.readNamespacedConfigMap({ name: 'trino-coordinators-default', namespace });
    expect(coordinator.data?.['access-control.properties']).toContain(
      `opa.policy.uri=http://opa-servers.${namespace}.svc.cluster.local:8181/v1/data/trino/allow`,
    );
  });
});
