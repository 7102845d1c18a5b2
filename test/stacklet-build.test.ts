import { find, synthBeacon as synth } from './support/synth';
import { CONFIG_HASH_ANNOTATION } from '../lib';

describe('a stacklet with defaults', () => {
  const objs = synth();

  test('builds the objects of every role group, role and the stacklet, with deterministic names', () => {
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'ConfigMap/demo',
        'ConfigMap/demo-gateways-default',
        'ConfigMap/demo-servers-default',
        'Deployment/demo-gateways-default',
        'NetworkPolicy/demo',
        'PodDisruptionBudget/demo-gateways',
        'PodDisruptionBudget/demo-servers',
        'Service/demo-gateways',
        'Service/demo-gateways-default-headless',
        'Service/demo-servers',
        'Service/demo-servers-default-headless',
        'Service/demo-servers-metrics',
        'ServiceAccount/demo',
        'StatefulSet/demo-servers-default',
      ].sort(),
    );
  });

  test('labels every object with product, instance, version, manager and platform', () => {
    for (const o of objs) {
      expect(o.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': 'beacon',
        'app.kubernetes.io/instance': 'demo',
        'app.kubernetes.io/version': '1.1.0',
        'app.kubernetes.io/managed-by': 'keelson',
        'app.kubernetes.io/part-of': 'platform',
      });
    }
    const sts = find(objs, 'StatefulSet', 'demo-servers-default');
    expect(sts.metadata.labels).toMatchObject({
      'app.kubernetes.io/component': 'servers',
      'app.kubernetes.io/role-group': 'default',
    });
  });

  test('the StatefulSet has the default replicas, a claim template per volume and the headless service', () => {
    const sts = find(objs, 'StatefulSet', 'demo-servers-default');
    expect(sts.spec.replicas).toBe(3);
    expect(sts.spec.serviceName).toBe('demo-servers-default-headless');
    expect(sts.spec.volumeClaimTemplates).toEqual([
      expect.objectContaining({
        metadata: expect.objectContaining({ name: 'data' }),
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } },
      }),
    ]);
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: 'Retain',
      whenScaled: 'Retain',
    });
  });

  test('pods pass the restricted profile: non-root user above 10000, seccomp, no escalation, no capabilities, read-only root', () => {
    const pod = find(objs, 'StatefulSet', 'demo-servers-default').spec.template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(10000);
    expect(pod.securityContext.fsGroup).toBeGreaterThan(10000);
    expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    for (const c of pod.containers) {
      expect(c.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
    }
    const mounts = pod.containers[0].volumeMounts.map((m: { mountPath: string }) => m.mountPath);
    expect(mounts).toEqual(
      expect.arrayContaining(['/tmp', '/var/log/beacon', '/var/lib/beacon', '/etc/beacon']),
    );
  });

  test('every container leaves the end of its log as its termination message when it fails', () => {
    for (const workload of objs.filter((o) => o.kind === 'StatefulSet' || o.kind === 'Deployment')) {
      const pod = workload.spec.template.spec;
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        expect([c.name, c.terminationMessagePolicy]).toEqual([c.name, 'FallbackToLogsOnError']);
      }
    }
  });

  test('resources become requests and limits, and the JVM heap follows memory', () => {
    const main = find(objs, 'StatefulSet', 'demo-servers-default').spec.template.spec.containers[0];
    expect(main.name).toBe('beacon');
    expect(main.resources).toEqual({
      requests: { cpu: '250m', memory: '1Gi' },
      limits: { cpu: '1', memory: '1Gi' },
    });
    const javaOpts = main.env.find((e: { name: string }) => e.name === 'JAVA_OPTS').value;
    expect(javaOpts).toMatch(/-Xmx\d+m/);
    expect(javaOpts).toContain('-XX:+UseG1GC');
  });

  test('config files are rendered into the role group ConfigMap, and their hash is on the pod template', () => {
    const cm = find(objs, 'ConfigMap', 'demo-servers-default');
    expect(cm.data['beacon.properties']).toContain('tick.time=2000');
    expect(cm.data['beacon.properties']).toContain(
      'demo-servers-default-0.demo-servers-default-headless.data.svc.cluster.local',
    );
    const sts = find(objs, 'StatefulSet', 'demo-servers-default');
    expect(sts.spec.template.metadata.annotations[CONFIG_HASH_ANNOTATION]).toMatch(/^[0-9a-f]{16,}$/);
  });

  test('per role: a client Service, a metrics Service with scrape labels, and a PDB', () => {
    expect(find(objs, 'Service', 'demo-servers').spec).toMatchObject({
      type: 'ClusterIP',
      ports: [expect.objectContaining({ name: 'client', port: 7070 })],
    });
    const metrics = find(objs, 'Service', 'demo-servers-metrics');
    expect(metrics.metadata.labels!['prometheus.io/scrape']).toBe('true');
    expect(metrics.spec.ports).toEqual([expect.objectContaining({ name: 'metrics', port: 9090 })]);
    expect(find(objs, 'PodDisruptionBudget', 'demo-servers').spec).toMatchObject({
      maxUnavailable: 1,
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    });
  });

  test('the discovery ConfigMap is named like the stacklet and carries connection details', () => {
    expect(find(objs, 'ConfigMap', 'demo').data.BEACON.split(',')).toHaveLength(3);
  });

  test('the NetworkPolicy admits the stacklet itself and metrics scraping', () => {
    const np = find(objs, 'NetworkPolicy', 'demo');
    expect(np.spec.podSelector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'beacon',
      'app.kubernetes.io/instance': 'demo',
    });
    expect(np.spec.ingress[0].from[0].podSelector.matchLabels).toEqual(np.spec.podSelector.matchLabels);
    expect(np.spec.ingress).toContainEqual({
      from: [{ namespaceSelector: {} }],
      ports: [{ port: 9090, protocol: 'TCP' }],
    });
  });
});
