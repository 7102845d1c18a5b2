import { Testing } from 'cdk8s';
import { streamingPlatform } from '../apps/streaming';
import type { Obj } from './support/synth';

describe('the example streaming platform', () => {
  const objs = Testing.synth(streamingPlatform(Testing.app())) as Obj[];

  test('has a ZooKeeper, a ZNode, a ZooKeeper-mode Kafka and a KRaft Kafka', () => {
    const workloads = objs.filter((o) => o.kind === 'StatefulSet').map((o) => o.metadata.name);
    expect(workloads.sort()).toEqual([
      'kafka-brokers-default',
      'kafka-controllers-default',
      'kafka-legacy-brokers-default',
      'zookeeper-servers-default',
    ]);
    expect(
      objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kafka-legacy-znode')?.data
        .ZOOKEEPER_CHROOT,
    ).toMatch(/^\/znode-/);
  });

  test('puts every object in the streaming namespace, part of the streaming platform', () => {
    for (const o of objs) {
      expect((o.metadata as { namespace?: string }).namespace).toBe('streaming');
      expect(o.metadata.labels?.['app.kubernetes.io/part-of']).toBe('streaming');
    }
  });
});
