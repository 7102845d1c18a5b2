import { deepMerge, mergeObjectOverride, mergePodTemplate } from '../lib/merge';

describe('deepMerge', () => {
  it('merges nested objects, the override winning', () => {
    const base = { resources: { cpu: { min: '1', max: '2' }, memory: { limit: '1Gi' } }, tickTime: 2000 };
    expect(deepMerge(base, { resources: { cpu: { max: '4' } }, tickTime: 3000 })).toEqual({
      resources: { cpu: { min: '1', max: '4' }, memory: { limit: '1Gi' } },
      tickTime: 3000,
    });
  });

  it('applies several overrides in order, the last winning', () => {
    const defaults = { a: 1, b: 1, c: 1 };
    expect(deepMerge(defaults, { b: 2, c: 2 }, { c: 3 })).toEqual({ a: 1, b: 2, c: 3 });
  });

  it('replaces arrays rather than merging them', () => {
    expect(deepMerge({ args: ['-a', '-b'] }, { args: ['-c'] })).toEqual({ args: ['-c'] });
  });

  it('ignores undefined in the override', () => {
    expect(deepMerge({ a: 1, b: { c: 2 } }, { a: undefined, b: undefined })).toEqual({ a: 1, b: { c: 2 } });
    expect(deepMerge({ a: 1 }, undefined)).toEqual({ a: 1 });
  });

  it('removes a key set to null', () => {
    expect(deepMerge({ a: 1, b: { c: 2, d: 3 } }, { b: { c: null } })).toEqual({ a: 1, b: { d: 3 } });
  });

  it('drops nulls inside an object the base did not have', () => {
    expect(deepMerge<Record<string, unknown>>({}, { x: { y: null, z: 1 } })).toEqual({ x: { z: 1 } });
  });

  it('replaces a value of another type', () => {
    expect(deepMerge<Record<string, unknown>>({ a: 'text' }, { a: { b: 1 } })).toEqual({ a: { b: 1 } });
    expect(deepMerge<Record<string, unknown>>({ a: { b: 1 } }, { a: 'text' })).toEqual({ a: 'text' });
  });

  it('treats class instances as single values', () => {
    class Size {
      constructor(readonly bytes: number) {}
    }
    const size = new Size(2);
    const result = deepMerge<Record<string, unknown>>({ size: new Size(1) }, { size });
    expect(result.size).toBe(size);
  });

  it('changes neither input and shares nothing with them', () => {
    const base = { nested: { list: [1, 2] } };
    const override = { nested: { other: { x: 1 } } };
    const result = deepMerge<Record<string, unknown>>(base, override);
    (result.nested as { list: number[] }).list.push(3);
    ((result.nested as { other: { x: number } }).other as { x: number }).x = 2;
    expect(base).toEqual({ nested: { list: [1, 2] } });
    expect(override).toEqual({ nested: { other: { x: 1 } } });
  });

  it('keeps "$patch" keys as plain data', () => {
    expect(deepMerge<Record<string, unknown>>({}, { $patch: 'x' })).toEqual({ $patch: 'x' });
  });

  it('does not let a "__proto__" key pollute prototypes', () => {
    const override: Record<string, unknown> = JSON.parse('{"__proto__": {"polluted": true}}');
    const result = deepMerge<Record<string, unknown>>({}, override);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.keys(result)).toEqual(['__proto__']);
  });
});

function template(): Record<string, unknown> {
  return {
    metadata: { labels: { app: 'x' }, annotations: { a: '1' } },
    spec: {
      serviceAccountName: 'sa',
      containers: [
        {
          name: 'main',
          image: 'main:1',
          args: ['run'],
          env: [
            { name: 'A', value: '1' },
            { name: 'B', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
          ],
          ports: [
            { name: 'http', containerPort: 8080 },
            { name: 'metrics', containerPort: 9090 },
          ],
          volumeMounts: [
            { name: 'config', mountPath: '/config' },
            { name: 'data', mountPath: '/data' },
          ],
          resources: { limits: { cpu: '1', memory: '1Gi' } },
        },
        { name: 'sidecar', image: 'sidecar:1' },
      ],
      initContainers: [{ name: 'prepare', image: 'main:1', env: [{ name: 'A', value: '1' }] }],
      volumes: [
        { name: 'config', configMap: { name: 'cm' } },
        { name: 'tmp', emptyDir: { medium: 'Memory' } },
      ],
      imagePullSecrets: [{ name: 'one' }],
      tolerations: [{ key: 'a', operator: 'Exists' }],
    },
  };
}

type Container = Record<string, unknown> & { name: string };
function containers(result: Record<string, unknown>): Container[] {
  return (result.spec as { containers: Container[] }).containers;
}
function spec(result: Record<string, unknown>): Record<string, unknown[]> {
  return result.spec as Record<string, unknown[]>;
}

describe('mergePodTemplate', () => {
  it('changes one container field and keeps the other containers and fields', () => {
    const result = mergePodTemplate(template(), {
      spec: { containers: [{ name: 'main', image: 'main:2' }] },
    });
    expect(containers(result).map((c) => [c.name, c.image])).toEqual([
      ['main', 'main:2'],
      ['sidecar', 'sidecar:1'],
    ]);
    expect(containers(result)[0].args).toEqual(['run']);
    expect(containers(result)[0].env).toHaveLength(2);
  });

  it('appends a container that does not exist', () => {
    const result = mergePodTemplate(template(), { spec: { containers: [{ name: 'extra', image: 'e:1' }] } });
    expect(containers(result).map((c) => c.name)).toEqual(['main', 'sidecar', 'extra']);
  });

  it('merges init containers by name', () => {
    const result = mergePodTemplate(template(), {
      spec: { initContainers: [{ name: 'prepare', env: [{ name: 'B', value: '2' }] }] },
    });
    expect(spec(result).initContainers).toEqual([
      {
        name: 'prepare',
        image: 'main:1',
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
      },
    ]);
  });

  it('merges env by name, replacing a matched variable whole', () => {
    const result = mergePodTemplate(template(), {
      spec: {
        containers: [
          {
            name: 'main',
            env: [
              { name: 'B', value: 'plain' },
              { name: 'C', value: '3' },
            ],
          },
        ],
      },
    });
    expect(containers(result)[0].env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: 'plain' },
      { name: 'C', value: '3' },
    ]);
  });

  it('merges ports by containerPort', () => {
    const result = mergePodTemplate(template(), {
      spec: { containers: [{ name: 'main', ports: [{ containerPort: 9090, hostPort: 19090 }] }] },
    });
    expect(containers(result)[0].ports).toEqual([
      { name: 'http', containerPort: 8080 },
      { name: 'metrics', containerPort: 9090, hostPort: 19090 },
    ]);
  });

  it('moves a named port to another number', () => {
    const result = mergePodTemplate(template(), {
      spec: { containers: [{ name: 'main', ports: [{ name: 'http', containerPort: 8081 }] }] },
    });
    expect(containers(result)[0].ports).toEqual([
      { name: 'http', containerPort: 8081 },
      { name: 'metrics', containerPort: 9090 },
    ]);
  });

  it('tells ports of the same number apart by protocol', () => {
    const result = mergePodTemplate(template(), {
      spec: {
        containers: [{ name: 'main', ports: [{ name: 'dns', containerPort: 8080, protocol: 'UDP' }] }],
      },
    });
    expect(containers(result)[0].ports).toHaveLength(3);
  });

  it('merges volume mounts by mountPath', () => {
    const result = mergePodTemplate(template(), {
      spec: {
        containers: [
          {
            name: 'main',
            volumeMounts: [
              { mountPath: '/data', readOnly: true },
              { name: 'logs', mountPath: '/logs' },
            ],
          },
        ],
      },
    });
    expect(containers(result)[0].volumeMounts).toEqual([
      { name: 'config', mountPath: '/config' },
      { name: 'data', mountPath: '/data', readOnly: true },
      { name: 'logs', mountPath: '/logs' },
    ]);
  });

  it('replaces a volume source rather than combining two sources', () => {
    const result = mergePodTemplate(template(), {
      spec: { volumes: [{ name: 'config', secret: { secretName: 's' } }] },
    });
    expect(spec(result).volumes).toEqual([
      { name: 'config', secret: { secretName: 's' } },
      { name: 'tmp', emptyDir: { medium: 'Memory' } },
    ]);
  });

  it('merges within the same volume source', () => {
    const result = mergePodTemplate(template(), {
      spec: { volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '1Gi' } }] },
    });
    expect(spec(result).volumes[1]).toEqual({
      name: 'tmp',
      emptyDir: { medium: 'Memory', sizeLimit: '1Gi' },
    });
  });

  it('merges image pull secrets by name', () => {
    const result = mergePodTemplate(template(), {
      spec: { imagePullSecrets: [{ name: 'one' }, { name: 'two' }] },
    });
    expect(spec(result).imagePullSecrets).toEqual([{ name: 'one' }, { name: 'two' }]);
  });

  it('removes list items marked "$patch: delete"', () => {
    const result = mergePodTemplate(template(), {
      spec: {
        containers: [
          { name: 'sidecar', $patch: 'delete' },
          { name: 'main', env: [{ name: 'A', $patch: 'delete' }] },
        ],
        volumes: [{ name: 'tmp', $patch: 'delete' }],
      },
    });
    expect(containers(result).map((c) => c.name)).toEqual(['main']);
    expect(containers(result)[0].env).toEqual([
      { name: 'B', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
    ]);
    expect(spec(result).volumes).toEqual([{ name: 'config', configMap: { name: 'cm' } }]);
  });

  it('ignores a delete that matches nothing and never writes "$patch" into the result', () => {
    const result = mergePodTemplate(template(), {
      spec: {
        containers: [{ name: 'missing', $patch: 'delete' }],
        initContainers: [{ name: 'new', env: [{ name: 'X', $patch: 'delete' }] }],
      },
    });
    expect(containers(result).map((c) => c.name)).toEqual(['main', 'sidecar']);
    expect(JSON.stringify(result)).not.toContain('$patch');
  });

  it('replaces lists without a merge key', () => {
    const result = mergePodTemplate(template(), {
      spec: {
        tolerations: [{ key: 'b', operator: 'Exists' }],
        containers: [{ name: 'main', args: ['serve'] }],
      },
    });
    expect(spec(result).tolerations).toEqual([{ key: 'b', operator: 'Exists' }]);
    expect(containers(result)[0].args).toEqual(['serve']);
  });

  it('merges metadata maps and removes a field set to null', () => {
    const result = mergePodTemplate(template(), {
      metadata: { labels: { extra: 'y' }, annotations: { a: null } },
      spec: { serviceAccountName: null, containers: [{ name: 'main', resources: { limits: { cpu: '2' } } }] },
    });
    expect(result.metadata).toEqual({ labels: { app: 'x', extra: 'y' }, annotations: {} });
    expect(spec(result).serviceAccountName).toBeUndefined();
    expect(containers(result)[0].resources).toEqual({ limits: { cpu: '2', memory: '1Gi' } });
  });

  it('returns a copy of the base without an override', () => {
    const base = template();
    const result = mergePodTemplate(base, undefined);
    expect(result).toEqual(base);
    expect(result).not.toBe(base);
    expect(containers(result)[0]).not.toBe(containers(base)[0]);
  });

  it('changes neither input', () => {
    const base = template();
    const override = { spec: { containers: [{ name: 'main', env: [{ name: 'A', $patch: 'delete' }] }] } };
    const before = JSON.stringify([base, override]);
    mergePodTemplate(base, override);
    expect(JSON.stringify([base, override])).toBe(before);
  });

  it('rejects an unsupported $patch directive on a list item', () => {
    expect(() =>
      mergePodTemplate(template(), { spec: { containers: [{ name: 'main', $patch: 'replace' }] } }),
    ).toThrow(/unsupported \$patch "replace" in a list item; the only directive is "delete"/);
  });

  it('rejects $patch on a map', () => {
    expect(() => mergePodTemplate(template(), { spec: { affinity: { $patch: 'delete' } } })).toThrow(
      /\$patch: delete" is only for items of merged lists; set a field to null to remove it/,
    );
  });
});

describe('mergeObjectOverride', () => {
  const statefulSet = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'zk-servers-default', labels: { app: 'zk' } },
    spec: {
      replicas: 3,
      template: template(),
      volumeClaimTemplates: [
        { metadata: { name: 'data' }, spec: { resources: { requests: { storage: '1Gi' } } } },
        { metadata: { name: 'log' }, spec: { resources: { requests: { storage: '1Gi' } } } },
      ],
    },
  };

  it('merges the pod template of a workload with list merge keys', () => {
    const result = mergeObjectOverride(statefulSet, {
      metadata: { labels: { team: 'data' } },
      spec: { replicas: 5, template: { spec: { containers: [{ name: 'main', image: 'main:3' }] } } },
    });
    expect(result.metadata).toEqual({ name: 'zk-servers-default', labels: { app: 'zk', team: 'data' } });
    expect(result.spec.replicas).toBe(5);
    expect(containers(result.spec.template).map((c) => [c.name, c.image])).toEqual([
      ['main', 'main:3'],
      ['sidecar', 'sidecar:1'],
    ]);
  });

  it('merges StatefulSet claim templates by name', () => {
    const result = mergeObjectOverride(statefulSet, {
      spec: { volumeClaimTemplates: [{ metadata: { name: 'log' }, spec: { storageClassName: 'fast' } }] },
    });
    expect(result.spec.volumeClaimTemplates).toEqual([
      { metadata: { name: 'data' }, spec: { resources: { requests: { storage: '1Gi' } } } },
      {
        metadata: { name: 'log' },
        spec: { resources: { requests: { storage: '1Gi' } }, storageClassName: 'fast' },
      },
    ]);
  });

  it('merges the job template of a CronJob', () => {
    const cronJob = { kind: 'CronJob', spec: { jobTemplate: { spec: { template: template() } } } };
    const result = mergeObjectOverride(cronJob, {
      spec: {
        jobTemplate: { spec: { template: { spec: { containers: [{ name: 'sidecar', image: 's:2' }] } } } },
      },
    });
    expect(containers(result.spec.jobTemplate.spec.template).map((c) => c.image)).toEqual(['main:1', 's:2']);
  });

  it('merges Service ports by port number', () => {
    const service = {
      kind: 'Service',
      spec: {
        type: 'ClusterIP',
        ports: [
          { name: 'client', port: 2181, targetPort: 2181 },
          { name: 'metrics', port: 9505 },
        ],
      },
    };
    const result = mergeObjectOverride(service, {
      spec: { type: 'NodePort', ports: [{ port: 2181, nodePort: 30181 }] },
    });
    expect(result.spec).toEqual({
      type: 'NodePort',
      ports: [
        { name: 'client', port: 2181, targetPort: 2181, nodePort: 30181 },
        { name: 'metrics', port: 9505 },
      ],
    });
  });

  it('replaces lists of kinds without merge rules', () => {
    const configMap = { kind: 'ConfigMap', data: { a: '1' }, metadata: { finalizers: ['a'] } };
    expect(mergeObjectOverride(configMap, { data: { b: '2' }, metadata: { finalizers: ['b'] } })).toEqual({
      kind: 'ConfigMap',
      data: { a: '1', b: '2' },
      metadata: { finalizers: ['b'] },
    });
  });

  it('rejects $patch on a map of any kind', () => {
    expect(() =>
      mergeObjectOverride({ kind: 'ConfigMap', data: {} }, { data: { $patch: 'delete' } }),
    ).toThrow(/only for items of merged lists/);
  });
});
