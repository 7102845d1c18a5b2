/**
 * The operator is no way around RBAC: on the real API server, with the admission policy
 * `keelson deploy` writes, a user who may only create ZookeeperClusters has a privileged
 * podOverride refused with a message that names the field and says why, while a user who may
 * create pods (and an administrator) has it accepted; a harmless override passes for everyone, and
 * an update that leaves an administrator's privileged overrides as they were passes too.
 */
import * as k8s from '@kubernetes/client-node';
import { App, Chart } from 'cdk8s';
import { HIVE, ZOOKEEPER } from '../../constructs';
import { KubeClient } from '../../lib/operator/client';
import { OperatorDeployment } from '../../lib/operator/deployment';
import { collectionPath, objectPath, stackletResource } from '../../lib/operator/resources';
import { POD_SECRET_ROADS } from '../support/pod-secret-roads';
import { admissionVerdict, installCrds } from './admission';
import { adminKubeConfig, serviceAccountKubeConfig, uniqueName, useTestNamespace, waitFor } from './support';

const OPERATOR_NAME = uniqueName('keelson-rbac');

/** The policy and binding of a `keelson deploy` for ZooKeeper, nothing else of the deployment. */
function policyObjects(): k8s.KubernetesObject[] {
  const chart = new Chart(new App(), 'operator');
  new OperatorDeployment(chart, 'operator', {
    products: [ZOOKEEPER, HIVE],
    namespace: 'keelson-system',
    name: OPERATOR_NAME,
    includeCrds: false,
    includeNamespace: false,
  });
  return (chart.toJson() as k8s.KubernetesObject[]).filter((o) => o.kind?.startsWith('ValidatingAdmission'));
}

/** A ServiceAccount of `namespace` allowed `rules` there, and a client speaking as it. */
async function userWith(namespace: string, name: string, rules: k8s.V1PolicyRule[]): Promise<KubeClient> {
  const admin = adminKubeConfig();
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
  });
  return new KubeClient(await serviceAccountKubeConfig(admin, namespace, name, 600));
}

/** The policy's status as the API server reports it (its type-checking warnings), for a failed wait. */
async function policyStatus(): Promise<string> {
  const name = `${OPERATOR_NAME}-pod-overrides`;
  const live = await new KubeClient(adminKubeConfig()).request(
    'get',
    'GET',
    `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${name}`,
    'validatingadmissionpolicies',
  );
  return JSON.stringify(live.status);
}

const ZOOKEEPER_CLUSTERS = {
  apiGroups: [stackletResource(ZOOKEEPER).apiVersion.split('/')[0]],
  resources: [ZOOKEEPER.plural],
  verbs: ['get', 'create', 'patch', 'update'],
};
const STATEFULSETS = { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['create'] };
const PODS = { apiGroups: [''], resources: ['pods'], verbs: ['create'] };

const servers = (podOverrides: unknown, groupOverrides?: unknown) => ({
  servers: {
    podOverrides,
    roleGroups: { default: { replicas: 1, ...(groupOverrides ? { podOverrides: groupOverrides } : {}) } },
  },
});
const PRIVILEGED = {
  spec: { containers: [{ name: 'zookeeper', securityContext: { privileged: true } }] },
};
const REFUSED_PRIVILEGED =
  /podOverrides: spec\.containers\[\]\.securityContext\.privileged may be set only by a user who may create pods in this namespace \(a privileged container has the node; the operator would create them with its own rights\): system:serviceaccount:.*:zookeeper-only may not create pods in namespace/;

describe('the pod-override admission policy', () => {
  const ns = useTestNamespace('pod-override-policy');
  const admin = new KubeClient(adminKubeConfig());
  const objects = k8s.KubernetesObjectApi.makeApiClient(adminKubeConfig());

  beforeAll(async () => {
    await installCrds([ZOOKEEPER, HIVE]);
    for (const object of policyObjects())
      await objects.patch(
        object,
        undefined,
        undefined,
        'keelson-tests',
        true,
        k8s.PatchStrategy.ServerSideApply,
      );
  });
  afterAll(async () => {
    for (const object of policyObjects()) await objects.delete(object).catch(() => undefined);
  });

  it('refuses privileged overrides from a user who may not create pods, and accepts them from one who may', async () => {
    const restricted = await userWith(ns.name, 'zookeeper-only', [ZOOKEEPER_CLUSTERS]);
    const podMaker = await userWith(ns.name, 'pod-maker', [ZOOKEEPER_CLUSTERS, PODS]);
    const verdict = (client: KubeClient, spec: unknown) =>
      admissionVerdict(client, ZOOKEEPER, ns.name, 'zk', spec);

    // The policy takes effect once the API server has loaded it.
    await waitFor(
      'the policy to refuse a privileged override',
      async () => (await verdict(restricted, servers(PRIVILEGED))).includes('denied request: podOverrides:'),
      60_000,
      undefined,
      undefined,
      async () => `${await verdict(restricted, servers(PRIVILEGED))}; ${await policyStatus()}`,
    );
    expect(await verdict(restricted, servers(PRIVILEGED))).toMatch(REFUSED_PRIVILEGED);
    expect(await verdict(podMaker, servers(PRIVILEGED))).toBe('accepted');
    expect(await verdict(admin, servers(PRIVILEGED))).toBe('accepted');

    // Each guarded field, at the role group's level too, is refused with its own reason.
    const refusals: Record<string, unknown> = {
      'spec.hostNetwork': { spec: { hostNetwork: true } },
      'spec.hostPID': { spec: { hostPID: true } },
      'spec.hostIPC': { spec: { hostIPC: true } },
      'spec.volumes[].hostPath': { spec: { volumes: [{ name: 'root', hostPath: { path: '/' } }] } },
      'spec.securityContext.runAsUser': { spec: { securityContext: { runAsUser: 0 } } },
      'spec.containers[].securityContext.capabilities.add': {
        spec: { initContainers: [{ name: 'x', securityContext: { capabilities: { add: ['NET_ADMIN'] } } }] },
      },
      'spec.serviceAccountName': { spec: { serviceAccountName: 'default' } },
      'spec.containers[].securityContext.allowPrivilegeEscalation': {
        spec: { containers: [{ name: 'zookeeper', securityContext: { allowPrivilegeEscalation: true } }] },
      },
      'spec.containers[].ports[].hostPort': {
        spec: { containers: [{ name: 'zookeeper', ports: [{ containerPort: 2181, hostPort: 2181 }] }] },
      },
      'securityContext.seccompProfile.type: Unconfined': {
        spec: { securityContext: { seccompProfile: { type: 'Unconfined' } } },
      },
      'spec.securityContext.sysctls': {
        spec: { securityContext: { sysctls: [{ name: 'net.core.somaxconn', value: '4096' }] } },
      },
      'securityContext.seLinuxOptions': {
        spec: { containers: [{ name: 'zookeeper', securityContext: { seLinuxOptions: { type: 'spc_t' } } }] },
      },
      'securityContext.appArmorProfile.type: Unconfined': {
        spec: { securityContext: { appArmorProfile: { type: 'Unconfined' } } },
      },
      'spec.containers[].securityContext.procMount: Unmasked': {
        spec: { containers: [{ name: 'zookeeper', securityContext: { procMount: 'Unmasked' } }] },
      },
      'securityContext.windowsOptions.hostProcess': {
        spec: { securityContext: { windowsOptions: { hostProcess: true } } },
      },
      'a Secret (': {
        spec: { volumes: [{ name: 'other', secret: { secretName: 'someone-elses' } }] },
      },
    };
    // The same fields by other roads: the older AppArmor annotation, and a Secret by every road.
    const otherRoads: [string, unknown][] = [
      [
        'securityContext.appArmorProfile.type: Unconfined',
        {
          metadata: {
            annotations: { 'container.apparmor.security.beta.kubernetes.io/zookeeper': 'unconfined' },
          },
        },
      ],
      // Every road to a Secret the operator's podSecretReferences knows (the table both tests walk).
      ...Object.values(POD_SECRET_ROADS).map((spec): [string, unknown] => ['a Secret (', { spec }]),
    ];
    for (const [field, override] of otherRoads)
      expect({ field, said: await verdict(restricted, servers(override)) }).toEqual({
        field,
        said: expect.stringContaining(`podOverrides: ${field}`),
      });
    for (const [field, override] of Object.entries(refusals)) {
      const said = await verdict(restricted, servers({ metadata: { labels: { team: 'a' } } }, override));
      expect({ field, said }).toEqual({ field, said: expect.stringContaining(`podOverrides: ${field}`) });
      expect({ field, said: await verdict(podMaker, servers(undefined, override)) }).toEqual({
        field,
        said: 'accepted',
      });
    }

    // objectOverrides onto the generated StatefulSet's pod template: the same guard.
    const throughObject = {
      ...servers(undefined),
      objectOverrides: [
        {
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          metadata: { name: 'zk-servers-default' },
          spec: { template: { spec: { hostNetwork: true } } },
        },
      ],
    };
    // An override of a kind takes the right to create that kind; and a pod template in it, pods.
    expect(await verdict(restricted, throughObject)).toMatch(
      /denied request: objectOverrides: an override of a kind may be set only by a user who may create that kind in this namespace \(the operator would write it with its own rights\): system:serviceaccount:.*:zookeeper-only may not create all of StatefulSet\/zk-servers-default in namespace/,
    );
    const workloadMaker = await userWith(ns.name, 'workload-maker', [ZOOKEEPER_CLUSTERS, STATEFULSETS]);
    expect(await verdict(workloadMaker, throughObject)).toContain(
      'denied request: objectOverrides[].spec.template: spec.hostNetwork may be set only by a user who may create pods',
    );
    const harmlessObject = {
      ...throughObject,
      objectOverrides: [{ ...throughObject.objectOverrides[0], spec: { minReadySeconds: 5 } }],
    };
    expect(await verdict(workloadMaker, harmlessObject)).toBe('accepted');
    expect(await verdict(admin, throughObject)).toBe('accepted');

    // Harmless overrides pass for the restricted user: labels, resources, a non-root user.
    const harmless = {
      metadata: { labels: { team: 'a' } },
      spec: {
        securityContext: { runAsUser: 20000 },
        containers: [{ name: 'zookeeper', resources: { requests: { cpu: '200m' } } }],
      },
    };
    expect(await verdict(restricted, servers(harmless, harmless))).toBe('accepted');
  });

  it('lets a spec name only the Secrets its requester may read', async () => {
    const HIVE_CLUSTERS = { ...ZOOKEEPER_CLUSTERS, resources: [HIVE.plural] };
    const hiveOnly = await userWith(ns.name, 'hive-only', [HIVE_CLUSTERS]);
    const dbReader = await userWith(ns.name, 'db-reader', [
      HIVE_CLUSTERS,
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['hive-db'], verbs: ['get'] },
    ]);
    const hive = (credentialsSecretName: string) => ({
      clusterConfig: {
        database: { type: 'postgresql', host: 'pg.db.svc', database: 'metastore', credentialsSecretName },
      },
      metastores: { roleGroups: { default: { replicas: 1 } } },
    });
    const verdict = (client: KubeClient, spec: unknown) =>
      admissionVerdict(client, HIVE, ns.name, 'hive', spec);
    const REFUSED =
      /denied request: clusterConfig\.database\.credentialsSecretName: a HiveCluster may name only a Secret the requester may read \(get\) in this namespace \(its pods would read it with the operator's rights\): system:serviceaccount:.*:hive-only may not read every Secret named there/;
    await waitFor(
      'the policy to refuse naming a Secret the requester may not read',
      async () => REFUSED.test(await verdict(hiveOnly, hive('hive-db'))),
      60_000,
      undefined,
      undefined,
      async () => `${await verdict(hiveOnly, hive('hive-db'))}; ${await policyStatus()}`,
    );
    // Reading that very Secret is enough; another Secret is not.
    expect(await verdict(dbReader, hive('hive-db'))).toBe('accepted');
    expect(await verdict(dbReader, hive('db-admin'))).toMatch(
      /denied request: clusterConfig\.database\.credentialsSecretName/,
    );
    expect(await verdict(admin, hive('db-admin'))).toBe('accepted');
    // A pull secret of any product is judged the same way.
    const zookeeper = { ...servers(undefined), image: { pullSecrets: [{ name: 'registry' }] } };
    const zookeeperOnly = await userWith(ns.name, 'zookeeper-pulls', [ZOOKEEPER_CLUSTERS]);
    expect(await admissionVerdict(zookeeperOnly, ZOOKEEPER, ns.name, 'zk', zookeeper)).toMatch(
      /denied request: image\.pullSecrets\[\]\.name: a ZookeeperCluster may name only a Secret/,
    );

    // An administrator's stacklet stays editable by those who may not read its Secret, as long as
    // they leave the name as it was.
    const resource = stackletResource(HIVE);
    await admin.request('create', 'POST', collectionPath(resource, ns.name), resource.plural, {
      body: {
        apiVersion: resource.apiVersion,
        kind: resource.kind,
        metadata: { name: 'hive' },
        spec: hive('db-admin'),
      },
    });
    const patch = (body: unknown) =>
      hiveOnly
        .request('patch', 'PATCH', objectPath(resource, ns.name, 'hive'), resource.plural, {
          body,
          contentType: 'application/merge-patch+json',
        })
        .then(
          () => 'accepted',
          (e: unknown) => String(e),
        );
    expect(await patch({ spec: { metastores: { roleGroups: { default: { replicas: 2 } } } } })).toBe(
      'accepted',
    );
    expect(await patch({ spec: hive('hive-db') })).toMatch(
      /denied request: clusterConfig\.database\.credentialsSecretName/,
    );
  });

  it('lets a user who may not create pods edit a stacklet whose privileged overrides they leave as they are', async () => {
    const restricted = await userWith(ns.name, 'zookeeper-only', [ZOOKEEPER_CLUSTERS]);
    const resource = stackletResource(ZOOKEEPER);
    await admin.request('create', 'POST', collectionPath(resource, ns.name), resource.plural, {
      body: {
        apiVersion: resource.apiVersion,
        kind: resource.kind,
        metadata: { name: 'zk' },
        spec: servers(PRIVILEGED),
      },
    });
    const patch = (client: KubeClient, body: unknown) =>
      client
        .request('patch', 'PATCH', objectPath(resource, ns.name, 'zk'), resource.plural, {
          body,
          contentType: 'application/merge-patch+json',
        })
        .then(
          () => 'accepted',
          (e: unknown) => String(e),
        );
    const hostPid = { spec: { servers: { podOverrides: { spec: { hostPID: true } } } } };
    await waitFor(
      'the policy to refuse a changed privileged override',
      async () => (await patch(restricted, hostPid)).includes('denied request: podOverrides:'),
      60_000,
      undefined,
      undefined,
      () => patch(restricted, hostPid),
    );
    expect(await patch(restricted, { metadata: { labels: { team: 'a' } } })).toBe('accepted');
    expect(await patch(restricted, { spec: { servers: { roleGroups: { default: { replicas: 3 } } } } })).toBe(
      'accepted',
    );
  });
});
