/**
 * The ZooKeeper and Kafka stacklets on a real API server: the example streaming platform's objects
 * are all admitted into a namespace enforcing the restricted Pod Security profile and their pods
 * become Ready (kwok plays the kubelet), and the products' CRDs accept their specs and reject a
 * ZooKeeper-mode Kafka with controllers.
 */
import { App } from 'cdk8s';
import { streamingPlatform } from '../../apps/streaming';
import { KAFKA, ZOOKEEPER, ZOOKEEPER_ZNODE } from '../../constructs';
import { type ProductDefinition } from '../../lib';
import { KubeClient } from '../../lib/operator/client';
import {
  admissionVerdict,
  applyAll,
  installCrds,
  readyPodNames,
  RESTRICTED,
  type Manifest,
} from './admission';
import { adminKubeConfig, useTestNamespace, waitFor } from './support';

describe('the streaming platform on the API server', () => {
  const ns = useTestNamespace('streaming', RESTRICTED);
  const client = new KubeClient(adminKubeConfig());

  it('is admitted into a restricted namespace, and every pod becomes Ready', async () => {
    const manifests = streamingPlatform(new App(), { namespace: ns.name }).toJson() as Manifest[];
    expect(await applyAll(client, manifests, ns.name)).toEqual([]);

    const ready = () => readyPodNames(client, ns.name);
    // ZooKeeper 3, ZooKeeper-mode Kafka 3 brokers, KRaft Kafka 3 controllers + 3 brokers.
    await waitFor('all twelve pods to be Ready', async () => (await ready()).length === 12, 150_000);
    expect(await ready()).toEqual(
      expect.arrayContaining([
        'zookeeper-servers-default-0',
        'kafka-legacy-brokers-default-2',
        'kafka-controllers-default-0',
        'kafka-brokers-default-2',
      ]),
    );
  });
});

describe('the ZooKeeper and Kafka CRDs', () => {
  const ns = useTestNamespace('streaming-crd');
  const client = new KubeClient(adminKubeConfig());
  const products = [ZOOKEEPER, ZOOKEEPER_ZNODE, KAFKA] as unknown as ProductDefinition[];

  beforeAll(() => installCrds(products));

  const create = (product: ProductDefinition, name: string, spec: unknown) =>
    admissionVerdict(client, product, ns.name, name, spec);

  it('accept a ZooKeeper, a ZNode and a Kafka in either mode', async () => {
    const [zk, znode, kafka] = products;
    expect(
      await create(zk, 'zk', { servers: { roleGroups: { a: { replicas: 3, config: { myidOffset: 1 } } } } }),
    ).toBe('accepted');
    expect(await create(znode, 'kafka-znode', { clusterConfig: { zookeeperConfigMapName: 'zk' } })).toBe(
      'accepted',
    );
    expect(await create(kafka, 'kafka', { brokers: { roleGroups: { default: { replicas: 5 } } } })).toBe(
      'accepted',
    );
    expect(
      await create(kafka, 'kafka-zk', { clusterConfig: { zookeeperConfigMapName: 'kafka-znode' } }),
    ).toBe('accepted');
  });

  it('reject a ZooKeeper-mode Kafka with controllers, and a myidOffset above 254', async () => {
    const [zk, , kafka] = products;
    expect(
      await create(kafka, 'kafka-zk', { clusterConfig: { zookeeperConfigMapName: 'zk' }, controllers: {} }),
    ).toMatch(
      /^422: .*spec\.controllers: Forbidden: a Kafka in ZooKeeper mode .*has no controllers: remove spec.controllers/,
    );
    expect(await create(zk, 'zk', { servers: { config: { myidOffset: 300 } } })).toMatch(
      /^422: .*myidOffset/,
    );
  });

  it('accept an external listener class for Kafka brokers (the operator gives each broker its address), and reject any for controllers', async () => {
    const [, , kafka] = products;
    expect(
      await create(kafka, 'kafka-ext', { brokers: { roleConfig: { listenerClass: 'external-unstable' } } }),
    ).toBe('accepted');
    expect(
      await create(kafka, 'kafka-ctl', {
        controllers: { roleConfig: { listenerClass: 'cluster-internal' } },
      }),
    ).toMatch(
      /^422: .*spec\.controllers\.roleConfig\.listenerClass: Forbidden: Kafka controllers have no client Service/,
    );
    expect(
      await create(kafka, 'kafka-int', { brokers: { roleConfig: { listenerClass: 'cluster-internal' } } }),
    ).toBe('accepted');
  });
});
