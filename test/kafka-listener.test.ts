/**
 * Kafka's brokers on per-pod listeners (lib/listener/pod-listener.ts), as the operator builds them:
 * a Service per broker of the brokers' class, the address ConfigMap the operator fills, the pod
 * waiting for its entry, and an EXTERNAL listener advertised at that address beside the internal
 * ones.
 */
import { KAFKA } from '../constructs/kafka';
import { buildChildren, type Manifest } from '../lib/operator/build';
import { fillListenerAddresses, type ListenerCaches } from '../lib/operator/listener-addresses';
import type { KubeObject } from '../lib/operator/informer';
import {
  listenerAddressData,
  SpecValidationError,
  type ListenerClassInfo,
  type ListenerClassSpec,
} from '../lib';
import { find, type Obj } from './support/synth';

const resource = (spec: object): KubeObject => ({
  apiVersion: 'keelson.dev/v1alpha1',
  kind: 'KafkaCluster',
  metadata: { name: 'kafka', namespace: 'data', uid: 'u-1', generation: 1 },
  spec,
});

function build(
  brokers: object,
  classes: ListenerClassInfo[] = [],
  extra: object = {},
  fill?: (built: Manifest[]) => Manifest[],
): Obj[] {
  return buildChildren(KAFKA, resource({ brokers, ...extra }), {}, [], [], {
    listenerClasses: classes,
    fill,
  }) as unknown as Obj[];
}

const external = {
  roleConfig: { listenerClass: 'external-unstable' },
  roleGroups: { default: { replicas: 2 } },
};

function properties(objs: Obj[]): Record<string, string> {
  const text: string = find(objs, 'ConfigMap', 'kafka-brokers-default').data['broker.properties'];
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

describe('Kafka brokers of a NodePort class, as the operator builds them', () => {
  const objs = build(external);

  test('get one NodePort Service each, selecting that pod alone, serving the EXTERNAL port', () => {
    for (const ordinal of [0, 1]) {
      const service = find(objs, 'Service', `kafka-brokers-default-${ordinal}`);
      expect(service.metadata.labels).toEqual(
        expect.objectContaining({ 'keelson.dev/listener-addresses': 'kafka-brokers-default' }),
      );
      expect(service.spec).toEqual({
        type: 'NodePort',
        externalTrafficPolicy: 'Local',
        selector: {
          'app.kubernetes.io/name': 'kafka',
          'app.kubernetes.io/instance': 'kafka',
          'app.kubernetes.io/component': 'brokers',
          'app.kubernetes.io/role-group': 'default',
          'statefulset.kubernetes.io/pod-name': `kafka-brokers-default-${ordinal}`,
        },
        ports: [{ name: 'external', port: 9095, targetPort: 9095, protocol: 'TCP' }],
      });
    }
    expect(objs.filter((o) => o.kind === 'Service' && /-default-\d$/.test(o.metadata.name))).toHaveLength(2);
    // The bootstrap Service serves the cluster: outside clients start from the brokers' own addresses.
    expect(find(objs, 'Service', 'kafka-brokers').spec.type).toBe('ClusterIP');
  });

  test('get an empty address ConfigMap that tells the operator how to fill it', () => {
    const addresses = find(objs, 'ConfigMap', 'kafka-brokers-default-listeners');
    expect(addresses.data ?? {}).toEqual({});
    expect(JSON.parse(addresses.metadata.annotations!['keelson.dev/listener'])).toEqual({
      serviceType: 'NodePort',
      ports: ['external'],
    });
  });

  test('mount it (optional, so the pod starts before it is written) and know their pod and node names', () => {
    const pod = find(objs, 'StatefulSet', 'kafka-brokers-default').spec.template.spec;
    expect(pod.volumes).toContainEqual({
      name: 'listener-addresses',
      configMap: { name: 'kafka-brokers-default-listeners', optional: true },
    });
    const [container] = pod.containers;
    expect(container.volumeMounts).toContainEqual({
      name: 'listener-addresses',
      mountPath: '/keelson/listener',
      readOnly: true,
    });
    expect(container.env).toEqual(
      expect.arrayContaining([
        { name: 'KEELSON_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'KEELSON_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      ]),
    );
    const script: string = container.command[2];
    expect(script).toContain(
      'until [ "$(cat "/keelson/listener/${KEELSON_POD_NAME}.node" 2>/dev/null)" = "${KEELSON_NODE_NAME}" ]; do',
    );
    expect(script).toContain(
      'listener_port_external=$(cat "/keelson/listener/${KEELSON_POD_NAME}.port.external")',
    );
    expect(script).toContain('-e "s/__EXTERNAL_ADDRESS__/${external_address}/g"');
    // The wait comes before the config is rendered and the server starts.
    expect(script.indexOf('until [')).toBeLessThan(script.indexOf('exec java'));
  });

  test('advertise the EXTERNAL listener at that address beside the internal one, which replication keeps', () => {
    expect(properties(objs)).toEqual(
      expect.objectContaining({
        listeners: 'PLAINTEXT://0.0.0.0:9092,EXTERNAL://0.0.0.0:9095',
        'advertised.listeners': 'PLAINTEXT://__POD_ADDRESS__:9092,EXTERNAL://__EXTERNAL_ADDRESS__',
        'inter.broker.listener.name': 'PLAINTEXT',
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
      }),
    );
  });

  test('admit clients from anywhere on the EXTERNAL port only', () => {
    expect(find(objs, 'NetworkPolicy', 'kafka-brokers-listener').spec).toEqual({
      podSelector: {
        matchLabels: {
          'app.kubernetes.io/name': 'kafka',
          'app.kubernetes.io/instance': 'kafka',
          'app.kubernetes.io/component': 'brokers',
        },
      },
      policyTypes: ['Ingress'],
      ingress: [{ ports: [{ port: 9095, protocol: 'TCP' }] }],
    });
  });

  test('with internal TLS, keep CLIENT and INTERNAL and add EXTERNAL in plaintext', () => {
    const tls = buildChildren(
      KAFKA,
      resource({ brokers: external, clusterConfig: { tls: { internalTlsClass: 'internal-ca' } } }),
      {},
      [],
      [{ name: 'internal-ca' }],
      { listenerClasses: [] },
    ) as unknown as Obj[];
    expect(properties(tls)).toEqual(
      expect.objectContaining({
        listeners: 'CLIENT://0.0.0.0:9092,INTERNAL://0.0.0.0:9094,EXTERNAL://0.0.0.0:9095',
        'advertised.listeners':
          'CLIENT://__POD_ADDRESS__:9092,INTERNAL://__POD_ADDRESS__:9094,EXTERNAL://__EXTERNAL_ADDRESS__',
        'inter.broker.listener.name': 'INTERNAL',
        'listener.security.protocol.map': 'CLIENT:PLAINTEXT,INTERNAL:SSL,EXTERNAL:PLAINTEXT,CONTROLLER:SSL',
      }),
    );
  });
});

describe('Kafka brokers and their class', () => {
  test('of a ClusterIP class get no per-pod objects, as before listener classes', () => {
    const objs = build({ roleGroups: { default: { replicas: 2 } } });
    expect(objs.filter((o) => /-default-\d$|-listeners$|-listener$/.test(o.metadata.name))).toEqual([]);
    expect(properties(objs).listeners).toBe('PLAINTEXT://0.0.0.0:9092');
    const pod = find(objs, 'StatefulSet', 'kafka-brokers-default').spec.template.spec;
    expect(JSON.stringify(pod)).not.toContain('listener');
  });

  test('roll when the class changes (the address they advertise is read at start)', () => {
    const hash = (classes: ListenerClassInfo[]) =>
      find(build(external, classes), 'StatefulSet', 'kafka-brokers-default').spec.template.metadata
        .annotations['keelson.dev/config-hash'];
    const internalFirst: ListenerClassSpec = {
      serviceType: 'NodePort',
      preferredNodeAddressType: 'InternalIP',
    };
    expect(hash([])).not.toBe(hash([{ name: 'external-unstable', spec: internalFirst }]));
    expect(hash([])).toBe(hash([]));
  });

  test('of a LoadBalancer class with annotations get LoadBalancer Services carrying them', () => {
    const objs = build({ ...external, roleConfig: { listenerClass: 'corp-lb' } }, [
      {
        name: 'corp-lb',
        spec: {
          serviceType: 'LoadBalancer',
          serviceAnnotations: { 'lb.example.com/x': 'y' },
          loadBalancerClass: 'example.com/lb',
        },
      },
    ]);
    const service = find(objs, 'Service', 'kafka-brokers-default-1');
    expect(service.metadata.annotations).toEqual(expect.objectContaining({ 'lb.example.com/x': 'y' }));
    expect(service.spec).toEqual(
      expect.objectContaining({
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Local',
        loadBalancerClass: 'example.com/lb',
      }),
    );
  });

  test('rejects a class that does not exist, at the field', () => {
    expect(() => build({ roleConfig: { listenerClass: 'corp-lb' } })).toThrow(SpecValidationError);
    expect(() => build({ roleConfig: { listenerClass: 'corp-lb' } })).toThrow(
      'spec.brokers.roleConfig.listenerClass: the ListenerClass "corp-lb" does not exist',
    );
  });

  test('speak TLS on the EXTERNAL listener with the server class, the certificate the signer names the outside address in', () => {
    const tls = properties(
      buildChildren(KAFKA, resource({ brokers: external }), {}, [], [{ name: 'tls' }], {
        listenerClasses: [],
      }) as unknown as Obj[],
    );
    expect(tls['listener.security.protocol.map']).toBe('CLIENT:SSL,INTERNAL:SSL,EXTERNAL:SSL,CONTROLLER:SSL');
    expect(tls['listener.name.external.ssl.keystore.location']).toBe('/keelson/tls/server/tls.pem');
    expect(tls['listener.name.external.ssl.keystore.location']).toBe(
      tls['listener.name.client.ssl.keystore.location'],
    );
    expect(tls['listener.name.external.ssl.client.auth']).toBe('none');
    // Without server TLS the outside clients get plaintext, as the inside ones do.
    expect(properties(build(external))['listener.security.protocol.map']).toBe(
      'PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
    );
  });

  test('rejects an external class with a cert-manager server class, whose role-group certificate cannot name each outside address', () => {
    const certManager = { name: 'tls', certManagerIssuer: { name: 'corp', kind: 'ClusterIssuer' as const } };
    expect(() =>
      buildChildren(KAFKA, resource({ brokers: external }), {}, [], [certManager], { listenerClasses: [] }),
    ).toThrow(
      'spec.brokers.roleConfig.listenerClass: the ListenerClass "external-unstable" reaches each broker at an address outside the cluster, which a certificate of the cert-manager TlsClass "tls" (one per role group) cannot name',
    );
  });
});

describe('the addresses the operator writes', () => {
  const service = (pod: string, nodePort?: number, ingress?: object[]) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: pod,
      namespace: 'data',
      labels: { 'keelson.dev/listener-addresses': 'kafka-brokers-default' },
    },
    spec: {
      selector: { 'statefulset.kubernetes.io/pod-name': pod },
      ports: [{ name: 'external', port: 9095, ...(nodePort ? { nodePort } : {}) }],
    },
    ...(ingress ? { status: { loadBalancer: { ingress } } } : {}),
  });

  test("are each scheduled pod's node address (ExternalIP first by default) and nodePort", () => {
    const nodes = new Map([
      [
        'n1',
        [
          { type: 'InternalIP', address: '10.0.0.1' },
          { type: 'ExternalIP', address: '203.0.113.1' },
        ],
      ],
      ['n2', [{ type: 'InternalIP', address: '10.0.0.2' }]],
    ]);
    const facts = {
      services: [service('b-0', 31000), service('b-1', 31001), service('b-2', 31002), service('b-3')],
      podNodes: new Map([
        ['b-0', 'n1'],
        ['b-1', 'n2'],
        ['b-3', 'n2'],
      ]),
      nodeAddresses: nodes,
    } as never;
    expect(listenerAddressData({ serviceType: 'NodePort', ports: ['external'] }, facts)).toEqual({
      'b-0.node': 'n1',
      'b-0.host': '203.0.113.1',
      'b-0.port.external': '31000',
      // no ExternalIP: the InternalIP
      'b-1.node': 'n2',
      'b-1.host': '10.0.0.2',
      'b-1.port.external': '31001',
      // b-2 is not scheduled, b-3's Service has no nodePort yet: no entry, they wait
    });
    expect(
      listenerAddressData(
        { serviceType: 'NodePort', ports: ['external'], preferredNodeAddressType: 'InternalIP' },
        facts,
      )['b-0.host'],
    ).toBe('10.0.0.1');
  });

  test("are a LoadBalancer's ingress ip or hostname and the Service's port", () => {
    const facts = {
      services: [
        service('b-0', 31000, [{ ip: '198.51.100.7' }]),
        service('b-1', 31001, [{ hostname: 'b1.example.com' }]),
        service('b-2'),
      ],
      podNodes: new Map([
        ['b-0', 'n1'],
        ['b-1', 'n1'],
        ['b-2', 'n1'],
      ]),
      nodeAddresses: new Map(),
    } as never;
    expect(listenerAddressData({ serviceType: 'LoadBalancer', ports: ['external'] }, facts)).toEqual({
      'b-0.node': 'n1',
      'b-0.host': '198.51.100.7',
      'b-0.port.external': '9095',
      'b-1.node': 'n1',
      'b-1.host': 'b1.example.com',
      'b-1.port.external': '9095',
    });
  });

  test('fill the address ConfigMap of the build from the caches, before it is hashed and applied', () => {
    const caches: ListenerCaches = {
      services: () =>
        [service('kafka-brokers-default-0', 30001), service('kafka-brokers-default-1', 30002)] as never,
      podNode: (_ns, pod) => (pod === 'kafka-brokers-default-0' ? 'real-node' : undefined),
      nodeAddresses: (node) =>
        node === 'real-node' ? [{ type: 'InternalIP', address: '10.1.2.3' }] : undefined,
    };
    const objs = build(external, [], {}, (built) => fillListenerAddresses(built, 'data', caches));
    expect(find(objs, 'ConfigMap', 'kafka-brokers-default-listeners').data).toEqual({
      'kafka-brokers-default-0.node': 'real-node',
      'kafka-brokers-default-0.host': '10.1.2.3',
      'kafka-brokers-default-0.port.external': '30001',
    });
    // Other objects pass through untouched.
    expect(find(objs, 'ConfigMap', 'kafka-brokers-default').data['broker.properties']).toContain('EXTERNAL');
  });
});
