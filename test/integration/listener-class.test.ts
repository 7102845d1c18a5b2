/**
 * The ListenerClass CRD on the real API server: it is served cluster-scoped, accepts valid classes,
 * and refuses each kind of bad class with the message (and at the field) synth reports. And a
 * stacklet's `roleConfig.listenerClass` takes any class name (whether it exists is the build's
 * question), while Kafka's controllers still take none.
 */
import { ApiError, KubeClient } from '../../lib/operator/client';
import { listenerClassCrd, listenerClassProblems } from '../../lib/listener';
import { productCrd } from '../../lib/stacklet/crd';
import { KAFKA } from '../../constructs/kafka';
import { specProblems } from '../../lib';
import { installCrd } from './admission';
import { adminKubeConfig } from './support';

const client = new KubeClient(adminKubeConfig());

/** What admission says of an object (a strict dry-run create): `accepted` or `<status>: <message>`. */
function admit(path: string, plural: string, body: object): Promise<string> {
  return client
    .request('create', 'POST', path, plural, { query: { fieldValidation: 'Strict', dryRun: 'All' }, body })
    .then(
      () => 'accepted',
      (e: unknown) => (e instanceof ApiError ? `${e.status}: ${e.message}` : String(e)),
    );
}

const verdict = (name: string, spec: unknown) =>
  admit('/apis/keelson.dev/v1alpha1/listenerclasses', 'listenerclasses', {
    apiVersion: 'keelson.dev/v1alpha1',
    kind: 'ListenerClass',
    metadata: { name },
    spec,
  });

// The API server writes `... is invalid: <path>: <reason>: <message>`.
const admissionPath = (text: string) => /is invalid: ([^\s:]+): /.exec(text)?.[1];

beforeAll(async () => {
  await installCrd(listenerClassCrd());
  await installCrd(productCrd(KAFKA));
});

describe('the ListenerClass CRD on the API server', () => {
  it.each([
    ['a ClusterIP class', { serviceType: 'ClusterIP', serviceAnnotations: { a: 'b' } }],
    [
      'a NodePort class preferring internal addresses',
      { serviceType: 'NodePort', preferredNodeAddressType: 'InternalIP', externalTrafficPolicy: 'Local' },
    ],
    [
      'a LoadBalancer class of a load balancer class',
      { serviceType: 'LoadBalancer', loadBalancerClass: 'example.com/lb' },
    ],
  ])('accepts %s, as synth does', async (_what, spec) => {
    expect(await verdict('corp', spec)).toBe('accepted');
    expect(listenerClassProblems('corp', spec)).toEqual([]);
  });

  it.each([
    ['a traffic policy on a ClusterIP class', { serviceType: 'ClusterIP', externalTrafficPolicy: 'Local' }],
    ['a load balancer class on a NodePort class', { serviceType: 'NodePort', loadBalancerClass: 'x' }],
    [
      'a node address type on a LoadBalancer class',
      { serviceType: 'LoadBalancer', preferredNodeAddressType: 'InternalIP' },
    ],
  ])('refuses %s at the field, as synth does', async (_what, spec) => {
    const problems = listenerClassProblems('corp', spec);
    expect(problems).toHaveLength(1);
    const [, path, message] = /^([^:]+): (.*)$/.exec(problems[0])!;
    const said = await verdict('corp', spec);
    expect(said).toMatch(/^422: /);
    expect(admissionPath(said)).toBe(path);
    expect(said).toContain(message);
  });

  it('refuses an unknown service type and a name that is no DNS label', async () => {
    expect(await verdict('corp', { serviceType: 'Ingress' })).toContain('spec.serviceType');
    expect(listenerClassProblems('corp', { serviceType: 'Ingress' }).join()).toContain('spec.serviceType');
    const said = await verdict('corp.lb', { serviceType: 'NodePort' });
    expect(said).toContain('metadata.name must be a DNS label');
    expect(listenerClassProblems('corp.lb', { serviceType: 'NodePort' })).toEqual([
      expect.stringContaining('metadata.name must be a DNS label'),
    ]);
  });
});

describe("a stacklet's roleConfig.listenerClass on the API server", () => {
  const kafka = (spec: object) =>
    admit('/apis/keelson.dev/v1alpha1/namespaces/default/kafkaclusters', 'kafkaclusters', {
      apiVersion: 'keelson.dev/v1alpha1',
      kind: 'KafkaCluster',
      metadata: { name: 'kafka' },
      spec,
    });

  it("takes any class name for Kafka's brokers, as synth's schema does", async () => {
    for (const listenerClass of ['external-unstable', 'external-stable', 'corp-lb']) {
      const spec = { brokers: { roleConfig: { listenerClass } } };
      expect(await kafka(spec)).toBe('accepted');
      expect(specProblems(KAFKA.specSchema, spec)).toEqual([]);
    }
  });

  it('refuses a name that can name no class, and any class for the controllers, as synth does', async () => {
    const bad = await kafka({ brokers: { roleConfig: { listenerClass: 'Corp LB' } } });
    expect(admissionPath(bad)).toBe('spec.brokers.roleConfig.listenerClass');
    const spec = { controllers: { roleConfig: { listenerClass: 'cluster-internal' } } };
    const said = await kafka(spec);
    expect(said).toContain('Kafka controllers have no client Service');
    expect(specProblems(KAFKA.specSchema, spec)).toEqual([
      expect.stringContaining(
        'spec.controllers.roleConfig.listenerClass: Kafka controllers have no client Service',
      ),
    ]);
  });
});
