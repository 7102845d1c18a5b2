import {
  jvmHeapFromMemory,
  jvmHeapMiB,
  jvmHeapProblems,
  resourceRequirements,
  resourcesProblems,
  volumeClaimTemplates,
} from '../lib/resources';

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

describe('resourcesProblems', () => {
  it('accepts valid resources', () => {
    expect(
      resourcesProblems(
        {
          cpu: { min: '250m', max: '1' },
          memory: { limit: '1Gi' },
          storage: { data: { capacity: '10Gi', storageClass: 'fast.ssd' } },
        },
        PATH,
      ),
    ).toEqual([]);
    expect(resourcesProblems(undefined, PATH)).toEqual([]);
  });

  it('accepts min equal to max in other units', () => {
    expect(resourcesProblems({ cpu: { min: '1000m', max: '1' } }, PATH)).toEqual([]);
  });

  it('rejects cpu min above max, naming both', () => {
    expect(resourcesProblems({ cpu: { min: '2', max: '500m' } }, PATH)).toEqual([
      `${PATH}.cpu: min (2) must not exceed max (500m)`,
    ]);
  });

  it('rejects invalid quantity strings, one problem per field', () => {
    const problems = resourcesProblems(
      {
        cpu: { min: 'lots', max: '1 core' },
        memory: { limit: '2GB' },
        storage: { data: { capacity: 'big' } },
      },
      PATH,
    );
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(
      new RegExp(`^${PATH.replace(/\./g, '\\.')}\\.cpu\\.min: "lots" is not a Kubernetes quantity`),
    );
    expect(problems[1]).toMatch(/\.cpu\.max: "1 core" is not a Kubernetes quantity/);
    expect(problems[2]).toMatch(/\.memory\.limit: "2GB" is not a Kubernetes quantity/);
    expect(problems[3]).toMatch(/\.storage\.data\.capacity: "big" is not a Kubernetes quantity/);
  });

  it('rejects storage capacity of zero or less', () => {
    expect(
      resourcesProblems({ storage: { data: { capacity: '0' }, log: { capacity: '-1Gi' } } }, PATH),
    ).toEqual([
      `${PATH}.storage.data.capacity: must be greater than 0, not "0"`,
      `${PATH}.storage.log.capacity: must be greater than 0, not "-1Gi"`,
    ]);
  });

  it('rejects a zero cpu max or memory limit and a negative cpu min, but accepts a zero cpu min', () => {
    expect(resourcesProblems({ cpu: { min: '0' } }, PATH)).toEqual([]);
    expect(resourcesProblems({ cpu: { min: '-1', max: '0' }, memory: { limit: '0' } }, PATH)).toEqual([
      `${PATH}.cpu.min: must be at least 0, not "-1"`,
      `${PATH}.cpu.max: must be greater than 0, not "0"`,
      `${PATH}.memory.limit: must be greater than 0, not "0"`,
    ]);
  });

  it('rejects fractions of a byte', () => {
    expect(resourcesProblems({ memory: { limit: '500m' } }, PATH)).toEqual([
      `${PATH}.memory.limit: "500m" is not a whole number of bytes; use a suffix like Mi or Gi, not m`,
    ]);
  });

  it('rejects volume names and storage classes Kubernetes would not accept', () => {
    const problems = resourcesProblems(
      { storage: { Data_1: { capacity: '1Gi', storageClass: 'Fast SSD' } } },
      PATH,
    );
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(
      new RegExp(`^${PATH.replace(/\./g, '\\.')}\\.storage: the volume name "Data_1" must consist`),
    );
    expect(problems[1]).toMatch(/\.storage\.Data_1\.storageClass: "Fast SSD" must consist/);
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
