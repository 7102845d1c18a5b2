import { createHash } from 'node:crypto';
import { Chart, Testing } from 'cdk8s';
import {
  exporterConfig,
  KAFKA,
  KafkaCluster,
  kraftClusterId,
  type KafkaClusterProps,
} from '../constructs/kafka';
import { ZookeeperCluster, ZookeeperZnode } from '../constructs/zookeeper';
import { defaultIdOffset, productCrd, specProblems } from '../lib';
import { parse as parseYaml } from 'yaml';
import { find, problemsOf, type Obj } from './support/synth';

function synth(props: KafkaClusterProps = {}, zookeeper?: 'cluster' | 'znode'): Obj[] {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
  if (zookeeper) {
    const zk = new ZookeeperCluster(chart, 'zk', { servers: { roleGroups: { default: { replicas: 1 } } } });
    const ref = zookeeper === 'znode' ? new ZookeeperZnode(chart, 'kafka-znode', { zookeeper: zk }) : zk;
    new KafkaCluster(chart, 'kafka', { ...props, zookeeper: ref });
  } else {
    new KafkaCluster(chart, 'kafka', props);
  }
  return Testing.synth(chart) as Obj[];
}

function properties(objs: Obj[], configMap: string, file: string): Record<string, string> {
  const text: string = find(objs, 'ConfigMap', configMap).data[file];
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

const scheme = { first: 0, stride: 100, slots: 1000 };
const address = (role: string, group: string, i: number) =>
  `kafka-${role}-${group}-${i}.kafka-${role}-${group}-headless.data.svc.cluster.local`;
const script = (objs: Obj[], sts: string): string =>
  find(objs, 'StatefulSet', sts).spec.template.spec.containers[0].command[2];

describe('a KRaft KafkaCluster with defaults', () => {
  const objs = synth();
  const controllerOffset = defaultIdOffset(scheme, 'controllers', 'default');
  const voters = [0, 1, 2]
    .map((i) => `${controllerOffset + i}@${address('controllers', 'default', i)}:9093`)
    .join(',');

  test("runs three controllers and three brokers from keelson's Kafka image, with a bootstrap Service and PDBs", () => {
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'ConfigMap/kafka',
        'ConfigMap/kafka-brokers-default',
        'ConfigMap/kafka-controllers-default',
        'NetworkPolicy/kafka',
        'NetworkPolicy/kafka-controllers',
        'PodDisruptionBudget/kafka-brokers',
        'PodDisruptionBudget/kafka-controllers',
        'Service/kafka-brokers',
        'Service/kafka-brokers-default-headless',
        'Service/kafka-brokers-metrics',
        'Service/kafka-controllers-default-headless',
        'Service/kafka-controllers-metrics',
        'ServiceAccount/kafka',
        'StatefulSet/kafka-brokers-default',
        'StatefulSet/kafka-controllers-default',
      ].sort(),
    );
    for (const sts of ['kafka-brokers-default', 'kafka-controllers-default']) {
      expect(find(objs, 'StatefulSet', sts).spec.replicas).toBe(3);
      expect(find(objs, 'StatefulSet', sts).spec.template.spec.containers[0].image).toBe(
        'ghcr.io/keelson/kafka:3.9.1',
      );
    }
    expect(find(objs, 'Service', 'kafka-brokers').spec.ports).toEqual([
      { name: 'kafka', port: 9092, targetPort: 9092, protocol: 'TCP' },
    ]);
    expect(find(objs, 'PodDisruptionBudget', 'kafka-controllers').spec.maxUnavailable).toBe(1);
  });

  test('labels objects with product, instance, role and role group', () => {
    expect(find(objs, 'StatefulSet', 'kafka-controllers-default').metadata.labels).toMatchObject({
      'app.kubernetes.io/name': 'kafka',
      'app.kubernetes.io/instance': 'kafka',
      'app.kubernetes.io/component': 'controllers',
      'app.kubernetes.io/role-group': 'default',
      'app.kubernetes.io/version': '3.9.1',
      'app.kubernetes.io/managed-by': 'keelson',
    });
  });

  test('controllers and brokers share the quorum voters built from the controllers', () => {
    const controller = properties(objs, 'kafka-controllers-default', 'controller.properties');
    const broker = properties(objs, 'kafka-brokers-default', 'broker.properties');
    expect(controller['controller.quorum.voters']).toBe(voters);
    expect(broker['controller.quorum.voters']).toBe(voters);
    expect(controller).toMatchObject({
      'process.roles': 'controller',
      listeners: 'CONTROLLER://0.0.0.0:9093',
      'controller.listener.names': 'CONTROLLER',
    });
    expect(broker).toMatchObject({ 'process.roles': 'broker', 'controller.listener.names': 'CONTROLLER' });
  });

  test('each broker advertises its own pod address, filled in at start with its node id', () => {
    const broker = properties(objs, 'kafka-brokers-default', 'broker.properties');
    expect(broker.listeners).toBe('PLAINTEXT://0.0.0.0:9092');
    expect(broker['advertised.listeners']).toBe('PLAINTEXT://__POD_ADDRESS__:9092');
    expect(broker['node.id']).toBe('__NODE_ID__');
    const start = script(objs, 'kafka-brokers-default');
    expect(start).toContain(
      `node_id=$(( \${POD_NAME##*-} + ${defaultIdOffset(scheme, 'brokers', 'default')} ))`,
    );
    expect(start).toContain(
      'address="${POD_NAME}.kafka-brokers-default-headless.${POD_NAMESPACE}.svc.cluster.local"',
    );
    expect(start).toContain('> /kafka/run/broker.properties');
  });

  test('the KRaft cluster id never starts with "-" (the storage tool would read it as an option)', () => {
    const plain = (namespace: string) =>
      createHash('sha256').update(`${namespace}/kafka`).digest().subarray(0, 16).toString('base64url');
    // A namespace whose plain id starts with "-" (one in 64 do), and one whose id does not.
    let dashed = 0;
    while (!plain(`ns-${dashed}`).startsWith('-')) dashed++;
    const id = kraftClusterId({ name: 'kafka', namespace: `ns-${dashed}` } as never);
    expect(id).not.toMatch(/^-/);
    expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    expect(id.slice(1)).toBe(plain(`ns-${dashed}`).slice(1));
    // Ids that could start a cluster stay as they were (a changed id would orphan formatted storage).
    expect(kraftClusterId({ name: 'kafka', namespace: 'data' } as never)).toBe(plain('data'));
  });

  test('runs java itself with the image libs as classpath: the storage format, then kafka.Kafka (no Kafka scripts)', () => {
    const start = script(objs, 'kafka-brokers-default');
    const id = kraftClusterId({ name: 'kafka', namespace: 'data' } as never);
    expect(start).not.toMatch(/\.sh\b/);
    expect(start).toMatch(
      new RegExp(
        `^java -Xmx\\d+m -Xms\\d+m -Dlog4j2\\.configurationFile=/kafka/config/log4j2\\.properties -cp '/opt/kafka/libs/\\*' ` +
          `kafka\\.tools\\.StorageTool format --ignore-formatted -t ${id} -c /kafka/run/broker\\.properties$`,
        'm',
      ),
    );
    const exec = start.split('\n').pop()!;
    expect(exec).toMatch(/^exec java -Xmx\d+m -Xms\d+m -XX:\+UseG1GC .*-XX:\+ExitOnOutOfMemoryError /);
    expect(exec).toContain(
      ' -javaagent:/opt/jmx-exporter/jmx_prometheus_javaagent.jar=9404:/kafka/config/jmx-exporter.yaml ',
    );
    expect(exec).toMatch(/ -cp '\/opt\/kafka\/libs\/\*' kafka\.Kafka \/kafka\/run\/broker\.properties$/);
  });

  test('puts nothing in the environment that the JVM of a tool run in the pod would pick up (no JMX_PORT)', () => {
    for (const sts of ['kafka-brokers-default', 'kafka-controllers-default']) {
      const container = find(objs, 'StatefulSet', sts).spec.template.spec.containers[0];
      expect(container.env.map((e: { name: string }) => e.name).sort()).toEqual([
        'POD_NAME',
        'POD_NAMESPACE',
      ]);
      expect(container.command[2]).not.toMatch(/jmxremote|JMX_PORT/);
      expect(container.ports.map((p: { name: string }) => p.name)).not.toContain('jmx');
    }
  });

  test('serves Prometheus metrics from the exporter agent on 9404, with a metrics Service per role', () => {
    for (const role of ['brokers', 'controllers']) {
      const service = find(objs, 'Service', `kafka-${role}-metrics`);
      expect(service.spec.ports).toEqual([expect.objectContaining({ name: 'metrics', port: 9404 })]);
      const config = parseYaml(find(objs, 'ConfigMap', `kafka-${role}-default`).data['jmx-exporter.yaml']);
      expect(config).toMatchObject({ lowercaseOutputName: true, rules: expect.any(Array) });
    }
  });

  test("the exporter's rules name Kafka's metrics by domain, type and name, with labels and quantiles", () => {
    const rules = (exporterConfig() as { rules: { pattern: string; name: string; labels?: object }[] }).rules;
    // The first rule a bean matches wins, as in the exporter.
    const match = (bean: string) => {
      for (const rule of rules) {
        const m = new RegExp(`^${rule.pattern}$`).exec(bean);
        if (m) {
          const fill = (t: string) => t.replace(/\$(\d+)/g, (_, i: string) => m[Number(i)]);
          return {
            name: fill(rule.name),
            labels: Object.fromEntries(Object.entries(rule.labels ?? {}).map(([k, v]) => [fill(k), fill(v)])),
          };
        }
      }
      return undefined;
    };
    expect(
      match('kafka.server<type=BrokerTopicMetrics, name=MessagesInPerSec, topic=orders><>Count'),
    ).toEqual({
      name: 'kafka_server_BrokerTopicMetrics_MessagesIn_total',
      labels: { topic: 'orders' },
    });
    expect(
      match('kafka.network<type=RequestMetrics, name=TotalTimeMs, request=Produce><>99thPercentile'),
    ).toEqual({
      name: 'kafka_network_RequestMetrics_TotalTimeMs',
      labels: { request: 'Produce', quantile: '0.99' },
    });
    expect(match('kafka.controller<type=KafkaController, name=ActiveControllerCount><>Value')).toEqual({
      name: 'kafka_controller_KafkaController_ActiveControllerCount',
      labels: {},
    });
    expect(match('kafka.server<type=raft-metrics><>current-leader')).toEqual({
      name: 'kafka_server_raft-metrics_current-leader',
      labels: {},
    });
    expect(
      match('kafka.server<type=BrokerTopicMetrics, name=MessagesInPerSec><>OneMinuteRate'),
    ).toBeUndefined();
  });

  test('logs through Log4j 2 in every version: the console and the structured file, no Log4j 1 config', () => {
    const levels = {
      containers: {
        kafka: {
          console: { level: 'WARN' as const },
          loggers: { 'kafka.controller': { level: 'DEBUG' as const } },
        },
      },
    };
    // 3.x (the default version) runs on Log4j 2 through Log4j's Log4j 1 bridge in keelson's images.
    for (const version of ['3.9.1', '4.1.0']) {
      const objects = synth({ image: { productVersion: version }, brokers: { config: { logging: levels } } });
      const files = find(objects, 'ConfigMap', 'kafka-brokers-default').data;
      expect({ version, files: Object.keys(files).sort() }).toEqual({
        version,
        files: ['broker.properties', 'jmx-exporter.yaml', 'log4j2.properties'],
      });
      expect(properties(objects, 'kafka-brokers-default', 'log4j2.properties')).toMatchObject({
        monitorInterval: '10',
        'appender.console.type': 'Console',
        'appender.console.filter.threshold.level': 'WARN',
        // The structured file keeps INFO.
        'rootLogger.level': 'INFO',
        'appender.file.fileName': '/keelson/log/kafka.json',
        'appender.file.filter.threshold.level': 'INFO',
        'logger.l0.name': 'kafka.controller',
        'logger.l0.level': 'DEBUG',
      });
      expect(script(objects, 'kafka-brokers-default')).toContain(
        '-Dlog4j2.configurationFile=/kafka/config/log4j2.properties',
      );
      expect(script(objects, 'kafka-brokers-default')).not.toContain('-Dlog4j.configuration=');
    }
  });

  test('lets a broker finish log recovery: a startup probe of an hour before the liveness probe counts', () => {
    for (const [sts, port] of [
      ['kafka-brokers-default', 9092],
      ['kafka-controllers-default', 9093],
    ] as const) {
      const container = find(objs, 'StatefulSet', sts).spec.template.spec.containers[0];
      expect(container.startupProbe).toEqual({
        tcpSocket: { port },
        periodSeconds: 5,
        failureThreshold: 720,
      });
      expect(container.livenessProbe.initialDelaySeconds).toBeUndefined();
      expect(container.livenessProbe.tcpSocket.port).toBe(port);
    }
  });

  test('the KRaft cluster id is a 16-byte id as Kafka writes it', () => {
    expect(
      Buffer.from(kraftClusterId({ name: 'kafka', namespace: 'data' } as never), 'base64url'),
    ).toHaveLength(16);
  });

  test('derives the heap from memory and passes it on the java command line', () => {
    expect(script(objs, 'kafka-brokers-default')).toMatch(/^exec java -Xmx1638m -Xms1638m /m);
    expect(script(objs, 'kafka-controllers-default')).toMatch(/^exec java -Xmx768m -Xms768m /m);
  });

  test('mounts the log-dirs volume at /var/lib/kafka/data and keeps the root filesystem read-only', () => {
    const sts = find(objs, 'StatefulSet', 'kafka-brokers-default');
    const container = sts.spec.template.spec.containers[0];
    expect(sts.spec.volumeClaimTemplates[0].metadata.name).toBe('log-dirs');
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('10Gi');
    const mounts = container.volumeMounts.map((m: { mountPath: string }) => m.mountPath);
    expect(mounts).toEqual(
      expect.arrayContaining(['/var/lib/kafka/data', '/kafka/config', '/kafka/run', '/tmp']),
    );
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(sts.spec.template.spec.securityContext.runAsUser).toBeGreaterThan(10000);
    expect(properties(objs, 'kafka-brokers-default', 'broker.properties')['log.dirs']).toBe(
      '/var/lib/kafka/data',
    );
  });

  test('publishes the bootstrap Service as KAFKA', () => {
    expect(find(objs, 'ConfigMap', 'kafka').data).toEqual({
      KAFKA: 'kafka-brokers.data.svc.cluster.local:9092',
    });
  });
});

describe('node ids', () => {
  test('scaling brokers 3 → 5 keeps the first three ids and adds the next two', () => {
    const props = (replicas: number): KafkaClusterProps => ({
      brokers: { roleGroups: { default: { replicas, config: { nodeIdOffset: 100 } } } },
      controllers: { roleGroups: { default: { config: { nodeIdOffset: 0 } } } },
    });
    expect(script(synth(props(3)), 'kafka-brokers-default')).toBe(
      script(synth(props(5)), 'kafka-brokers-default'),
    );
    expect(script(synth(props(5)), 'kafka-brokers-default')).toContain('+ 100 ))');
  });

  test('a group keeps its default offset when other groups come and go', () => {
    const one = synth({ brokers: { roleGroups: { a: {} } } });
    const two = synth({ brokers: { roleGroups: { a: {}, b: {} } } });
    expect(script(one, 'kafka-brokers-a')).toBe(script(two, 'kafka-brokers-a'));
  });

  test('rejects node id ranges that overlap across controllers and brokers', () => {
    expect(() =>
      synth({
        controllers: { roleGroups: { default: { config: { nodeIdOffset: 0 } } } },
        brokers: { roleGroups: { default: { config: { nodeIdOffset: 2 } } } },
      }),
    ).toThrow(
      /spec\.brokers\.roleGroups\.default\.config\.nodeIdOffset: the ids 2-4 overlap the ids 0-2 of spec\.controllers\.roleGroups\.default; set nodeIdOffset/,
    );
  });
});

describe('a KafkaCluster in ZooKeeper mode', () => {
  const objs = synth({}, 'znode');

  test('runs brokers only, pointed at the ZNode, with broker.id from the ordinal and no storage format', () => {
    expect(objs.some((o) => o.metadata.name.startsWith('kafka-controllers'))).toBe(false);
    const broker = properties(objs, 'kafka-brokers-default', 'broker.properties');
    const znode = find(objs, 'ConfigMap', 'kafka-znode').data;
    expect(broker['zookeeper.connect']).toBe(znode.ZOOKEEPER);
    expect(broker['zookeeper.connect']).toMatch(/:2181\/znode-[0-9a-f]{16}$/);
    expect(broker['broker.id']).toBe('__NODE_ID__');
    expect(broker['broker.id.generation.enable']).toBe('false');
    expect(broker['process.roles']).toBeUndefined();
    expect(broker['controller.quorum.voters']).toBeUndefined();
    expect(script(objs, 'kafka-brokers-default')).not.toContain('StorageTool');
  });

  test("admits the brokers to ZooKeeper's client port through the ZNode", () => {
    const policy = find(objs, 'NetworkPolicy', 'zk');
    expect(policy.spec.ingress).toContainEqual({
      from: [
        {
          podSelector: {
            matchLabels: { 'app.kubernetes.io/name': 'kafka', 'app.kubernetes.io/instance': 'kafka' },
          },
        },
      ],
      ports: [{ port: 2181, protocol: 'TCP' }],
    });
  });

  test('takes the ensemble itself as well as a ZNode', () => {
    const broker = properties(synth({}, 'cluster'), 'kafka-brokers-default', 'broker.properties');
    expect(broker['zookeeper.connect']).not.toContain('/znode-');
  });
});

describe('configOverrides', () => {
  test('override broker.properties and controller.properties, and may use the per-pod placeholders', () => {
    const objs = synth({
      brokers: {
        configOverrides: {
          'broker.properties': {
            'log.retention.hours': '72',
            'advertised.listeners': 'PLAINTEXT://__POD_ADDRESS__:9092',
          },
        },
      },
      controllers: { configOverrides: { 'controller.properties': { 'metadata.log.segment.ms': '60000' } } },
    });
    expect(properties(objs, 'kafka-brokers-default', 'broker.properties')['log.retention.hours']).toBe('72');
    expect(
      properties(objs, 'kafka-controllers-default', 'controller.properties')['metadata.log.segment.ms'],
    ).toBe('60000');
  });
});

describe('bad input', () => {
  test('rejects an unsupported version, listing the supported ones', () => {
    expect(() => synth({ image: { productVersion: '2.8.0' } })).toThrow(
      /version "2\.8\.0" is not supported; supported versions: 3\.8\.1, 3\.9\.1, 4\.0\.0, 4\.1\.0/,
    );
  });

  test('rejects an unknown config file', () => {
    expect(() => synth({ brokers: { configOverrides: { 'server.properties': {} } } as never })).toThrow(
      /unknown field "server\.properties"; expected one of this role's config files: broker\.properties, log4j\.properties, log4j2\.properties, jmx-exporter\.yaml/,
    );
  });

  test('rejects ZooKeeper mode naming a ConfigMap with no reference behind it', () => {
    expect(() => synth({ clusterConfig: { zookeeperConfigMapName: 'zk' } })).toThrow(
      /spec\.clusterConfig\.zookeeperConfigMapName: the discovery ConfigMap "zk" is not known; pass the stacklet it belongs to as a reference/,
    );
  });

  test('rejects ZooKeeper mode with an empty name', () => {
    expect(() => synth({ clusterConfig: { zookeeperConfigMapName: '' } })).toThrow(
      /spec\.clusterConfig\.zookeeperConfigMapName/,
    );
  });

  test('rejects ZooKeeper mode that names a ConfigMap without a ZooKeeper connection', () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    const other = new KafkaCluster(chart, 'other');
    expect(problemsOf(new KafkaCluster(chart, 'kafka', { zookeeper: other }))).toMatch(
      /the ConfigMap "other" has no ZOOKEEPER; name the discovery ConfigMap of a ZookeeperCluster or ZookeeperZnode/,
    );
  });

  test('rejects controllers in ZooKeeper mode (the same rule the API server runs)', () => {
    expect(() => synth({ controllers: {} }, 'znode')).toThrow(
      /ZooKeeper mode .* has no controllers: remove spec\.controllers/,
    );
    expect(
      specProblems(KAFKA.specSchema, { clusterConfig: { zookeeperConfigMapName: 'zk' }, controllers: {} }),
    ).toEqual([expect.stringMatching(/^spec\.controllers: a Kafka in ZooKeeper mode/)]);
  });

  test('rejects ZooKeeper mode on Kafka 4, which has none', () => {
    expect(() => synth({ image: { productVersion: '4.1.0' } }, 'znode')).toThrow(
      /Kafka 4\.1\.0 has no ZooKeeper mode; run one of 3\.8\.1, 3\.9\.1/,
    );
  });

  test('rejects an external listener class for brokers in synth mode, where no operator hands out their addresses', () => {
    for (const [listenerClass, type] of [
      ['external-unstable', 'NodePort'],
      ['external-stable', 'LoadBalancer'],
    ] as const) {
      expect(() => synth({ brokers: { roleConfig: { listenerClass } } })).toThrow(
        `spec.brokers.roleConfig.listenerClass: the ListenerClass "${listenerClass}" (${type}) gives each brokers pod an address of its own, which the keelson operator finds`,
      );
    }
    expect(() => synth({ brokers: { roleConfig: { listenerClass: 'cluster-internal' } } })).not.toThrow();
    // The API server no longer refuses it: the operator serves it (test/kafka-listener.test.ts).
    expect(
      specProblems(KAFKA.specSchema, { brokers: { roleConfig: { listenerClass: 'external-unstable' } } }),
    ).toEqual([]);
    expect(
      specProblems(KAFKA.specSchema, { controllers: { roleConfig: { listenerClass: 'cluster-internal' } } }),
    ).toEqual([
      expect.stringMatching(
        /^spec\.controllers\.roleConfig\.listenerClass: Kafka controllers have no client Service/,
      ),
    ]);
  });

  test('rejects an override of log4j.properties, which no version reads (all log through Log4j 2)', () => {
    for (const version of ['3.9.1', '4.1.0']) {
      expect(() =>
        synth({
          image: { productVersion: version },
          brokers: { configOverrides: { 'log4j.properties': { a: 'b' } } },
        }),
      ).toThrow(
        new RegExp(
          `spec\\.brokers\\.configOverrides\\.log4j\\.properties: Kafka ${version.replace(/\./g, '\\.')} logs through ` +
            "Log4j 2 in keelson's images and does not read log4j\\.properties; override log4j2\\.properties instead",
        ),
      );
    }
    const overridden = synth({ brokers: { configOverrides: { 'log4j2.properties': { a: 'b' } } } });
    expect(properties(overridden, 'kafka-brokers-default', 'log4j2.properties')).toMatchObject({ a: 'b' });
  });

  test('rejects KRaft without controllers', () => {
    expect(() => synth({ controllers: { roleGroups: { default: { replicas: 0 } } } })).toThrow(
      /spec\.controllers: a KRaft Kafka needs at least one controller/,
    );
  });
});

test('the CRD carries the rule against controllers in ZooKeeper mode, reported at spec.controllers', () => {
  const crd = productCrd(KAFKA as never) as any;
  const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec;
  expect(spec['x-kubernetes-validations']).toContainEqual(
    expect.objectContaining({
      rule: expect.stringContaining('!has(self.controllers)'),
      fieldPath: '.controllers',
      reason: 'FieldValueForbidden',
    }),
  );
});
