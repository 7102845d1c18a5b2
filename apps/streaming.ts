/**
 * An example streaming platform: a ZooKeeper ensemble, a Kafka in ZooKeeper mode that keeps its
 * metadata under a ZNode of its own, and a Kafka in KRaft mode that needs no ZooKeeper at all.
 */
import { Chart, type App } from 'cdk8s';
import { KafkaCluster, ZookeeperCluster, ZookeeperZnode } from 'keelson';

/** Where the streaming platform goes. */
export interface StreamingPlatformOptions {
  /** @default 'streaming' */
  readonly namespace?: string;
}

/** Adds the streaming platform to `app` and returns its chart. */
export function streamingPlatform(app: App, options: StreamingPlatformOptions = {}): Chart {
  const chart = new Chart(app, 'streaming', { namespace: options.namespace ?? 'streaming' });

  const zookeeper = new ZookeeperCluster(chart, 'zookeeper', {
    servers: { roleGroups: { default: { replicas: 3 } } },
  });
  const znode = new ZookeeperZnode(chart, 'kafka-legacy-znode', { zookeeper });

  // ZooKeeper mode ends with Kafka 3.x.
  new KafkaCluster(chart, 'kafka-legacy', {
    image: { productVersion: '3.9.1' },
    zookeeper: znode,
    brokers: { roleGroups: { default: { replicas: 3 } } },
  });

  new KafkaCluster(chart, 'kafka', {
    image: { productVersion: '4.1.0' },
    controllers: { roleGroups: { default: { replicas: 3 } } },
    brokers: {
      config: { resources: { memory: { limit: '4Gi' }, storage: { 'log-dirs': { capacity: '50Gi' } } } },
      roleGroups: { default: { replicas: 3 } },
    },
  });
  return chart;
}
