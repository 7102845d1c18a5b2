/**
 * Rack awareness from node labels (lib/topology): the operator writes each datanode's rack, by pod
 * IP, from its node's labels into the namenodes' ConfigMap, and the namenodes' topology script
 * answers from it — nothing for an address it does not list, so a datanode registers only once its
 * rack is known. Refused in synth mode, which has no operator.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { HDFS, HdfsCluster, topologyScript } from '../constructs/hdfs';
import { buildChildren, type Manifest } from '../lib/operator/build';
import type { KubeObject } from '../lib/operator/informer';
import { fillNodeTopology, nodeAddressView, type TopologyCaches } from '../lib/operator/listener-addresses';
import { podHealthView } from '../lib/operator/pod-health';
import { topologyLocation, topologyTable } from '../lib';
import { find, type Obj } from './support/synth';

const ZK = { zk: { ZOOKEEPER_HOSTS: 'zk-0.zk:2181', ZOOKEEPER_CHROOT: '/hdfs' } };
const ZONE = 'topology.kubernetes.io/zone';

function build(clusterConfig: object, fill?: (built: Manifest[]) => Manifest[]): Obj[] {
  const resource: KubeObject = {
    apiVersion: 'keelson.dev/v1alpha1',
    kind: 'HdfsCluster',
    metadata: { name: 'hdfs', namespace: 'data', uid: 'u-1', generation: 1 },
    spec: { clusterConfig: { zookeeperConfigMapName: 'zk', ...clusterConfig } },
  };
  return buildChildren(HDFS, resource, ZK, [], [], { fill }) as unknown as Obj[];
}

const pod = (name: string, component: string, ip: string | undefined, node: string, instance = 'hdfs') =>
  podHealthView({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'data',
      labels: { 'app.kubernetes.io/instance': instance, 'app.kubernetes.io/component': component },
    },
    spec: { nodeName: node, containers: [] },
    status: { phase: 'Running', ...(ip ? { podIP: ip } : {}) },
  });

const node = (name: string, labels: Record<string, string>) =>
  nodeAddressView({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels },
    status: { addresses: [{ type: 'InternalIP', address: '10.9.9.9' }], conditions: [] },
  });

describe('the node topology table', () => {
  test('makes a location of the labels in order; a label the node lacks is "default"', () => {
    expect(topologyLocation([ZONE], { [ZONE]: 'eu-1a' })).toBe('/eu-1a');
    expect(topologyLocation([ZONE, 'rack'], { [ZONE]: 'eu-1a' })).toBe('/eu-1a/default');
  });

  test('lists pods with an IP on a known node, sorted', () => {
    const labels = (n: string) => (n === 'n1' ? { [ZONE]: 'a' } : n === 'n2' ? { [ZONE]: 'b' } : undefined);
    const t = { key: 'k', nodeLabels: [ZONE], role: 'datanodes' };
    expect(
      topologyTable(
        t,
        [
          { ip: '10.0.0.9', node: 'n2' },
          { ip: '10.0.0.1', node: 'n1' },
          { node: 'n1' },
          { ip: '10.0.0.5', node: 'n3' },
        ],
        labels,
      ),
    ).toBe('10.0.0.1 /a\n10.0.0.9 /b\n');
  });
});

describe('HDFS rack awareness, as the operator builds it', () => {
  const spec = { rackAwareness: { nodeLabels: [ZONE] } };

  test("configures the namenodes' topology script and asks the operator for the datanodes' table", () => {
    const objs = build(spec);
    const cm = find(objs, 'ConfigMap', 'hdfs-namenodes-default');
    expect(JSON.parse(cm.metadata.annotations!['keelson.dev/node-topology'])).toEqual({
      key: 'datanodes.topology',
      nodeLabels: [ZONE],
      role: 'datanodes',
    });
    expect(cm.data['datanodes.topology']).toBe('');
    expect(cm.data['topology.sh']).toBe(topologyScript());
    expect(cm.data['core-site.xml']).toContain(
      '<name>net.topology.script.file.name</name>\n    <value>/keelson/run/topology.sh</value>',
    );
    expect(cm.data['hdfs-site.xml']).toContain(
      '<name>dfs.namenode.reject-unresolved-dn-topology-mapping</name>\n    <value>true</value>',
    );
    const init = find(objs, 'StatefulSet', 'hdfs-namenodes-default').spec.template.spec.initContainers[0];
    expect(init.command[2]).toContain('install -m 0755 /keelson/config/topology.sh /keelson/run/topology.sh');
  });

  test('a new table line rolls nothing (the key is out of the config hash)', () => {
    const hash = (objs: Obj[]) =>
      find(objs, 'StatefulSet', 'hdfs-namenodes-default').spec.template.metadata.annotations;
    const caches: TopologyCaches = {
      pods: () => [pod('hdfs-datanodes-default-0', 'datanodes', '10.0.0.7', 'n1')],
      nodeLabels: () => ({ [ZONE]: 'eu-1a' }),
    };
    expect(hash(build(spec, (b) => fillNodeTopology(b, 'data', caches)))).toEqual(hash(build(spec)));
  });

  test("the operator fills the table from the datanodes' IPs and their nodes' labels, nothing else", () => {
    const nodes = [node('n1', { [ZONE]: 'eu-1a' }), node('n2', { [ZONE]: 'eu-1b' })];
    const caches: TopologyCaches = {
      pods: () => [
        pod('hdfs-datanodes-default-0', 'datanodes', '10.0.0.7', 'n1'),
        pod('hdfs-datanodes-default-1', 'datanodes', '10.0.0.8', 'n2'),
        // Not scheduled yet / not a datanode / another stacklet's datanode.
        pod('hdfs-datanodes-default-2', 'datanodes', undefined, 'n2'),
        pod('hdfs-namenodes-default-0', 'namenodes', '10.0.0.2', 'n1'),
        pod('other-datanodes-default-0', 'datanodes', '10.0.0.3', 'n1', 'other'),
      ],
      nodeLabels: (name) => nodes.find((n) => n.metadata.name === name)?.metadata.labels,
    };
    const objs = build(spec, (b) => fillNodeTopology(b, 'data', caches));
    expect(find(objs, 'ConfigMap', 'hdfs-namenodes-default').data['datanodes.topology']).toBe(
      '10.0.0.7 /eu-1a\n10.0.0.8 /eu-1b\n',
    );
  });

  test('is refused in synth mode, which has no operator to write the table', () => {
    const chart = new Chart(Testing.app(), 'c', { namespace: 'data' });
    new HdfsCluster(
      chart,
      'hdfs',
      { clusterConfig: { zookeeperConfigMapName: 'zk', ...spec } },
      { dependencies: ZK },
    );
    expect(() => Testing.synth(chart)).toThrow(
      /spec\.clusterConfig\.rackAwareness: .*synth mode has no operator/,
    );
  });

  test('without it, the namenodes keep the default rack and nothing asks for a table', () => {
    const cm = find(build({}), 'ConfigMap', 'hdfs-namenodes-default');
    expect(cm.metadata.annotations?.['keelson.dev/node-topology']).toBeUndefined();
    expect(cm.data['core-site.xml']).not.toContain('net.topology');
  });
});

describe("the namenodes' topology script, run by bash", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hdfs-topology-'));
  const script = path.join(dir, 'topology.sh');
  fs.mkdirSync(path.join(dir, 'config'));
  fs.writeFileSync(script, topologyScript().replace('/keelson/config', path.join(dir, 'config')), {
    mode: 0o755,
  });
  fs.writeFileSync(path.join(dir, 'config', 'datanodes.topology'), '10.0.0.7 /eu-1a\n10.0.0.8 /eu-1b\n');
  const run = (...args: string[]) => execFileSync(script, args).toString();

  test("prints each address's rack, a line each, in the order asked", () => {
    expect(run('10.0.0.8', '10.0.0.7')).toBe('/eu-1b\n/eu-1a\n');
  });

  test('prints nothing when one address is not in the table (the namenode resolves it later)', () => {
    expect(run('10.0.0.7', '10.0.0.99')).toBe('');
  });
});
