/**
 * The operator reconciles BeaconClusters on the real control plane, running as a child process
 * with the token of a ServiceAccount bound to the ClusterRole keelson generates: children with
 * owner references, readiness into conditions, updates that roll only what changed, repair,
 * prune, pause, stop, invalid specs, dependencies, and a steady state that writes nothing.
 */
import * as k8s from '@kubernetes/client-node';
import { CONFIG_HASH_ANNOTATION } from '../../lib/stacklet/labels';
import {
  beacons,
  waitForCondition,
  type OperatorProcess,
  writesByResource,
  writesSince,
  startOperatorInNamespace,
  stopOperatorInNamespace,
} from './operator-support';
import { adminClients, isGone, waitFor } from './support';

const { kc, core, apps } = adminClients();
const beacon = beacons(kc);

let namespace = '';
let operator: OperatorProcess;

beforeAll(async () => {
  ({ namespace, operator } = await startOperatorInNamespace('operator'));
});

afterAll(() => stopOperatorInNamespace({ namespace, operator }));

const small = (extra: Record<string, unknown> = {}) => ({
  servers: { roleGroups: { default: { replicas: 1 } } },
  gateways: { roleGroups: { default: { replicas: 1 } } },
  ...extra,
});

const statefulSet = (name: string) => apps.readNamespacedStatefulSet({ name, namespace });
const configHash = (sts: k8s.V1StatefulSet) =>
  sts.spec?.template.metadata?.annotations?.[CONFIG_HASH_ANNOTATION];

/** Waits until the operator's write counter has not moved for `quietMs` and returns it. */
async function quietWrites(quietMs = 4000): Promise<number> {
  let last = await operator.writes();
  let since = Date.now();
  await waitFor(
    `the operator to stop writing for ${quietMs / 1000} s`,
    async () => {
      const now = await operator.writes();
      if (now !== last) {
        last = now;
        since = Date.now();
      }
      return Date.now() - since >= quietMs;
    },
    90_000,
  );
  return last;
}

/** What says each child of delta (pods and claims excluded) was written, by apiVersion/kind/name. */
async function deltaChildren(): Promise<Record<string, string>> {
  const selector = { namespace, labelSelector: 'app.kubernetes.io/instance=delta' };
  const lists: [string, { items: k8s.KubernetesObject[] }][] = [
    ['v1/ConfigMap', await core.listNamespacedConfigMap(selector)],
    ['v1/Service', await core.listNamespacedService(selector)],
    ['v1/ServiceAccount', await core.listNamespacedServiceAccount(selector)],
    ['apps/v1/StatefulSet', await apps.listNamespacedStatefulSet(selector)],
    ['apps/v1/Deployment', await apps.listNamespacedDeployment(selector)],
  ];
  // A workload's generation moves only with its spec; its resourceVersion also moves when its
  // controller writes status (a pod settling), which is not the operator's doing.
  const result: Record<string, string> = {};
  for (const [kind, list] of lists)
    for (const o of list.items)
      result[`${kind}/${o.metadata!.name}`] =
        o.metadata!.generation !== undefined
          ? `generation ${o.metadata!.generation}`
          : `resourceVersion ${o.metadata!.resourceVersion!}`;
  return result;
}

describe('the keelson operator', () => {
  it('creates the children with owner references, and reports Available once the pods are Ready', async () => {
    const created = await beacon.create(namespace, 'alpha', small());
    await waitForCondition(namespace, 'alpha', 'Available', 'True');

    const sts = await statefulSet('alpha-servers-default');
    expect(sts.metadata?.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'BeaconCluster',
        name: 'alpha',
        uid: created.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      }),
    ]);
    expect(sts.status?.readyReplicas).toBe(1);
    const deployment = await apps.readNamespacedDeployment({ name: 'alpha-gateways-default', namespace });
    expect(deployment.metadata?.ownerReferences?.[0]?.uid).toBe(created.metadata.uid);
    for (const name of ['alpha', 'alpha-servers-default', 'alpha-gateways-default']) {
      const cm = await core.readNamespacedConfigMap({ name, namespace });
      expect(cm.metadata?.ownerReferences?.[0]?.uid).toBe(created.metadata.uid);
    }
    const np = await kc
      .makeApiClient(k8s.NetworkingV1Api)
      .readNamespacedNetworkPolicy({ name: 'alpha', namespace });
    // Sent as raw JSON: the ingress peers survive (a typed model would have renamed `from`).
    expect(np.spec?.ingress?.[0]?._from?.length).toBeGreaterThan(0);

    const status = (await beacon.get(namespace, 'alpha')).status!;
    expect(status.observedGeneration).toBe(created.metadata.generation);
    const byType = Object.fromEntries(status.conditions!.map((c) => [c.type, c.status]));
    expect(byType).toEqual({
      Available: 'True',
      Progressing: 'False',
      Degraded: 'False',
      Stopped: 'False',
      ReconciliationPaused: 'False',
    });
  });

  it('writes nothing in the steady state', async () => {
    await waitForCondition(namespace, 'alpha', 'Available', 'True');
    await quietWrites();
    const before = writesByResource(await operator.metrics());
    // A quiet window: nothing changes, so nothing may be written.
    await new Promise((r) => setTimeout(r, 8000));
    expect(writesSince(before, writesByResource(await operator.metrics()))).toEqual({});
  });

  it('updates children on a replica or config change, rolling pods only when their config changed', async () => {
    await beacon.create(namespace, 'bravo', small());
    await waitForCondition(namespace, 'bravo', 'Available', 'True');
    const before = await statefulSet('bravo-servers-default');

    await beacon.patchSpec(namespace, 'bravo', {
      servers: {
        roleGroups: {
          default: { replicas: 2, configOverrides: { 'beacon.properties': { 'beacon.extra': 'on' } } },
        },
      },
    });
    await waitFor('StatefulSet bravo-servers-default to have 2 replicas and a new config hash', async () => {
      const sts = await statefulSet('bravo-servers-default');
      return sts.spec?.replicas === 2 && configHash(sts) !== configHash(before);
    });
    const cm = await core.readNamespacedConfigMap({ name: 'bravo-servers-default', namespace });
    expect(cm.data?.['beacon.properties']).toContain('beacon.extra=on');
    await waitForCondition(namespace, 'bravo', 'Available', 'True');

    // A PodDisruptionBudget change does not touch any pod's config: the pod template stays.
    const rolled = await statefulSet('bravo-servers-default');
    await beacon.patchSpec(namespace, 'bravo', {
      servers: { roleConfig: { podDisruptionBudget: { maxUnavailable: 2 } } },
    });
    await waitFor('PodDisruptionBudget bravo-servers to allow 2 unavailable', async () => {
      const pdb = await kc
        .makeApiClient(k8s.PolicyV1Api)
        .readNamespacedPodDisruptionBudget({ name: 'bravo-servers', namespace });
      return pdb.spec?.maxUnavailable === 2;
    });
    const after = await statefulSet('bravo-servers-default');
    expect(after.spec?.template).toEqual(rolled.spec?.template);
    expect(after.metadata?.generation).toBe(rolled.metadata?.generation);
  });

  it('recreates a child deleted by hand', async () => {
    await waitForCondition(namespace, 'alpha', 'Available', 'True');
    const old = await core.readNamespacedConfigMap({ name: 'alpha-servers-default', namespace });
    await core.deleteNamespacedConfigMap({ name: 'alpha-servers-default', namespace });
    await waitFor('ConfigMap alpha-servers-default to be recreated', async () => {
      const cm = await core.readNamespacedConfigMap({ name: 'alpha-servers-default', namespace });
      return cm.metadata?.uid !== old.metadata?.uid;
    });
    const svc = await core.readNamespacedService({ name: 'alpha-gateways', namespace });
    await core.deleteNamespacedService({ name: 'alpha-gateways', namespace });
    await waitFor('Service alpha-gateways to be recreated', async () => {
      const again = await core.readNamespacedService({ name: 'alpha-gateways', namespace });
      return again.metadata?.uid !== svc.metadata?.uid;
    });
  });

  it('prunes the objects of a removed role group and keeps its volume claims', async () => {
    await beacon.create(namespace, 'charlie', {
      servers: { roleGroups: { default: { replicas: 1 }, extra: { replicas: 1 } } },
      gateways: { roleGroups: { default: { replicas: 1 } } },
    });
    await waitForCondition(namespace, 'charlie', 'Available', 'True');
    const claim = 'data-charlie-servers-extra-0';
    await core.readNamespacedPersistentVolumeClaim({ name: claim, namespace });

    // A merge patch cannot remove a map key by omission: replace the role groups with null for extra.
    await beacon.patchSpec(namespace, 'charlie', { servers: { roleGroups: { extra: null } } });
    for (const [what, read] of [
      [
        'StatefulSet charlie-servers-extra',
        () => apps.readNamespacedStatefulSet({ name: 'charlie-servers-extra', namespace }),
      ],
      [
        'ConfigMap charlie-servers-extra',
        () => core.readNamespacedConfigMap({ name: 'charlie-servers-extra', namespace }),
      ],
      [
        'Service charlie-servers-extra-headless',
        () => core.readNamespacedService({ name: 'charlie-servers-extra-headless', namespace }),
      ],
    ] as const) {
      await waitFor(`${what} to be pruned`, () => isGone(read));
    }
    // The data stays, and the rest of the stacklet is untouched.
    await core.readNamespacedPersistentVolumeClaim({ name: claim, namespace });
    await apps.readNamespacedStatefulSet({ name: 'charlie-servers-default', namespace });
    await waitForCondition(namespace, 'charlie', 'Available', 'True');
  });

  it('writes nothing to a paused stacklet, and resumes when unpaused', async () => {
    await beacon.create(namespace, 'delta', small());
    await waitForCondition(namespace, 'delta', 'Available', 'True');
    await beacon.patchSpec(namespace, 'delta', { clusterOperation: { reconciliationPaused: true } });
    await waitForCondition(namespace, 'delta', 'ReconciliationPaused', 'True');
    await quietWrites();
    const writes = writesByResource(await operator.metrics());
    const children = await deltaChildren();

    await beacon.patchSpec(namespace, 'delta', { servers: { roleGroups: { default: { replicas: 3 } } } });
    await core.deleteNamespacedConfigMap({ name: 'delta-gateways-default', namespace });
    await waitForCondition(namespace, 'delta', 'ReconciliationPaused', 'True');
    await new Promise((r) => setTimeout(r, 5000));
    // Nothing of delta's is written: not the new replica count, not the deleted ConfigMap. The
    // only writes at all are status patches (the paused condition follows the new generation;
    // other stacklets' pods may still be settling).
    const written = writesSince(writes, writesByResource(await operator.metrics()));
    expect(Object.keys(written).filter((k) => k !== 'patch beaconclusters')).toEqual([]);
    delete children['v1/ConfigMap/delta-gateways-default'];
    expect(await deltaChildren()).toEqual(children);
    expect((await statefulSet('delta-servers-default')).spec?.replicas).toBe(1);

    await beacon.patchSpec(namespace, 'delta', { clusterOperation: { reconciliationPaused: false } });
    await waitFor('the paused changes to be applied after unpausing', async () => {
      const sts = await statefulSet('delta-servers-default');
      await core.readNamespacedConfigMap({ name: 'delta-gateways-default', namespace });
      return sts.spec?.replicas === 3;
    });
    await waitForCondition(namespace, 'delta', 'ReconciliationPaused', 'False');
  });

  it('scales a stopped stacklet to zero and reports Stopped', async () => {
    await beacon.create(namespace, 'echo', small());
    await waitForCondition(namespace, 'echo', 'Available', 'True');
    await beacon.patchSpec(namespace, 'echo', { clusterOperation: { stopped: true } });
    await waitForCondition(namespace, 'echo', 'Stopped', 'True', 'Stopped');
    await waitFor('every workload of echo to have 0 replicas and no pods', async () => {
      const sts = await statefulSet('echo-servers-default');
      const dep = await apps.readNamespacedDeployment({ name: 'echo-gateways-default', namespace });
      return sts.spec?.replicas === 0 && dep.spec?.replicas === 0 && (sts.status?.replicas ?? 0) === 0;
    });
    // Everything else stays.
    await core.readNamespacedConfigMap({ name: 'echo-servers-default', namespace });
    await waitForCondition(namespace, 'echo', 'Available', 'False', 'Stopped');
  });

  it('rejects a spec the build refuses: Degraded with the reason, an Event, and no child written', async () => {
    await beacon.create(namespace, 'foxtrot', small({ image: { productVersion: '9.9.9' } }));
    await waitForCondition(namespace, 'foxtrot', 'Degraded', 'True', 'InvalidSpec');
    const degraded = await beacon.condition(namespace, 'foxtrot', 'Degraded');
    expect(degraded?.message).toContain('9.9.9');
    await waitFor('a Warning Event with reason InvalidSpec on foxtrot', async () => {
      const events = await core.listNamespacedEvent({
        namespace,
        fieldSelector: 'involvedObject.name=foxtrot',
      });
      return events.items.some(
        (e) => e.reason === 'InvalidSpec' && e.type === 'Warning' && e.message?.includes('9.9.9'),
      );
    });
    const children = await core.listNamespacedConfigMap({
      namespace,
      labelSelector: 'app.kubernetes.io/instance=foxtrot',
    });
    expect(children.items).toEqual([]);

    await beacon.patchSpec(namespace, 'foxtrot', { image: { productVersion: '1.0.0' } });
    await waitForCondition(namespace, 'foxtrot', 'Available', 'True');
    await waitForCondition(namespace, 'foxtrot', 'Degraded', 'False');
  });

  it('reports a write the API server refuses as Degraded with an Event, and recovers when fixed', async () => {
    // Synth accepts any partial object as an override; the API server refuses this Service type.
    const bogus = {
      objectOverrides: [
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kilo-servers' }, spec: { type: 'Bogus' } },
      ],
    };
    await beacon.create(namespace, 'kilo', small(bogus));
    await waitForCondition(namespace, 'kilo', 'Degraded', 'True', 'ReconcileError');
    expect((await beacon.condition(namespace, 'kilo', 'Degraded'))?.message).toMatch(/Bogus/);
    await waitFor('a Warning Event with reason ReconcileError on kilo', async () => {
      const events = await core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.name=kilo' });
      return events.items.some((e) => e.reason === 'ReconcileError' && e.type === 'Warning');
    });
    await beacon.patchSpec(namespace, 'kilo', { objectOverrides: [] });
    await waitForCondition(namespace, 'kilo', 'Available', 'True');
    await waitForCondition(namespace, 'kilo', 'Degraded', 'False');
  });

  it('follows a dependency ConfigMap made by hand as soon as it changes (a watch, not a poll)', async () => {
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'handmade' }, data: { BEACON: 'first.example:7070' } },
    });
    await beacon.create(namespace, 'lima', small({ clusterConfig: { upstreamConfigMapName: 'handmade' } }));
    await waitForCondition(namespace, 'lima', 'Available', 'True');
    const file = async () =>
      (await core.readNamespacedConfigMap({ name: 'lima-servers-default', namespace })).data?.[
        'beacon.properties'
      ];
    expect(await file()).toContain('upstream=first.example');
    await core.patchNamespacedConfigMap(
      { name: 'handmade', namespace, body: { data: { BEACON: 'second.example:7070' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await waitFor(
      "lima's config to follow the hand-made ConfigMap",
      async () => (await file())?.includes('upstream=second.example') === true,
      90_000,
    );
  });

  it('waits for a missing dependency, naming it, and proceeds when it appears', async () => {
    await beacon.create(namespace, 'golf', small({ clusterConfig: { upstreamConfigMapName: 'hotel' } }));
    await waitForCondition(namespace, 'golf', 'Available', 'False', 'DependencyMissing');
    expect((await beacon.condition(namespace, 'golf', 'Progressing'))?.message).toContain(
      'ConfigMap "hotel"',
    );
    expect(await isGone(() => statefulSet('golf-servers-default'))).toBe(true);

    // The dependency is another Beacon's discovery ConfigMap.
    await beacon.create(namespace, 'hotel', small());
    await waitForCondition(namespace, 'golf', 'Available', 'True');
    const cm = await core.readNamespacedConfigMap({ name: 'golf-servers-default', namespace });
    expect(cm.data?.['beacon.properties']).toContain('hotel-servers-default-0');
  });

  it('waits for a missing log aggregator ConfigMap, naming the field, then runs the log agent in every pod', async () => {
    await beacon.create(
      namespace,
      'mike',
      small({ clusterConfig: { logging: { aggregatorConfigMapName: 'otel' } } }),
    );
    await waitForCondition(namespace, 'mike', 'Available', 'False', 'DependencyMissing');
    expect((await beacon.condition(namespace, 'mike', 'Progressing'))?.message).toContain(
      'ConfigMap "otel" (named by spec.clusterConfig.logging.aggregatorConfigMapName)',
    );
    expect(await isGone(() => statefulSet('mike-servers-default'))).toBe(true);

    await core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: { name: 'otel' },
        data: { OTLP_HTTP_ENDPOINT: 'http://collector.monitoring.svc:4318' },
      },
    });
    await waitForCondition(namespace, 'mike', 'Available', 'True');
    const pod = (await statefulSet('mike-servers-default')).spec?.template.spec;
    const agent = pod?.containers.find((c) => c.name === 'log-agent');
    expect(agent?.env).toContainEqual({
      name: 'KEELSON_LOG_AGGREGATOR',
      value: 'http://collector.monitoring.svc:4318',
    });
  });
});
