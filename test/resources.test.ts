import {
  jvmHeapFromMemory,
  jvmHeapMiB,
  jvmHeapProblems,
  resourceRequirements,
  volumeClaimTemplates,
} from '../lib/resources';
import { ResourcesSchema } from '../lib/spec/common';
import { specProblems } from '../lib/spec/validate';

const PATH = 'spec.servers.roleGroups.default.config.resources';

describe('resourceRequirements', () => {
  it('maps cpu min/max to request/limit and memory to both', () => {
    expect(resourceRequirements({ cpu: { min: '500m', max: '2' }, memory: { limit: '2Gi' } })).toEqual({
      requests: { cpu: '500m', memory: '2Gi' },
      limits: { cpu: '2', memory: '2Gi' },
    });
  });

  it('leaves out what the spec leaves out', () => {
    expect(resourceRequirements({ cpu: { max: '1' } })).toEqual({ requests: {}, limits: { cpu: '1' } });
    expect(resourceRequirements({})).toEqual({ requests: {}, limits: {} });
  });
});

// The checks of `resources` live in the spec schema (lib/spec/common.ts), which the API server runs
// at admission as CEL and synth runs as TypeScript; these are the synth half.
describe('resources validation (ResourcesSchema)', () => {
  const problems = (resources: unknown) => specProblems(ResourcesSchema, resources, PATH);

  it('accepts valid resources', () => {
    expect(
      problems({
        cpu: { min: '250m', max: '1' },
        memory: { limit: '1Gi' },
        storage: { data: { capacity: '10Gi', storageClass: 'fast.ssd' } },
      }),
    ).toEqual([]);
    expect(problems({})).toEqual([]);
  });

  it('accepts min equal to max in other units, and whole byte counts written with fractions', () => {
    expect(problems({ cpu: { min: '1000m', max: '1' } })).toEqual([]);
    expect(problems({ memory: { limit: '1.5Gi' }, storage: { data: { capacity: '0.5Ki' } } })).toEqual([]);
  });

  it('rejects cpu min above max', () => {
    expect(problems({ cpu: { min: '2', max: '500m' } })).toEqual([
      `${PATH}.cpu.min: cpu.min must not exceed cpu.max`,
    ]);
  });

  it('rejects invalid quantity strings, one problem per field', () => {
    const found = problems({
      cpu: { min: 'lots', max: '1 core' },
      memory: { limit: '2GB' },
      storage: { data: { capacity: 'big' } },
    });
    const expected = 'is not a Kubernetes quantity such as 500m, 2 or 4Gi';
    expect(found).toEqual([
      `${PATH}.cpu.min: "lots" ${expected}`,
      `${PATH}.cpu.max: "1 core" ${expected}`,
      `${PATH}.memory.limit: "2GB" ${expected}`,
      `${PATH}.storage.data.capacity: "big" ${expected}`,
    ]);
  });

  it.each(['1.2.3', '1e', '1ee3', '1Mi2', '1KI', '.', '5n'])(
    'rejects %j, which the API server or keelson could not read as a quantity',
    (text) => {
      expect(problems({ cpu: { max: text } })).toEqual([
        `${PATH}.cpu.max: "${text}" is not a Kubernetes quantity such as 500m, 2 or 4Gi`,
      ]);
    },
  );

  it('rejects storage capacity of zero or less', () => {
    expect(problems({ storage: { data: { capacity: '0' }, log: { capacity: '-1Gi' } } })).toEqual([
      `${PATH}.storage[data].capacity: capacity must be greater than 0`,
      `${PATH}.storage[log].capacity: capacity must be greater than 0`,
    ]);
  });

  it('rejects a zero cpu max or memory limit and a negative cpu min, but accepts a zero cpu min', () => {
    expect(problems({ cpu: { min: '0' } })).toEqual([]);
    expect(problems({ cpu: { min: '-1', max: '0' }, memory: { limit: '0' } })).toEqual([
      `${PATH}.cpu.min: cpu.min must not be negative`,
      `${PATH}.cpu.max: cpu.max must be greater than 0`,
      `${PATH}.memory.limit: memory.limit must be greater than 0`,
    ]);
  });

  it('rejects fractions of a byte in memory and storage, once per mistake', () => {
    const advice = 'must be a whole number of bytes; use a suffix such as Mi or Gi, not m or a fraction';
    expect(problems({ memory: { limit: '500m' }, storage: { data: { capacity: '1.5' } } })).toEqual([
      `${PATH}.memory.limit: memory.limit ${advice}`,
      `${PATH}.storage[data].capacity: capacity ${advice}`,
    ]);
    expect(problems({ memory: { limit: '-500m' } })).toEqual([
      `${PATH}.memory.limit: memory.limit must be greater than 0`,
    ]);
  });

  it('rejects volume names and storage classes Kubernetes would not accept', () => {
    expect(problems({ storage: { Data_1: { capacity: '1Gi' } } })).toEqual([
      `${PATH}.storage: "Data_1" is not a valid name; expected keys that are DNS labels (lower case letters, digits and -, at most 63 characters)`,
    ]);
    expect(problems({ storage: { ['v'.repeat(64)]: { capacity: '1Gi' } } })[0]).toMatch(
      /\.storage: "v{64}" is not a valid name/,
    );
    expect(problems({ storage: { data: { capacity: '1Gi', storageClass: 'Fast SSD' } } })).toEqual([
      `${PATH}.storage.data.storageClass: "Fast SSD" is not a StorageClass name (lower case letters, digits, '-' and '.', starting and ending with a letter or digit)`,
    ]);
    expect(
      problems({ storage: { data: { capacity: '1Gi', storageClass: `${'a'.repeat(250)}.com` } } }),
    ).toEqual([`${PATH}.storage.data.storageClass: must be at most 253 characters`]);
  });
});

describe('jvmHeapMiB', () => {
  it.each([
    ['512Mi', 256],
    ['1Gi', 768],
    ['2Gi', 1638],
    ['4Gi', 3276],
    ['1G', 697],
  ])('gives %s a heap of %d MiB by default', (limit, heap) => {
    expect(jvmHeapMiB(limit)).toBe(heap);
  });

  it('honours a fraction and a non-heap reserve', () => {
    expect(jvmHeapMiB('4Gi', { fraction: 0.5 })).toBe(2048);
    expect(jvmHeapMiB('1Gi', { reservedNonHeap: '0' })).toBe(819);
    expect(jvmHeapMiB('4Gi', { fraction: 1, reservedNonHeap: '1Gi' })).toBe(3072);
  });

  it('rejects a limit that leaves no heap', () => {
    expect(() => jvmHeapMiB('256Mi')).toThrow(
      'memory.limit: a memory limit of 256Mi leaves no room for a JVM heap after 256Mi of non-heap memory; raise the memory limit',
    );
  });
});

describe('jvmHeapProblems', () => {
  it('accepts a workable limit', () => {
    expect(jvmHeapProblems('1Gi', 'spec.x.memory.limit')).toEqual([]);
  });

  it('rejects an invalid limit and an out-of-range fraction, with the path', () => {
    expect(jvmHeapProblems('lots', 'spec.x.memory.limit')[0]).toMatch(
      /^spec\.x\.memory\.limit: "lots" is not/,
    );
    expect(jvmHeapProblems('1Gi', 'spec.x.memory.limit', { fraction: 1.5 })).toEqual([
      'spec.x.memory.limit: the heap fraction must be greater than 0 and at most 1, not 1.5',
    ]);
    expect(jvmHeapProblems('1Gi', 'p', { fraction: 0 })).toHaveLength(1);
  });
});

describe('jvmHeapFromMemory', () => {
  it('sets maximum and initial heap alike', () => {
    expect(jvmHeapFromMemory('1Gi')).toEqual(['-Xmx768m', '-Xms768m']);
    expect(jvmHeapFromMemory('2Gi', { fraction: 0.5 })).toEqual(['-Xmx1024m', '-Xms1024m']);
  });

  it('rejects an invalid limit', () => {
    expect(() => jvmHeapFromMemory('2GB')).toThrow(/"2GB" is not a Kubernetes quantity/);
  });
});

describe('volumeClaimTemplates', () => {
  it('makes one ReadWriteOnce claim per volume, sorted by name, with labels', () => {
    const labels = { 'app.kubernetes.io/instance': 'zk' };
    expect(
      volumeClaimTemplates(
        { log: { capacity: '1Gi', storageClass: 'fast' }, data: { capacity: '10Gi' } },
        labels,
      ),
    ).toEqual([
      {
        metadata: { name: 'data', labels },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } },
      },
      {
        metadata: { name: 'log', labels },
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Gi' } },
          storageClassName: 'fast',
        },
      },
    ]);
  });

  it('leaves storageClassName out when none is named', () => {
    const [claim] = volumeClaimTemplates({ data: { capacity: '1Gi' } }, {});
    expect('storageClassName' in claim.spec).toBe(false);
  });

  it('makes none without storage', () => {
    expect(volumeClaimTemplates(undefined, {})).toEqual([]);
    expect(volumeClaimTemplates({}, {})).toEqual([]);
  });

  it('does not share the labels object between claims', () => {
    const labels = { a: 'b' };
    const claims = volumeClaimTemplates({ x: { capacity: '1Gi' }, y: { capacity: '1Gi' } }, labels);
    expect(claims[0].metadata.labels).not.toBe(labels);
    expect(claims[0].metadata.labels).not.toBe(claims[1].metadata.labels);
  });
});
