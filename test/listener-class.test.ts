/**
 * ListenerClass (lib/listener/class.ts): the construct and its rules at synth, and what a role's
 * class does to the role's client Service, in synth mode and as the operator builds it.
 */
import { App, Chart, Testing } from 'cdk8s';
import {
  DEFAULT_LISTENER_CLASSES,
  findListenerClass,
  ListenerClass,
  listenerClassesIn,
  listenerClassProblems,
  type ListenerClassSpec,
} from '../lib';
import { BeaconCluster, type BeaconClusterProps } from './example-product/beacon';
import { find, problemsOf, type Obj } from './support/synth';

const chartOf = () => new Chart(new App(), 'platform', { namespace: 'data' });

/** A Beacon (client Service `demo-servers`) after `classes` were defined in the same app. */
function beacon(spec: BeaconClusterProps, classes: Record<string, ListenerClassSpec> = {}) {
  const chart = chartOf();
  for (const [name, c] of Object.entries(classes)) new ListenerClass(chart, name, c);
  const stacklet = new BeaconCluster(chart, 'demo', spec);
  return { chart, stacklet, objs: () => Testing.synth(chart) as Obj[] };
}

describe('ListenerClass', () => {
  test('writes the cluster-scoped custom resource, named by its id, without the chart namespace', () => {
    const chart = chartOf();
    const listenerClass = new ListenerClass(chart, 'corp-lb', {
      serviceType: 'LoadBalancer',
      serviceAnnotations: { 'lb.example.com/internal': 'true' },
      loadBalancerClass: 'example.com/lb',
    });
    expect(listenerClass.problems).toEqual([]);
    expect(Testing.synth(chart)).toEqual([
      {
        apiVersion: 'keelson.dev/v1alpha1',
        kind: 'ListenerClass',
        metadata: { name: 'corp-lb' },
        spec: {
          serviceType: 'LoadBalancer',
          serviceAnnotations: { 'lb.example.com/internal': 'true' },
          loadBalancerClass: 'example.com/lb',
        },
      },
    ]);
  });

  test('adds the three classes keelson ships, which stacklets defined after them see', () => {
    const chart = chartOf();
    ListenerClass.addDefaults(chart);
    expect(listenerClassesIn(chart).map((c) => [c.name, c.spec.serviceType])).toEqual([
      ['cluster-internal', 'ClusterIP'],
      ['external-unstable', 'NodePort'],
      ['external-stable', 'LoadBalancer'],
    ]);
  });

  test('rejects settings that do not apply to the service type, with the rule messages the API server gives', () => {
    expect(listenerClassProblems('c', { serviceType: 'ClusterIP', externalTrafficPolicy: 'Local' })).toEqual([
      'spec.externalTrafficPolicy: applies only to NodePort and LoadBalancer classes: remove it, or change serviceType',
    ]);
    expect(listenerClassProblems('c', { serviceType: 'NodePort', loadBalancerClass: 'x' })).toEqual([
      'spec.loadBalancerClass: applies only to LoadBalancer classes: remove it, or set serviceType to LoadBalancer',
    ]);
    expect(
      listenerClassProblems('c', { serviceType: 'LoadBalancer', preferredNodeAddressType: 'InternalIP' }),
    ).toEqual([
      'spec.preferredNodeAddressType: applies only to NodePort classes (pods are reached at their node): remove it, or set serviceType to NodePort',
    ]);
    expect(listenerClassProblems('c', { serviceType: 'Ingress' }).join('\n')).toContain('spec.serviceType');
    expect(listenerClassProblems('Corp_LB', { serviceType: 'NodePort' })).toEqual([
      expect.stringMatching(/^metadata\.name: "Corp_LB": metadata\.name must be a DNS label/),
    ]);
  });

  test('rejects a second class of the same name and reports an invalid one at synth, writing nothing', () => {
    const chart = chartOf();
    new ListenerClass(chart, 'lb', { serviceType: 'LoadBalancer' });
    const other = new Chart(chart.node.scope as App, 'other');
    const twice = new ListenerClass(other, 'lb', { serviceType: 'NodePort' });
    expect(twice.problems).toEqual([
      'metadata.name: another ListenerClass is named "lb" in this app; a class is cluster-wide',
    ]);
    const bad = new ListenerClass(chart, 'bad', { serviceType: 'ClusterIP', loadBalancerClass: 'x' });
    expect(bad.apiObject).toBeUndefined();
    expect(problemsOf(chart)).toContain(
      'ListenerClass "bad": spec.loadBalancerClass: applies only to LoadBalancer',
    );
  });

  test('finds a class that exists first, then a built-in one, else nothing', () => {
    const mine = { name: 'external-unstable', spec: { serviceType: 'LoadBalancer' as const } };
    expect(findListenerClass('external-unstable', [mine])).toBe(mine);
    expect(findListenerClass('external-stable', [mine])).toEqual({
      name: 'external-stable',
      spec: DEFAULT_LISTENER_CLASSES['external-stable'],
    });
    expect(findListenerClass('corp-lb', [mine])).toBeUndefined();
  });
});

describe("a role's client Service and its ListenerClass", () => {
  test('keeps the meaning of the three built-in names without any ListenerClass object', () => {
    const type = (listenerClass?: string) =>
      find(beacon({ servers: { roleConfig: { listenerClass } } }).objs(), 'Service', 'demo-servers').spec;
    expect(type(undefined)).toEqual(expect.objectContaining({ type: 'ClusterIP' }));
    expect(type(undefined).externalTrafficPolicy).toBeUndefined();
    expect(type('cluster-internal')).toEqual(expect.objectContaining({ type: 'ClusterIP' }));
    expect(type('external-unstable')).toEqual(
      expect.objectContaining({ type: 'NodePort', externalTrafficPolicy: 'Cluster' }),
    );
    expect(type('external-stable')).toEqual(
      expect.objectContaining({ type: 'LoadBalancer', externalTrafficPolicy: 'Cluster' }),
    );
  });

  test('takes the type, annotations, traffic policy and load balancer class of the class the role names', () => {
    const { objs } = beacon(
      { servers: { roleConfig: { listenerClass: 'corp-lb' } } },
      {
        'corp-lb': {
          serviceType: 'LoadBalancer',
          serviceAnnotations: { 'lb.example.com/internal': 'true' },
          externalTrafficPolicy: 'Local',
          loadBalancerClass: 'example.com/lb',
        },
      },
    );
    const service = find(objs(), 'Service', 'demo-servers');
    expect(service.metadata.annotations).toEqual({ 'lb.example.com/internal': 'true' });
    expect(service.spec).toEqual(
      expect.objectContaining({
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Local',
        loadBalancerClass: 'example.com/lb',
      }),
    );
  });

  test('lets a class of a built-in name replace the built-in one', () => {
    const { objs } = beacon(
      { servers: { roleConfig: { listenerClass: 'external-stable' } } },
      { 'external-stable': { serviceType: 'NodePort', externalTrafficPolicy: 'Local' } },
    );
    expect(find(objs(), 'Service', 'demo-servers').spec).toEqual(
      expect.objectContaining({ type: 'NodePort', externalTrafficPolicy: 'Local' }),
    );
  });

  test('rejects a class that does not exist at the field that names it, rather than making a ClusterIP', () => {
    const { chart, stacklet } = beacon({ servers: { roleConfig: { listenerClass: 'corp-lb' } } });
    expect(stacklet.problems).toEqual([
      'spec.servers.roleConfig.listenerClass: the ListenerClass "corp-lb" does not exist; create it (operator mode), ' +
        'define a ListenerClass construct of that name before this stacklet (synth mode), or name one of ' +
        'cluster-internal, external-unstable, external-stable',
    ]);
    expect(problemsOf(chart)).toContain('BeaconCluster "demo": spec.servers.roleConfig.listenerClass');
  });

  test('rejects a name that can name no class, at admission and at synth', () => {
    const { stacklet } = beacon({ servers: { roleConfig: { listenerClass: 'Corp LB' } } });
    expect(stacklet.problems.join('\n')).toMatch(
      /^spec\.servers\.roleConfig\.listenerClass: .*ListenerClass name/m,
    );
  });
});

describe("a role's NetworkPolicy and its ListenerClass", () => {
  const listenerPolicy = (listenerClass?: string) =>
    beacon({ servers: { roleConfig: { listenerClass } } })
      .objs()
      .filter((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'demo-servers-listener');

  test('admits any source on the client ports of a role reached through a NodePort or LoadBalancer Service', () => {
    for (const listenerClass of ['external-unstable', 'external-stable']) {
      expect(listenerPolicy(listenerClass).map((p) => p.spec)).toEqual([
        {
          podSelector: {
            matchLabels: {
              'app.kubernetes.io/name': 'beacon',
              'app.kubernetes.io/instance': 'demo',
              'app.kubernetes.io/component': 'servers',
            },
          },
          policyTypes: ['Ingress'],
          ingress: [{ ports: [{ port: 7070, protocol: 'TCP' }] }],
        },
      ]);
    }
  });

  test('admits nothing more for a ClusterIP class', () => {
    expect(listenerPolicy(undefined)).toEqual([]);
    expect(listenerPolicy('cluster-internal')).toEqual([]);
  });
});
