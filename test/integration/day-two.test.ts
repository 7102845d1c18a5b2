/**
 * Day two on the real API server: every change a spec allows, applied once by the operator
 * (running with its own least-privilege identity) and once by `kubectl apply --server-side` of
 * synth output, is accepted and shows in the live objects. Storage changes are where the two
 * modes differ: claim templates are immutable, so the operator keeps them and grows the claims,
 * while synth output takes `keelson storage apply` (or the documented steps it automates).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Chart, Testing } from 'cdk8s';
import { keelsonCli } from '../../lib/cli';
import { manifestsToYaml } from '../../lib/synth';
import { BEACON, BeaconCluster, type BeaconClusterProps } from '../example-product/beacon';
import {
  beacons,
  GROUP,
  PLURAL,
  startOperatorInNamespace,
  stopOperatorInNamespace,
  VERSION,
  type OperatorInNamespace,
} from './operator-support';
import { adminClients, uniqueName, useTestNamespace, waitFor } from './support';

const { kc, core, apps, custom } = adminClients();
const storage = kc.makeApiClient(k8s.StorageV1Api);
/** kubectl as users run it (`.ci/run` installs Debian's package). */
const KUBECTL = process.env.KUBECTL ?? 'kubectl';

/** A StorageClass of the hostpath provisioner that allows volume expansion, and one that does not. */
const expandable = uniqueName('expandable');
const fixed = uniqueName('fixed');

beforeAll(async () => {
  for (const [name, allowVolumeExpansion] of [
    [expandable, true],
    [fixed, false],
  ] as const) {
    await storage.createStorageClass({
      body: {
        metadata: { name },
        provisioner: 'kubernetes.io/host-path',
        reclaimPolicy: 'Delete',
        volumeBindingMode: 'Immediate',
        allowVolumeExpansion,
      },
    });
  }
});

afterAll(async () => {
  for (const name of [expandable, fixed]) await storage.deleteStorageClass({ name }).catch(() => undefined);
});

interface Shape {
  version?: string;
  capacity?: string;
  storageClass?: string;
  groups?: Record<string, { replicas: number }>;
  greeting?: string;
  env?: string;
  podLabel?: string;
  listenerClass?: 'cluster-internal' | 'external-unstable' | 'external-stable';
  stopped?: boolean;
}

/** The spec of the Beacon `demo` each step applies. */
function spec(s: Shape = {}): Record<string, unknown> {
  return {
    image: { productVersion: s.version ?? '1.0.0' },
    clusterOperation: { stopped: s.stopped ?? false },
    servers: {
      config: {
        resources: {
          storage: { data: { capacity: s.capacity ?? '1Gi', storageClass: s.storageClass ?? expandable } },
        },
      },
      configOverrides: { 'beacon.properties': { greeting: s.greeting ?? 'hello' } },
      envOverrides: { STEP: s.env ?? 'one' },
      podOverrides: { metadata: { labels: { step: s.podLabel ?? 'one' } } },
      roleGroups: s.groups ?? { default: { replicas: 2 } },
    },
    gateways: {
      roleConfig: { listenerClass: s.listenerClass ?? 'cluster-internal' },
      roleGroups: { default: { replicas: 1 } },
    },
  };
}

const statefulSet = (namespace: string, name: string) => apps.readNamespacedStatefulSet({ namespace, name });
const statefulSetNames = async (namespace: string) =>
  (
    await apps.listNamespacedStatefulSet({ namespace, labelSelector: 'app.kubernetes.io/instance=demo' })
  ).items
    .map((s) => s.metadata!.name!)
    .sort();
/** The claims of volume `data` of StatefulSet `workload`, by name. */
const claims = async (namespace: string, workload = 'demo-servers-default') =>
  (await core.listNamespacedPersistentVolumeClaim({ namespace })).items
    .filter((c) => c.metadata!.name!.startsWith(`data-${workload}-`))
    .sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
const sizes = async (namespace: string) =>
  Object.fromEntries(
    (await claims(namespace)).map((c) => [c.metadata!.name!, c.spec!.resources!.requests!.storage]),
  );

/** Waits until `count` claims of `workload` are Bound (the API server grows only bound claims). */
async function claimsBound(namespace: string, count: number, workload?: string): Promise<void> {
  await waitFor(
    `${count} bound claims of ${workload ?? 'demo-servers-default'} in ${namespace}`,
    async () => {
      const all = await claims(namespace, workload);
      return all.length === count && all.every((c) => c.status?.phase === 'Bound');
    },
  );
}

/** What every step checks in the live objects, in both modes. */
async function expectShape(namespace: string, s: Shape): Promise<void> {
  const groups = Object.keys(s.groups ?? { default: 1 }).sort();
  expect(await statefulSetNames(namespace)).toEqual(groups.map((g) => `demo-servers-${g}`));
  for (const [group, { replicas }] of Object.entries(s.groups ?? { default: { replicas: 2 } })) {
    const sts = await statefulSet(namespace, `demo-servers-${group}`);
    expect(sts.metadata!.labels!['app.kubernetes.io/version']).toBe(s.version ?? '1.0.0');
    expect(sts.spec!.replicas).toBe(s.stopped ? 0 : replicas);
    const pod = sts.spec!.template;
    expect(pod.metadata!.labels!.step).toBe(s.podLabel ?? 'one');
    expect(pod.spec!.containers[0].image).toContain(`:${s.version ?? '1.0.0'}`);
    expect(pod.spec!.containers[0].env).toContainEqual({ name: 'STEP', value: s.env ?? 'one' });
    const config = await core.readNamespacedConfigMap({ namespace, name: `demo-servers-${group}` });
    expect(config.data!['beacon.properties']).toContain(`greeting=${s.greeting ?? 'hello'}`);
    // Claim templates carry no label a change could alter.
    for (const template of sts.spec!.volumeClaimTemplates ?? []) {
      expect(template.metadata!.labels).not.toHaveProperty('app.kubernetes.io/version');
    }
  }
  const service = await core.readNamespacedService({ namespace, name: 'demo-gateways' });
  expect(service.spec!.type).toBe(
    { 'cluster-internal': 'ClusterIP', 'external-unstable': 'NodePort', 'external-stable': 'LoadBalancer' }[
      s.listenerClass ?? 'cluster-internal'
    ],
  );
  const gateway = await apps.readNamespacedDeployment({ namespace, name: 'demo-gateways-default' });
  expect(gateway.spec!.replicas).toBe(s.stopped ? 0 : 1);
}

/** The changes a user makes on day two, in order; each starts from the one before. */
const base: Shape = {};
const steps: [string, Shape][] = [
  ['a version upgrade', { version: '1.1.0' }],
  ['replicas up', { version: '1.1.0', groups: { default: { replicas: 3 } } }],
  ['replicas down', { version: '1.1.0', groups: { default: { replicas: 1 } } }],
  ['a role group added', { version: '1.1.0', groups: { default: { replicas: 1 }, extra: { replicas: 1 } } }],
  [
    'a role group renamed',
    { version: '1.1.0', groups: { default: { replicas: 1 }, second: { replicas: 1 } } },
  ],
  ['a role group removed', { version: '1.1.0', groups: { default: { replicas: 1 } } }],
  [
    'config, env and pod override changes',
    { version: '1.1.0', groups: { default: { replicas: 1 } }, greeting: 'hi', env: 'two', podLabel: 'two' },
  ],
  [
    'a listener class change',
    { version: '1.1.0', groups: { default: { replicas: 1 } }, listenerClass: 'external-unstable' },
  ],
  ['the listener class back', { version: '1.1.0', groups: { default: { replicas: 1 } } }],
  ['stop', { version: '1.1.0', groups: { default: { replicas: 1 } }, stopped: true }],
  ['start', { version: '1.1.0', groups: { default: { replicas: 1 } } }],
];

describe('day-two changes through the operator', () => {
  let started: Partial<OperatorInNamespace> = {};
  let namespace = '';
  const beacon = beacons(kc);

  beforeAll(async () => {
    started = await startOperatorInNamespace('daytwo-op');
    namespace = started.namespace!;
  });
  afterAll(() => stopOperatorInNamespace(started));

  /** Replaces the whole spec (a merge patch could not remove a role group). */
  const replaceSpec = (s: Record<string, unknown>) =>
    custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        name: 'demo',
        body: [{ op: 'replace', path: '/spec', value: s }],
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );

  /** Waits until the operator reconciled the current generation with Degraded of `reason`. */
  async function reconciled(reason = 'Reconciled'): Promise<k8s.V1Condition> {
    let degraded: k8s.V1Condition | undefined;
    await waitFor(
      `BeaconCluster demo reconciled with Degraded reason ${reason}`,
      async () => {
        const b = await beacon.get(namespace, 'demo');
        degraded = b.status?.conditions?.find((c) => c.type === 'Degraded');
        return degraded?.observedGeneration === b.metadata.generation && degraded?.reason === reason;
      },
      90_000,
      undefined,
      undefined,
      async () => JSON.stringify((await beacon.get(namespace, 'demo')).status),
    );
    return degraded!;
  }

  const events = async (reason: string) =>
    (await core.listNamespacedEvent({ namespace })).items.filter((e) => e.reason === reason);

  it('applies every change a spec allows', async () => {
    await beacon.create(namespace, 'demo', spec(base));
    await reconciled();
    await expectShape(namespace, base);
    for (const [what, shape] of steps) {
      await replaceSpec(spec(shape));
      await reconciled().catch((e: Error) => {
        throw new Error(`${what}: ${e.message}`);
      });
      await expectShape(namespace, shape);
    }
  });

  it('grows claims where the StorageClass allows it, keeps the claim templates, and says what it cannot do', async () => {
    // The claims of every replica the steps above ran (retained when it scaled down).
    const before = await claims(namespace);
    const n = before.length;
    expect(n).toBeGreaterThanOrEqual(1);
    await claimsBound(namespace, n);
    const last = steps[steps.length - 1][1];
    const all = (size: string) => Object.fromEntries(before.map((c) => [c.metadata!.name!, size]));

    await replaceSpec(spec({ ...last, capacity: '2Gi' }));
    await reconciled();
    expect(await sizes(namespace)).toEqual(all('2Gi'));
    const sts = await statefulSet(namespace, 'demo-servers-default');
    expect(sts.spec!.volumeClaimTemplates![0].spec!.resources!.requests!.storage).toBe('1Gi');
    expect(await events('ExpandingVolume')).toHaveLength(n);

    // A scale-up's new claim comes from the template (1Gi) and is grown by a later reconcile.
    const more = { default: { replicas: n + 1 } };
    await replaceSpec(spec({ ...last, capacity: '2Gi', groups: more }));
    await claimsBound(namespace, n + 1);
    await waitFor('the new claim to be grown to 2Gi', async () => {
      const now = await sizes(namespace);
      return Object.keys(now).length === n + 1 && Object.values(now).every((size) => size === '2Gi');
    });
    await reconciled();

    // Shrinking is refused with a condition, not retried; the claims keep their size.
    await replaceSpec(spec({ ...last, capacity: '1Gi', groups: more }));
    const shrink = await reconciled('StorageChangeNotApplied');
    expect(shrink.status).toBe('True');
    expect(shrink.message).toMatch(/claim data-demo-servers-default-0 holds 2Gi .*cannot shrink/);
    expect(new Set(Object.values(await sizes(namespace)))).toEqual(new Set(['2Gi']));
    expect((await events('StorageChangeNotApplied')).length).toBeGreaterThanOrEqual(1);

    // Another StorageClass cannot be applied to existing claims: said, and nothing else changes.
    await replaceSpec(spec({ ...last, capacity: '2Gi', groups: more, storageClass: fixed }));
    const moved = await reconciled('StorageChangeNotApplied');
    expect(moved.message).toContain(
      `asks for storageClass "${fixed}", but its claims were made with "${expandable}"`,
    );
    const after = await claims(namespace);
    expect(after.map((c) => c.metadata!.uid)).toEqual(
      expect.arrayContaining(before.map((c) => c.metadata!.uid)),
    );
    expect(after.every((c) => c.spec!.storageClassName === expandable)).toBe(true);
    expect(
      (await statefulSet(namespace, 'demo-servers-default')).spec!.volumeClaimTemplates![0].spec!
        .storageClassName,
    ).toBe(expandable);

    // Back to what can be: Degraded clears.
    await replaceSpec(spec({ ...last, capacity: '2Gi', groups: more }));
    await reconciled();
  });

  it('says so when the StorageClass does not allow expansion', async () => {
    await beacon.create(namespace, 'fixed', {
      servers: {
        config: { resources: { storage: { data: { capacity: '1Gi', storageClass: fixed } } } },
        roleGroups: { default: { replicas: 1 } },
      },
      gateways: { roleGroups: { default: { replicas: 0 } } },
    });
    await claimsBound(namespace, 1, 'fixed-servers-default');
    await custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        name: 'fixed',
        body: { spec: { servers: { config: { resources: { storage: { data: { capacity: '3Gi' } } } } } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await waitFor('fixed to report that its claim cannot grow', async () => {
      const c = await beacon.condition(namespace, 'fixed', 'Degraded');
      return c?.reason === 'StorageChangeNotApplied' && c.status === 'True';
    });
    const c = await beacon.condition(namespace, 'fixed', 'Degraded');
    expect(c!.message).toContain(`its StorageClass "${fixed}" does not allow volume expansion`);
    const [claim] = await claims(namespace, 'fixed-servers-default');
    expect(claim.spec!.resources!.requests!.storage).toBe('1Gi');
  });
});

describe('day-two changes through kubectl apply --server-side of synth output', () => {
  const ns = useTestNamespace('daytwo-synth');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-daytwo-'));

  function kubectl(args: string[]): Promise<{ code: number; out: string }> {
    return new Promise((resolve) =>
      execFile(
        KUBECTL,
        ['--kubeconfig', process.env.KEELSON_TEST_KUBECONFIG!, ...args],
        { env: { ...process.env, KUBECTL_APPLYSET: 'true' } },
        (error, stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
      ),
    );
  }

  /** Synthesizes the Beacon `demo` with shape `s` into the test namespace; returns the file. */
  function synth(s: Shape): string {
    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    new BeaconCluster(chart, 'demo', spec(s) as BeaconClusterProps);
    const file = path.join(dir, `${ns.name}.yaml`);
    fs.writeFileSync(file, manifestsToYaml(Testing.synth(chart)));
    return file;
  }

  /** Synthesizes the Beacon `demo` with shape `s` into the test namespace and applies it. */
  async function apply(s: Shape): Promise<{ code: number; out: string }> {
    const file = synth(s);
    // An ApplySet prunes what synth no longer writes (a removed role group), as GitOps tools do;
    // claims are never part of it, so they stay.
    return kubectl(['apply', '--server-side', '--prune', `--applyset=demo`, '-n', ns.name, '-f', file]);
  }

  async function applied(s: Shape, what: string): Promise<void> {
    const result = await apply(s);
    if (result.code !== 0) throw new Error(`${what}: kubectl apply failed: ${result.out}`);
  }

  it('applies every change a spec allows', async () => {
    await applied(base, 'the first apply');
    await expectShape(ns.name, base);
    for (const [what, shape] of steps) {
      await applied(shape, what);
      await expectShape(ns.name, shape);
    }
  });

  it('grows storage with the documented steps, keeping the claims and the pods', async () => {
    await applied(base, 'the first apply');
    await claimsBound(ns.name, 2);
    const before = await claims(ns.name);
    const grown: Shape = { capacity: '2Gi' };
    // The claim template is immutable: one apply cannot change it, and the API server says so.
    const refused = await apply(grown);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toContain('updates to statefulset spec for fields other than');
    // 1. grow each claim; 2. let go of the StatefulSet, not of its pods; 3. apply.
    for (const c of before) {
      const r = await kubectl([
        'patch',
        'pvc',
        c.metadata!.name!,
        '-n',
        ns.name,
        '-p',
        '{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}',
      ]);
      expect(r).toMatchObject({ code: 0 });
    }
    expect(
      await kubectl(['delete', 'statefulset', 'demo-servers-default', '--cascade=orphan', '-n', ns.name]),
    ).toMatchObject({ code: 0 });
    await applied(grown, 'the apply after the documented steps');
    const sts = await statefulSet(ns.name, 'demo-servers-default');
    expect(sts.spec!.volumeClaimTemplates![0].spec!.resources!.requests!.storage).toBe('2Gi');
    const after = await claims(ns.name);
    expect(after.map((c) => c.metadata!.uid)).toEqual(before.map((c) => c.metadata!.uid));
    expect(after.map((c) => c.spec!.resources!.requests!.storage)).toEqual(['2Gi', '2Gi']);
  });

  /** Runs `keelson storage apply` (the command line, in this process) on the synth output of `s`. */
  async function storageApply(s: Shape, ...flags: string[]): Promise<{ code: number; out: string }> {
    const file = synth(s);
    let out = '';
    const capture = (chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    };
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
    const before = process.exitCode;
    try {
      await keelsonCli([BEACON]).parseAsync([
        'node',
        'keelson',
        'storage',
        'apply',
        '-f',
        file,
        '--kubeconfig',
        process.env.KEELSON_TEST_KUBECONFIG!,
        ...flags,
      ]);
      return { code: Number(process.exitCode ?? 0), out };
    } finally {
      process.exitCode = before;
      stdout.mockRestore();
      stderr.mockRestore();
    }
  }

  /** The uids of the Beacon servers' pods once `count` of them run. */
  async function runningPods(count: number): Promise<string[]> {
    const pods = async () =>
      (
        await core.listNamespacedPod({
          namespace: ns.name,
          labelSelector: 'app.kubernetes.io/instance=demo,app.kubernetes.io/component=servers',
        })
      ).items;
    await waitFor(`${count} running servers pods in ${ns.name}`, async () => {
      const all = await pods();
      return all.length === count && all.every((p) => p.status?.phase === 'Running');
    });
    return (await pods()).map((p) => p.metadata!.uid!).sort();
  }

  it('grows storage with keelson storage apply, keeping the claims and the pods, and the next apply goes through', async () => {
    await applied(base, 'the first apply');
    await claimsBound(ns.name, 2);
    const pods = await runningPods(2);
    const before = await claims(ns.name);
    const grown: Shape = { capacity: '2Gi' };
    expect((await apply(grown)).out).toContain('updates to statefulset spec for fields other than');

    // --dry-run says what it would do and changes nothing.
    const plan = await storageApply(grown, '--dry-run');
    expect(plan).toMatchObject({ code: 0 });
    expect(plan.out).toContain(
      `statefulset ${ns.name}/demo-servers-default: grow claim data-demo-servers-default-0 from 1Gi to 2Gi`,
    );
    expect(plan.out).toContain('delete with propagationPolicy=Orphan');
    expect(await sizes(ns.name)).toEqual({
      'data-demo-servers-default-0': '1Gi',
      'data-demo-servers-default-1': '1Gi',
    });
    const uid = (await statefulSet(ns.name, 'demo-servers-default')).metadata!.uid;
    expect(uid).toBeDefined();

    const done = await storageApply(grown);
    expect(done).toMatchObject({ code: 0 });
    expect(done.out).toContain('recreated by server-side apply as field manager "kubectl"');
    const sts = await statefulSet(ns.name, 'demo-servers-default');
    expect(sts.metadata!.uid).not.toBe(uid);
    expect(sts.spec!.volumeClaimTemplates![0].spec!.resources!.requests!.storage).toBe('2Gi');
    const after = await claims(ns.name);
    expect(after.map((c) => c.metadata!.uid)).toEqual(before.map((c) => c.metadata!.uid));
    expect(after.map((c) => c.spec!.resources!.requests!.storage)).toEqual(['2Gi', '2Gi']);
    // The new StatefulSet adopts the pods it did not make, and does not replace them.
    await waitFor('the new StatefulSet to own the running pods', async () => {
      const owned = (
        await core.listNamespacedPod({
          namespace: ns.name,
          labelSelector: 'app.kubernetes.io/instance=demo,app.kubernetes.io/component=servers',
        })
      ).items.filter((p) => p.metadata!.ownerReferences?.some((o) => o.uid === sts.metadata!.uid));
      return owned.length === 2;
    });
    expect(await runningPods(2)).toEqual(pods);

    // Idempotent: a second run finds nothing to do; the user's own apply is accepted again.
    const again = await storageApply(grown);
    expect(again).toMatchObject({ code: 0 });
    expect(again.out).toContain('nothing to do');
    expect((await statefulSet(ns.name, 'demo-servers-default')).metadata!.uid).toBe(sts.metadata!.uid);
    await applied(grown, 'the apply after keelson storage apply');
    expect(await runningPods(2)).toEqual(pods);

    // A smaller capacity is refused, naming the field; nothing changes.
    const shrink = await storageApply({ capacity: '1Gi' });
    expect(shrink.code).toBe(2);
    expect(shrink.out).toContain(
      'StatefulSet demo-servers-default spec.volumeClaimTemplates[name=data].spec.resources.requests.storage is 1Gi: ' +
        'claim data-demo-servers-default-0 holds 2Gi',
    );
    expect(shrink.out).toContain('cannot shrink');
    expect(shrink.out).toContain('nothing was changed');
    expect((await statefulSet(ns.name, 'demo-servers-default')).metadata!.uid).toBe(sts.metadata!.uid);
    expect(new Set(Object.values(await sizes(ns.name)))).toEqual(new Set(['2Gi']));

    // Another StorageClass cannot move the data: said, with what to do; nothing changes.
    const moved = await storageApply({ capacity: '2Gi', storageClass: fixed });
    expect(moved.code).toBe(2);
    expect(moved.out).toContain(
      `asks for storageClass "${fixed}", but its claims were made with "${expandable}"`,
    );
    expect(moved.out).toContain('copy it to claims of the new class yourself');
    expect((await statefulSet(ns.name, 'demo-servers-default')).metadata!.uid).toBe(sts.metadata!.uid);
  });

  it('says so, naming the claim and the StorageClass, when the StorageClass does not allow expansion, and changes nothing', async () => {
    const small: Shape = { storageClass: fixed };
    await applied(small, 'the first apply');
    await claimsBound(ns.name, 2);
    const uid = (await statefulSet(ns.name, 'demo-servers-default')).metadata!.uid;
    const result = await storageApply({ ...small, capacity: '3Gi' }, '--output', 'json');
    expect(result.code).toBe(2);
    const report = JSON.parse(result.out) as {
      ok: boolean;
      changed: boolean;
      statefulSets: { name: string; problems: string[] }[];
    };
    expect(report).toMatchObject({ ok: false, changed: false });
    const servers = report.statefulSets.find((s) => s.name === 'demo-servers-default')!;
    expect(servers.problems).toEqual([
      expect.stringContaining(
        `claim data-demo-servers-default-0 cannot grow from 1Gi to 3Gi: its StorageClass "${fixed}" does not allow volume expansion`,
      ),
      expect.stringContaining(`claim data-demo-servers-default-1 cannot grow from 1Gi to 3Gi`),
    ]);
    expect((await statefulSet(ns.name, 'demo-servers-default')).metadata!.uid).toBe(uid);
    expect(await sizes(ns.name)).toEqual({
      'data-demo-servers-default-0': '1Gi',
      'data-demo-servers-default-1': '1Gi',
    });
  });
});
