/**
 * The test control plane behaves like a real cluster where keelson's later tests rely on it:
 * scheduling and volume binding, Pod Security admission, garbage collection, namespace deletion
 * and RBAC for ServiceAccount tokens.
 */
import * as k8s from '@kubernetes/client-node';
import {
  adminKubeConfig,
  expectApiError,
  isGone,
  serviceAccountKubeConfig,
  uniqueName,
  useTestNamespace,
  waitFor,
} from './support';

const RESTRICTED = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
};

/** A container that the restricted Pod Security profile admits. */
const restrictedContainer: k8s.V1Container = {
  name: 'main',
  image: 'registry.invalid/keelson/never-pulled:1',
  securityContext: {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    runAsNonRoot: true,
    runAsUser: 1000,
    seccompProfile: { type: 'RuntimeDefault' },
  },
};

const describeReady = (pod: k8s.V1Pod) =>
  `${pod.metadata?.name}: phase=${pod.status?.phase} node=${pod.spec?.nodeName ?? '-'} ready=${
    pod.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? '-'
  }`;

describe('the test control plane', () => {
  const kc = adminKubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);

  describe('in a namespace enforcing the restricted Pod Security profile', () => {
    const ns = useTestNamespace('restricted', RESTRICTED);

    it('runs a StatefulSet with volume claim templates: pods Running and Ready, claims Bound', async () => {
      const namespace = ns.name;
      const labels = { app: 'web' };
      await core.createNamespacedService({
        namespace,
        body: {
          metadata: { name: 'web' },
          spec: { clusterIP: 'None', selector: labels, ports: [{ port: 80 }] },
        },
      });
      await apps.createNamespacedStatefulSet({
        namespace,
        body: {
          metadata: { name: 'web' },
          spec: {
            serviceName: 'web',
            replicas: 2,
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: {
                containers: [
                  { ...restrictedContainer, volumeMounts: [{ name: 'data', mountPath: '/data' }] },
                ],
              },
            },
            volumeClaimTemplates: [
              {
                metadata: { name: 'data' },
                spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
              },
            ],
          },
        },
      });

      const pods = async () => (await core.listNamespacedPod({ namespace, labelSelector: 'app=web' })).items;
      await waitFor(
        'both StatefulSet pods to be scheduled, Running and Ready',
        async () => {
          const items = await pods();
          return (
            items.length === 2 &&
            items.every(
              (p) =>
                p.spec?.nodeName &&
                p.status?.phase === 'Running' &&
                p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
            )
          );
        },
        120_000,
        undefined,
        undefined,
        async () => (await pods()).map(describeReady).join('; ') || 'no pods',
      );

      const claims = async () => (await core.listNamespacedPersistentVolumeClaim({ namespace })).items;
      await waitFor(
        'claims data-web-0 and data-web-1 to be Bound',
        async () => {
          const items = await claims();
          const bound = items.filter((c) => c.status?.phase === 'Bound').map((c) => c.metadata?.name);
          return ['data-web-0', 'data-web-1'].every((name) => bound.includes(name));
        },
        60_000,
        undefined,
        undefined,
        async () =>
          (await claims()).map((c) => `${c.metadata?.name}=${c.status?.phase}`).join(', ') || 'no claims',
      );
      for (const claim of await claims()) {
        expect(claim.spec?.storageClassName).toBe('standard');
      }

      const sts = await apps.readNamespacedStatefulSet({ name: 'web', namespace });
      expect(sts.status?.readyReplicas).toBe(2);
    });

    it('rejects a pod that violates the restricted profile, naming the violation', async () => {
      const { status, message } = await expectApiError(
        core.createNamespacedPod({
          namespace: ns.name,
          body: {
            metadata: { name: 'privileged' },
            spec: {
              containers: [
                {
                  name: 'main',
                  image: 'registry.invalid/keelson/never-pulled:1',
                  securityContext: { privileged: true },
                },
              ],
            },
          },
        }),
      );
      expect({ status, message }).toEqual({
        status: 403,
        message: expect.stringContaining('violates PodSecurity "restricted:latest"'),
      });
      expect(message).toContain('privileged');
      expect(message).toContain('allowPrivilegeEscalation');
    });
  });

  describe('garbage collection and namespace deletion', () => {
    const ns = useTestNamespace('gc');

    it('deletes a dependent when its owner is deleted', async () => {
      const namespace = ns.name;
      const owner = await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: 'owner' } },
      });
      await core.createNamespacedConfigMap({
        namespace,
        body: {
          metadata: {
            name: 'dependent',
            ownerReferences: [
              {
                apiVersion: 'v1',
                kind: 'ConfigMap',
                name: 'owner',
                uid: owner.metadata!.uid!,
                blockOwnerDeletion: true,
              },
            ],
          },
        },
      });
      await core.deleteNamespacedConfigMap({ name: 'owner', namespace, propagationPolicy: 'Background' });
      await waitFor('the garbage collector to delete ConfigMap "dependent"', () =>
        isGone(() => core.readNamespacedConfigMap({ name: 'dependent', namespace })),
      );
    });

    it('completes the deletion of a namespace that holds a running pod', async () => {
      const namespace = await createNamespaceWithPod();
      await core.deleteNamespace({ name: namespace });
      await waitFor(
        `namespace ${namespace} to be gone`,
        () => isGone(() => core.readNamespace({ name: namespace })),
        120_000,
        undefined,
        undefined,
        async () => JSON.stringify((await core.readNamespace({ name: namespace })).status),
      );
    });

    async function createNamespaceWithPod(): Promise<string> {
      const namespace = uniqueName('doomed');
      await core.createNamespace({ body: { metadata: { name: namespace } } });
      await waitFor('the default ServiceAccount', async () => {
        await core.readNamespacedServiceAccount({ name: 'default', namespace });
        return true;
      });
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'some-config' } } });
      await core.createNamespacedPod({
        namespace,
        body: { metadata: { name: 'pod' }, spec: { containers: [restrictedContainer] } },
      });
      await waitFor('the pod to run', async () => {
        const pod = await core.readNamespacedPod({ name: 'pod', namespace });
        return pod.status?.phase === 'Running';
      });
      return namespace;
    }
  });

  describe('a ServiceAccount token bound to a narrow Role', () => {
    const ns = useTestNamespace('rbac');

    it('is allowed inside the Role and refused (403) outside it', async () => {
      const namespace = ns.name;
      await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'narrow' } } });
      await rbac.createNamespacedRole({
        namespace,
        body: {
          metadata: { name: 'read-config-maps' },
          rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
        },
      });
      await rbac.createNamespacedRoleBinding({
        namespace,
        body: {
          metadata: { name: 'narrow-reads-config-maps' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-config-maps' },
          subjects: [{ kind: 'ServiceAccount', name: 'narrow', namespace }],
        },
      });
      await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: 'visible' }, data: { a: 'b' } },
      });

      const narrow = (await serviceAccountKubeConfig(kc, namespace, 'narrow')).makeApiClient(k8s.CoreV1Api);

      const allowed = await narrow.readNamespacedConfigMap({ name: 'visible', namespace });
      expect(allowed.data).toEqual({ a: 'b' });
      const listed = await narrow.listNamespacedConfigMap({ namespace });
      expect(listed.items.map((c) => c.metadata?.name)).toContain('visible');

      const user = `system:serviceaccount:${namespace}:narrow`;
      const refusals = [
        ['list secrets', () => narrow.listNamespacedSecret({ namespace })],
        [
          'create a ConfigMap',
          () => narrow.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'x' } } }),
        ],
        [
          'list ConfigMaps in namespace default',
          () => narrow.listNamespacedConfigMap({ namespace: 'default' }),
        ],
      ] as const;
      for (const [what, call] of refusals) {
        const { status, message } = await expectApiError(call());
        expect({ what, status }).toEqual({ what, status: 403 });
        expect(message).toContain(user);
      }
    });
  });
});
