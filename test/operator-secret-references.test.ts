import type { Manifest } from '../lib/operator/build';
import {
  podSecretReferences,
  SECRETS_HASH_ANNOTATION,
  withSecretsHashes,
  workloadSecretReferences,
} from '../lib/operator/secret-references';
import { POD_SECRET_ROADS, SECRET_ON_ROAD } from './support/pod-secret-roads';

const statefulSet = (podSpec: Record<string, unknown>, name = 'a-servers-default'): Manifest => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name, namespace: 'ns' },
  spec: {
    replicas: 1,
    template: { metadata: { annotations: { 'keelson.dev/config-hash': 'c' } }, spec: podSpec },
  },
});

const readsCredentials = {
  containers: [
    {
      name: 'main',
      env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
    },
  ],
};

const annotationOf = (manifest: Manifest) =>
  (manifest.spec as { template: { metadata?: { annotations?: Record<string, string> } } }).template.metadata
    ?.annotations?.[SECRETS_HASH_ANNOTATION];

describe('podSecretReferences', () => {
  it('finds Secrets in volumes, projected volumes, env and envFrom of containers and init containers', () => {
    const refs = podSecretReferences({
      volumes: [
        { name: 'tls', secret: { secretName: 'tls-cert' } },
        { name: 'cfg', configMap: { name: 'not-a-secret' } },
        {
          name: 'bundle',
          projected: { sources: [{ secret: { name: 'projected-one' } }, { configMap: { name: 'nope' } }] },
        },
      ],
      initContainers: [{ name: 'init', envFrom: [{ secretRef: { name: 'init-env' } }] }],
      containers: [
        {
          name: 'main',
          env: [
            { name: 'PLAIN', value: 'x' },
            { name: 'FROM_CM', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k' } } },
            { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
          ],
          envFrom: [{ configMapRef: { name: 'cm' } }, { secretRef: { name: 'app-env' } }],
        },
      ],
      imagePullSecrets: [{ name: 'registry' }],
    } as never);
    expect(refs.map((r) => r.name)).toEqual(['app-env', 'db', 'init-env', 'projected-one', 'tls-cert']);
  });

  // The admission policy's Secret guard is held to the same table (pod-override-policy.test.ts).
  it.each(Object.entries(POD_SECRET_ROADS))(
    'finds the Secret on every road the admission policy guards: %s',
    (_, spec) => {
      expect(podSecretReferences(spec as never)).toEqual([{ name: SECRET_ON_ROAD, optional: false }]);
    },
  );

  it('counts a Secret as optional only when every reference to it is optional', () => {
    const refs = podSecretReferences({
      volumes: [
        { secret: { secretName: 'both', optional: true } },
        { secret: { secretName: 'maybe', optional: true } },
      ],
      containers: [
        { envFrom: [{ secretRef: { name: 'both' } }, { secretRef: { name: 'maybe', optional: true } }] },
      ],
    });
    expect(refs).toEqual([
      { name: 'both', optional: false },
      { name: 'maybe', optional: true },
    ]);
  });

  it('finds nothing in a pod spec without Secrets, or without a spec', () => {
    expect(podSecretReferences({ containers: [{ env: [] }] })).toEqual([]);
    expect(podSecretReferences(undefined)).toEqual([]);
  });
});

describe('workloadSecretReferences', () => {
  it('reads the pod template of StatefulSets, Deployments and DaemonSets only', () => {
    for (const kind of ['StatefulSet', 'Deployment', 'DaemonSet'])
      expect(workloadSecretReferences({ ...statefulSet(readsCredentials), kind })).toEqual([
        { name: 'db', optional: false },
      ]);
    const configMap: Manifest = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x' },
      spec: { template: { spec: readsCredentials } },
    };
    expect(workloadSecretReferences(configMap)).toEqual([]);
  });
});

describe('withSecretsHashes', () => {
  const version = { uid: 'u1', resourceVersion: '10' };

  it('stamps only the workloads that reference a Secret, keeping their other annotations', () => {
    const plain = statefulSet({ containers: [{ name: 'main' }] }, 'plain');
    const reader = statefulSet(readsCredentials, 'reader');
    const { manifests, referenced, missing } = withSecretsHashes([plain, reader], () => version);
    expect(manifests[0]).toBe(plain);
    expect(annotationOf(manifests[1])).toMatch(/^[0-9a-f]{16}$/);
    expect(
      (manifests[1].spec as { template: { metadata: { annotations: Record<string, string> } } }).template
        .metadata.annotations['keelson.dev/config-hash'],
    ).toBe('c');
    expect(annotationOf(reader)).toBeUndefined();
    expect(referenced).toEqual(['db']);
    expect(missing).toEqual([]);
  });

  it('changes the hash when a Secret is created, changed or replaced, and not otherwise', () => {
    const hashWith = (v: { uid?: string; resourceVersion?: string } | undefined) =>
      annotationOf(withSecretsHashes([statefulSet(readsCredentials)], () => v).manifests[0]);
    const missing = hashWith(undefined);
    const first = hashWith(version);
    expect(hashWith(version)).toBe(first);
    expect(
      new Set([
        missing,
        first,
        hashWith({ ...version, resourceVersion: '11' }),
        hashWith({ ...version, uid: 'u2' }),
      ]).size,
    ).toBe(4);
  });

  it('names a required Secret that does not exist as missing, and an optional one not', () => {
    const pod = {
      containers: [
        {
          name: 'main',
          envFrom: [{ secretRef: { name: 'required' } }, { secretRef: { name: 'extra', optional: true } }],
        },
      ],
    };
    const { referenced, missing, manifests } = withSecretsHashes([statefulSet(pod)], () => undefined);
    expect(referenced).toEqual(['extra', 'required']);
    expect(missing).toEqual(['required']);
    expect(annotationOf(manifests[0])).toBeDefined();
  });

  it('keeps the stamp of a running workload while a Secret it reads is missing', () => {
    const stamp = (v: { uid?: string; resourceVersion?: string } | undefined, live?: string) =>
      annotationOf(
        withSecretsHashes(
          [statefulSet(readsCredentials)],
          () => v,
          () => live,
        ).manifests[0],
      );
    const running = stamp(version);
    // Deleted: the running pods keep their stamp, so they are not rolled into pods that cannot start.
    expect(stamp(undefined, running)).toBe(running);
    // Never stamped before (a new workload): stamped as missing.
    expect(stamp(undefined, undefined)).toBe(stamp(undefined));
    // Back with a new uid: a new stamp, so the pods roll once to read it.
    const back = stamp({ uid: 'u2', resourceVersion: '12' }, running);
    expect(back).not.toBe(running);
    // A present Secret is never masked by the live stamp.
    expect(stamp({ ...version, resourceVersion: '11' }, running)).not.toBe(running);
  });
});
