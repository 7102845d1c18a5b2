import { containsDesired, isUpToDate, withAppliedHash } from '../lib/operator/compare';
import { mergeConditions, reconciledConditions, statusChanged } from '../lib/operator/conditions';
import { operatorRules } from '../lib/operator/deployment';
import { BEACON } from './example-product/beacon';

describe('containsDesired', () => {
  it('ignores what the API server adds and compares quantities by value', () => {
    const desired = {
      spec: {
        template: {
          spec: { containers: [{ name: 'a', resources: { limits: { memory: '1024Mi', cpu: '0.5' } } }] },
        },
        volumeClaimTemplates: [{ spec: { resources: { requests: { storage: '2048Mi' } } } }],
      },
    };
    const live = {
      spec: {
        revisionHistoryLimit: 10,
        template: {
          spec: {
            dnsPolicy: 'ClusterFirst',
            containers: [
              {
                name: 'a',
                terminationMessagePath: '/dev/termination-log',
                resources: { limits: { memory: '1Gi', cpu: '500m' } },
              },
            ],
          },
        },
        volumeClaimTemplates: [
          { kind: 'PersistentVolumeClaim', spec: { resources: { requests: { storage: '2Gi' } } } },
        ],
      },
      status: { replicas: 1 },
    };
    expect(containsDesired(desired, live)).toBe(true);
  });

  it('rejects a changed value, a different list length, and a quantity outside quantity fields', () => {
    expect(containsDesired({ a: { replicas: 2 } }, { a: { replicas: 1 } })).toBe(false);
    expect(containsDesired({ env: [{ name: 'A' }] }, { env: [{ name: 'A' }, { name: 'B' }] })).toBe(false);
    expect(containsDesired({ data: { size: '1Gi' } }, { data: { size: '1024Mi' } })).toBe(false);
  });

  it('treats empty maps and lists as what the API server drops', () => {
    expect(containsDesired({ emptyDir: {}, args: [] }, {})).toBe(true);
    expect(containsDesired({ targetPort: 8080 }, { targetPort: '8080' })).toBe(true);
  });
});

describe('isUpToDate', () => {
  const desired = withAppliedHash({ metadata: { name: 'x', labels: { a: 'b' } }, data: { k: 'v' } });

  it('skips an object the live one already holds', () => {
    expect(
      isUpToDate(desired, { ...desired, metadata: { ...desired.metadata, resourceVersion: '5' } } as never),
    ).toBe(true);
  });

  it('applies when a field keelson stopped setting is still live (the hash differs)', () => {
    const previous = withAppliedHash({
      metadata: { name: 'x', labels: { a: 'b', old: 'y' } },
      data: { k: 'v' },
    });
    expect(isUpToDate(desired, previous)).toBe(false);
  });

  it('applies when a managed field was edited by hand', () => {
    expect(isUpToDate(desired, { ...desired, data: { k: 'edited' } })).toBe(false);
    expect(isUpToDate(desired, undefined)).toBe(false);
  });
});

describe('conditions', () => {
  it('keeps lastTransitionTime while the status stays, and reports no change for the same conditions', () => {
    const first = mergeConditions(
      undefined,
      { Available: { status: 'False', reason: 'A', message: 'm' } },
      1,
      't1',
    );
    const second = mergeConditions(
      first,
      { Available: { status: 'False', reason: 'B', message: 'n' } },
      2,
      't2',
    );
    expect(second[0]).toEqual({
      type: 'Available',
      status: 'False',
      reason: 'B',
      message: 'n',
      observedGeneration: 2,
      lastTransitionTime: 't1',
    });
    const third = mergeConditions(
      second,
      { Available: { status: 'True', reason: 'C', message: 'o' } },
      2,
      't3',
    );
    expect(third[0].lastTransitionTime).toBe('t3');
    const again = mergeConditions(
      third,
      { Available: { status: 'True', reason: 'C', message: 'o' } },
      2,
      't4',
    );
    expect(
      statusChanged(
        { observedGeneration: 2, conditions: third },
        { observedGeneration: 2, conditions: again },
      ),
    ).toBe(false);
  });
});

describe('reconciledConditions', () => {
  const base = {
    generation: 3,
    namespace: 'data',
    stopped: false,
    workloads: [
      { ready: true, text: 'StatefulSet a 1/1 ready' },
      { ready: false, text: 'Deployment b 0/1 ready' },
    ],
    missingSecrets: [] as string[],
  };

  it('reports rolling workloads as Progressing and not Available, naming them', () => {
    const c = reconciledConditions(base);
    expect(c.Available).toMatchObject({ status: 'False', reason: 'ReplicasNotReady' });
    expect(c.Available?.message).toContain('Deployment b 0/1 ready');
    expect(c.Progressing).toMatchObject({ status: 'True', reason: 'RollingOut' });
    expect(c.Degraded).toMatchObject({ status: 'False', message: 'all objects applied (generation 3)' });
  });

  it('is Available and done when every workload is ready', () => {
    const c = reconciledConditions({ ...base, workloads: [base.workloads[0]] });
    expect(c.Available).toMatchObject({ status: 'True', reason: 'AllReplicasReady' });
    expect(c.Progressing).toMatchObject({ status: 'False', reason: 'Reconciled' });
    expect(c.Stopped).toMatchObject({ status: 'False' });
  });

  it('names a missing Secret in Progressing and Available', () => {
    const c = reconciledConditions({ ...base, missingSecrets: ['db', 'tls'] });
    expect(c.Progressing).toMatchObject({ status: 'True', reason: 'SecretMissing' });
    expect(c.Progressing?.message).toBe(
      'waiting for Secret "db", Secret "tls" in namespace data, which the pods read',
    );
    expect(c.Available?.message).toContain('Secret "db"');
  });

  it('does not hold a stopped stacklet up on a missing Secret', () => {
    const c = reconciledConditions({ ...base, stopped: true, workloads: [], missingSecrets: ['db'] });
    expect(c.Stopped).toMatchObject({ status: 'True', reason: 'Stopped' });
    expect(c.Available).toMatchObject({ status: 'False', reason: 'Stopped' });
    expect(c.Progressing?.reason).not.toBe('SecretMissing');
    expect(JSON.stringify(c)).not.toContain('Secret');
  });
});

describe('operatorRules', () => {
  it('grants only the kinds and verbs the operator uses: list and watch on Secrets, get, list and watch on pods, list and patch on PersistentVolumeClaims', () => {
    const rules = operatorRules([BEACON]) as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    const resources = rules.flatMap((r) => r.resources);
    expect(resources).toEqual(
      expect.arrayContaining(['beaconclusters', 'beaconclusters/status', 'statefulsets', 'leases', 'events']),
    );
    expect(rules.filter((r) => r.resources.includes('secrets'))).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['list', 'watch'] },
    ]);
    // Pods: watched for their status, read one by one only for the pod a certificate request
    // names, never written.
    expect(rules.filter((r) => r.resources.includes('pods'))).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
    ]);
    // Claims are grown, never created or deleted; StorageClasses only read.
    expect(rules.filter((r) => r.resources.includes('persistentvolumeclaims'))).toEqual([
      { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['list', 'patch'] },
    ]);
    expect(rules.filter((r) => r.resources.includes('storageclasses'))).toEqual([
      { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get'] },
    ]);
    expect(rules.flatMap((r) => r.verbs)).not.toContain('*');
    expect(rules.find((r) => r.resources.includes('beaconclusters'))!.verbs).toEqual([
      'get',
      'list',
      'watch',
    ]);
  });
});
