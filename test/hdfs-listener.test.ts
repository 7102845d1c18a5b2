/**
 * HDFS datanodes on per-pod listeners (lib/listener/pod-listener.ts), as the operator builds them: a
 * datanode registers the ports it listens on with the namenodes, so of a NodePort class it listens
 * on its Service's nodePorts (the operator points each Service's targetPort at its nodePort) and
 * registers its node's address as its hostname, which outside clients use.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HDFS } from '../constructs/hdfs';
import { buildChildren, type Manifest } from '../lib/operator/build';
import { fillListenerAddresses, type ListenerCaches } from '../lib/operator/listener-addresses';
import type { KubeObject } from '../lib/operator/informer';
import { find, type Obj } from './support/synth';

const resource = (spec: object): KubeObject => ({
  apiVersion: 'keelson.dev/v1alpha1',
  kind: 'HdfsCluster',
  metadata: { name: 'hdfs', namespace: 'data', uid: 'u-1', generation: 1 },
  spec: { clusterConfig: { zookeeperConfigMapName: 'zk' }, ...spec },
});

const ZK = { zk: { ZOOKEEPER_HOSTS: 'zk-0.zk:2181', ZOOKEEPER_CHROOT: '/hdfs' } };

function build(datanodes: object, fill?: (built: Manifest[]) => Manifest[]): Obj[] {
  return buildChildren(HDFS, resource({ datanodes }), ZK, [], [], { fill }) as unknown as Obj[];
}

const external = {
  roleConfig: { listenerClass: 'external-unstable' },
  roleGroups: { default: { replicas: 2 } },
};

const service = (name: string, ports: Record<string, number>) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, labels: { 'keelson.dev/listener-addresses': 'hdfs-datanodes-default' } },
  spec: {
    selector: { 'statefulset.kubernetes.io/pod-name': name },
    ports: Object.entries(ports).map(([n, nodePort]) => ({ name: n, port: 1, nodePort })),
  },
});

function script(objs: Obj[]): string {
  return find(objs, 'StatefulSet', 'hdfs-datanodes-default').spec.template.spec.containers[0].command[2];
}

describe('HDFS datanodes of a NodePort class, as the operator builds them', () => {
  const objs = build(external);

  test('get a NodePort Service each for block transfer and HTTP, and an address ConfigMap to fill', () => {
    for (const ordinal of [0, 1]) {
      const svc = find(objs, 'Service', `hdfs-datanodes-default-${ordinal}`);
      expect(svc.spec.type).toBe('NodePort');
      expect(svc.spec.ports).toEqual([
        { name: 'data', port: 9866, targetPort: 9866, protocol: 'TCP' },
        { name: 'http', port: 9864, targetPort: 9864, protocol: 'TCP' },
      ]);
    }
    expect(
      JSON.parse(
        find(objs, 'ConfigMap', 'hdfs-datanodes-default-listeners').metadata.annotations![
          'keelson.dev/listener'
        ],
      ),
    ).toEqual({ serviceType: 'NodePort', ports: ['data', 'http'], bindsAdvertisedPort: true });
  });

  test('listen on, and register, the address the operator wrote: their node and nodePorts', () => {
    const site: string = find(objs, 'ConfigMap', 'hdfs-datanodes-default').data['hdfs-site.xml'];
    expect(site).toContain('<name>dfs.datanode.hostname</name>\n    <value>__LISTENER_HOST__</value>');
    expect(site).toContain('<value>0.0.0.0:__LISTENER_PORT_DATA__</value>');
    expect(site).toContain('<value>0.0.0.0:__LISTENER_PORT_HTTP__</value>');
    const text = script(objs);
    expect(text.indexOf('until [')).toBeLessThan(text.indexOf('sed -e'));
    expect(text).toContain("-cp '/tmp/keelson-config:");
    execFileSync('bash', ['-n', '-c', text]);
    // The probes check the IPC port, which does not move.
    expect(
      find(objs, 'StatefulSet', 'hdfs-datanodes-default').spec.template.spec.containers[0].readinessProbe,
    ).toMatchObject({ tcpSocket: { port: 9867 } });
  });

  test('render the config a datanode starts on from its address entry (the script run by bash)', () => {
    const data = find(objs, 'ConfigMap', 'hdfs-datanodes-default').data;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hdfs-listener-'));
    fs.mkdirSync(`${dir}/listener`);
    fs.mkdirSync(`${dir}/config`);
    for (const file of ['hdfs-site.xml', 'core-site.xml'])
      fs.writeFileSync(`${dir}/config/${file}`, data[file]);
    const entry = { node: 'n1', host: '10.1.2.3', 'port.data': '30010', 'port.http': '30011' };
    for (const [key, value] of Object.entries(entry)) fs.writeFileSync(`${dir}/listener/p-0.${key}`, value);
    // The script up to the JVM's start, on these files.
    const text = script(objs)
      .replace(/\/keelson\/listener/g, `${dir}/listener`)
      .replace(/\/keelson\/config/g, `${dir}/config`)
      .replace(/\/tmp\/keelson-config/g, `${dir}/run`)
      .replace(/^exec java .*$/m, `cat ${dir}/run/hdfs-site.xml`);
    const out = execFileSync('bash', ['-c', text], {
      env: { ...process.env, KEELSON_POD_NAME: 'p-0', KEELSON_NODE_NAME: 'n1' },
    }).toString();
    expect(out).toContain('<name>dfs.datanode.hostname</name>\n    <value>10.1.2.3</value>');
    expect(out).toContain('<value>0.0.0.0:30010</value>');
    expect(out).toContain('<value>0.0.0.0:30011</value>');
    expect(out).not.toContain('__LISTENER');
    expect(fs.readFileSync(`${dir}/run/core-site.xml`, 'utf8')).toBe(data['core-site.xml']);
  });

  test('are admitted from anywhere at the nodePort range (the ports they listen on)', () => {
    expect(find(objs, 'NetworkPolicy', 'hdfs-datanodes-listener').spec.ingress).toEqual([
      {
        ports: [
          { port: 9866, protocol: 'TCP' },
          { port: 9864, protocol: 'TCP' },
          { port: 30000, endPort: 32767, protocol: 'TCP' },
        ],
      },
    ]);
  });

  test("the operator points each Service's targetPort at its allocated nodePort and writes the address", () => {
    const caches: ListenerCaches = {
      services: () =>
        [
          service('hdfs-datanodes-default-0', { data: 30010, http: 30011 }),
          service('hdfs-datanodes-default-1', { data: 30020 }),
        ] as never,
      podNode: (_ns, pod) => (pod === 'hdfs-datanodes-default-0' ? 'real-node' : undefined),
      nodeAddresses: (node) =>
        node === 'real-node' ? [{ type: 'InternalIP', address: '10.1.2.3' }] : undefined,
    };
    const filled = build(external, (built) => fillListenerAddresses(built, 'data', caches));
    expect(find(filled, 'Service', 'hdfs-datanodes-default-0').spec.ports).toEqual([
      { name: 'data', port: 9866, targetPort: 30010, nodePort: 30010, protocol: 'TCP' },
      { name: 'http', port: 9864, targetPort: 30011, nodePort: 30011, protocol: 'TCP' },
    ]);
    // A port not allocated yet keeps the role's port until the next reconcile.
    expect(find(filled, 'Service', 'hdfs-datanodes-default-1').spec.ports).toEqual([
      { name: 'data', port: 9866, targetPort: 30020, nodePort: 30020, protocol: 'TCP' },
      { name: 'http', port: 9864, targetPort: 9864, protocol: 'TCP' },
    ]);
    expect(find(filled, 'ConfigMap', 'hdfs-datanodes-default-listeners').data).toEqual({
      'hdfs-datanodes-default-0.node': 'real-node',
      'hdfs-datanodes-default-0.host': '10.1.2.3',
      'hdfs-datanodes-default-0.port.data': '30010',
      'hdfs-datanodes-default-0.port.http': '30011',
    });
  });
});

describe('HDFS datanodes of the default class', () => {
  const objs = build({ roleGroups: { default: { replicas: 2 } } });

  test('listen at their own ports, with no per-pod Service and no address to wait for', () => {
    expect(objs.some((o) => o.kind === 'Service' && o.metadata.name === 'hdfs-datanodes-default-0')).toBe(
      false,
    );
    const site: string = find(objs, 'ConfigMap', 'hdfs-datanodes-default').data['hdfs-site.xml'];
    expect(site).toContain('<value>0.0.0.0:9866</value>');
    expect(site).not.toContain('dfs.datanode.hostname');
    expect(script(objs)).not.toContain('until [');
  });
});
