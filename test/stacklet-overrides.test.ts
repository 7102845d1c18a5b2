import { find, problemsOf, synthBeacon as synth, type Obj } from './support/synth';
import { Chart, Testing } from 'cdk8s';
import { CONFIG_HASH_ANNOTATION } from '../lib';
import { BeaconCluster } from './example-product/beacon';

const servers = (objs: Obj[]) => find(objs, 'StatefulSet', 'demo-servers-default');
const mainContainer = (objs: Obj[]) => servers(objs).spec.template.spec.containers[0];
const hash = (objs: Obj[], name = 'demo-servers-default') =>
  find(objs, 'StatefulSet', name).spec.template.metadata.annotations[CONFIG_HASH_ANNOTATION];

describe('merging product defaults ← role ← role group', () => {
  test('the role group wins over the role, the role over the defaults', () => {
    const objs = synth({
      servers: {
        config: { tickTime: 100, resources: { memory: { limit: '2Gi' } } },
        roleGroups: {
          default: {},
          fast: { replicas: 1, config: { tickTime: 10 } },
        },
      },
    });
    expect(find(objs, 'ConfigMap', 'demo-servers-default').data['beacon.properties']).toContain(
      'tick.time=100',
    );
    expect(find(objs, 'ConfigMap', 'demo-servers-fast').data['beacon.properties']).toContain('tick.time=10');
    // memory from the role reaches both groups; cpu from the product defaults too
    for (const name of ['demo-servers-default', 'demo-servers-fast']) {
      expect(find(objs, 'StatefulSet', name).spec.template.spec.containers[0].resources).toEqual({
        requests: { cpu: '250m', memory: '2Gi' },
        limits: { cpu: '1', memory: '2Gi' },
      });
    }
    expect(find(objs, 'StatefulSet', 'demo-servers-fast').spec.replicas).toBe(1);
  });

  test('configOverrides merge per file and key, the group winning', () => {
    const objs = synth({
      servers: {
        configOverrides: { 'beacon.properties': { 'tick.time': '5', 'role.only': 'r' } },
        roleGroups: { default: { configOverrides: { 'beacon.properties': { 'role.only': 'g' } } } },
      },
    });
    const file = find(objs, 'ConfigMap', 'demo-servers-default').data['beacon.properties'];
    expect(file).toContain('tick.time=5');
    expect(file).toContain('role.only=g');
    expect(file).not.toContain('role.only=r');
  });

  test('envOverrides replace generated variables by name; cliOverrides append role then group', () => {
    const objs = synth({
      servers: {
        envOverrides: { JAVA_OPTS: '-Xmx1m', EXTRA: 'role' },
        cliOverrides: ['--role'],
        roleGroups: { default: { envOverrides: { EXTRA: 'group' }, cliOverrides: ['--group'] } },
      },
    });
    const c = mainContainer(objs);
    expect(c.env).toEqual([
      { name: 'JAVA_OPTS', value: '-Xmx1m' },
      { name: 'EXTRA', value: 'group' },
    ]);
    expect(c.args).toEqual(['--config', '/etc/beacon/beacon.properties', '--role', '--group']);
  });

  test('jvmArgumentOverrides: role first, then group; remove, removeRegex and add', () => {
    const objs = synth({
      servers: {
        jvmArgumentOverrides: { remove: ['-XX:+UseG1GC'], add: ['-Dfrom=role'] },
        roleGroups: {
          default: { jvmArgumentOverrides: { removeRegex: ['-Dfrom=.*'], add: ['-Dfrom=group'] } },
        },
      },
    });
    const opts = mainContainer(objs)
      .env.find((e: { name: string }) => e.name === 'JAVA_OPTS')
      .value.split(' ');
    expect(opts).not.toContain('-XX:+UseG1GC');
    expect(opts).toContain('-Dfrom=group');
    expect(opts).not.toContain('-Dfrom=role');
    expect(opts.find((o: string) => o.startsWith('-Xmx'))).toBe('-Xmx768m');
  });

  test('podOverrides change one container without replacing the list, merging env and volumes by name', () => {
    const objs = synth({
      servers: {
        podOverrides: {
          spec: {
            containers: [{ name: 'beacon', env: [{ name: 'ADDED', value: '1' }] }],
            volumes: [{ name: 'extra', emptyDir: {} }],
          },
        },
        roleGroups: {
          default: {
            podOverrides: { spec: { containers: [{ name: 'beacon', resources: { limits: { cpu: '3' } } }] } },
          },
        },
      },
    });
    const pod = servers(objs).spec.template.spec;
    expect(pod.containers).toHaveLength(1);
    const c = pod.containers[0];
    expect(c.env.map((e: { name: string }) => e.name)).toEqual(['JAVA_OPTS', 'ADDED']);
    expect(c.resources.limits).toEqual({ cpu: '3', memory: '1Gi' });
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(pod.volumes.map((v: { name: string }) => v.name)).toEqual(
      expect.arrayContaining(['config', 'rw-tmp', 'extra']),
    );
  });

  test('objectOverrides merge onto the generated object, last', () => {
    const objs = synth({
      objectOverrides: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'demo-servers', annotations: { team: 'data' } },
          spec: { type: 'LoadBalancer' },
        },
      ],
    });
    const svc = find(objs, 'Service', 'demo-servers');
    expect(svc.spec.type).toBe('LoadBalancer');
    expect((svc.metadata as { annotations?: object }).annotations).toEqual({ team: 'data' });
    expect(svc.metadata.labels!['app.kubernetes.io/instance']).toBe('demo');
  });

  test('rejects an objectOverride that names no generated object', () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    expect(
      problemsOf(
        new BeaconCluster(chart, 'demo', {
          objectOverrides: [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'nope' } }],
        }),
      ),
    ).toMatch(
      /spec\.objectOverrides\[0\]: no generated object is v1\/Service\/nope; generated objects: .*v1\/Service\/demo-servers/,
    );
  });
});

describe('what rolls the pods', () => {
  test('a config change changes the config hash', () => {
    const before = hash(synth());
    const after = hash(synth({ servers: { configOverrides: { 'beacon.properties': { a: 'b' } } } }));
    expect(after).not.toEqual(before);
  });

  test('scaling does not change the pod template when the config does not list the pods', () => {
    const gateways = (objs: Obj[]) => find(objs, 'Deployment', 'demo-gateways-default');
    const a = gateways(synth()).spec.template;
    const b = gateways(synth({ gateways: { roleGroups: { default: { replicas: 7 } } } }));
    expect(b.spec.replicas).toBe(7);
    expect(b.spec.template).toEqual(a);
  });

  test('scaling rolls the pods whose config lists their peers', () => {
    expect(hash(synth({ servers: { roleGroups: { default: { replicas: 5 } } } }))).not.toEqual(hash(synth()));
  });

  test("another role group's change does not touch this group", () => {
    const before = hash(synth());
    const after = hash(synth({ gateways: { config: { greeting: 'hi' } } }));
    expect(after).toEqual(before);
  });
});

describe('operations and role settings', () => {
  test('stopped scales every workload to zero and keeps every object', () => {
    const running = synth();
    const stopped = synth({ clusterOperation: { stopped: true } });
    expect(stopped.map((o) => o.metadata.name).sort()).toEqual(running.map((o) => o.metadata.name).sort());
    expect(servers(stopped).spec.replicas).toBe(0);
    expect(find(stopped, 'Deployment', 'demo-gateways-default').spec.replicas).toBe(0);
  });

  test('listenerClass picks the client Service type', () => {
    const objs = synth({
      gateways: { roleConfig: { listenerClass: 'external-stable' } },
      servers: { roleConfig: { listenerClass: 'external-unstable' } },
    });
    expect(find(objs, 'Service', 'demo-gateways').spec.type).toBe('LoadBalancer');
    expect(find(objs, 'Service', 'demo-servers').spec.type).toBe('NodePort');
  });

  test('the PDB can be tuned or switched off per role', () => {
    const objs = synth({
      servers: { roleConfig: { podDisruptionBudget: { maxUnavailable: 2 } } },
      gateways: { roleConfig: { podDisruptionBudget: { enabled: false } } },
    });
    expect(find(objs, 'PodDisruptionBudget', 'demo-servers').spec.maxUnavailable).toBe(2);
    expect(objs.some((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'demo-gateways')).toBe(
      false,
    );
  });

  test('gracefulShutdownTimeout sets terminationGracePeriodSeconds', () => {
    expect(
      servers(synth({ servers: { config: { gracefulShutdownTimeout: '2m' } } })).spec.template.spec
        .terminationGracePeriodSeconds,
    ).toBe(120);
  });

  test('a typed reference wires the dependency, its discovery data and the NetworkPolicy', () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    const upstream = new BeaconCluster(chart, 'up', {});
    new BeaconCluster(chart, 'down', { upstream });
    const objs = Testing.synth(chart) as Obj[];
    const file = find(objs, 'ConfigMap', 'down-servers-default').data['beacon.properties'];
    expect(file).toContain(
      'upstream=up-servers-default-0.up-servers-default-headless.data.svc.cluster.local:7070,',
    );
    const policy = objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'up')!;
    expect(policy.spec.ingress).toContainEqual({
      from: [
        {
          podSelector: {
            matchLabels: { 'app.kubernetes.io/name': 'beacon', 'app.kubernetes.io/instance': 'down' },
          },
        },
      ],
      ports: [
        { port: 7070, protocol: 'TCP' },
        { port: 8080, protocol: 'TCP' },
      ],
    });
  });

  test('the NetworkPolicy can be switched off', () => {
    expect(
      synth({ clusterConfig: { networkPolicy: { enabled: false } } }).some((o) => o.kind === 'NetworkPolicy'),
    ).toBe(false);
  });
});
