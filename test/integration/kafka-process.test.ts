/**
 * Kafka in KRaft mode from keelson's image and manifests, each pod run as a process the way a
 * container runtime would run it, without a kubelet: the image is built by keelson's recipe
 * (constructs/kafka/image.ts) and its layers unpacked into one root, which every pod gets
 * bind-mounted read-only, with the role group's ConfigMap at /kafka/config (read-only), emptyDirs
 * (tmpfs) at /tmp and /kafka/run, its own data folder at /var/lib/kafka/data, its own network
 * namespace (joined to the others by a bridge in a namespace of the test's own), its pod name as
 * hostname and an /etc/hosts that stands in for cluster DNS. The StatefulSet's start script runs
 * unchanged as the pod's user (10001) with no capabilities. Needs root (namespaces, mounts).
 *
 * Proves: one controller and three brokers start from keelson's files; a topic with replication
 * factor 3 is created; a message produced is consumed (the image's own console tools, run like a
 * client pod); the brokers serve Prometheus text at :9404/metrics; scaling brokers 3 → 4 changes no
 * running broker's files or node id, and the fourth broker joins with the next id. Each step prints
 * the pods' own logs when it fails.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { KafkaCluster, type KafkaClusterProps } from '../../constructs/kafka';
import { kafkaImageRecipe } from '../../constructs/kafka/image';
import { buildImage, readOciArchive } from '../../lib/image';

const VERSION = '4.1.0';
const NAMESPACE = 'data';

jest.setTimeout(20 * 60_000);

type Obj = { kind: string; metadata: { name: string }; [key: string]: any };

function must(command: string, args: string[], input?: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8', input, maxBuffer: 64 << 20 });
  if (result.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}${result.stderr}`,
    );
  return `${result.stdout}${result.stderr}`;
}

function synth(brokers: number): Obj[] {
  const chart = new Chart(Testing.app(), 'platform', { namespace: NAMESPACE });
  const small = { config: { resources: { memory: { limit: '512Mi' } } } };
  const props: KafkaClusterProps = {
    image: { productVersion: VERSION },
    controllers: { roleGroups: { default: { ...small, replicas: 1 } } },
    brokers: { roleGroups: { default: { ...small, replicas: brokers } } },
  };
  new KafkaCluster(chart, 'kafka', props);
  return Testing.synth(chart) as Obj[];
}

const find = (objs: Obj[], kind: string, name: string): Obj => {
  const found = objs.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name} in the synth output`);
  return found;
};

/** What a pod is made of, read from the StatefulSet and ConfigMap as the kubelet would. */
interface PodSpec {
  readonly name: string;
  readonly fqdn: string;
  readonly files: Record<string, string>;
  readonly script: string;
  readonly uid: number;
  readonly port: number;
}

function podsOf(objs: Obj[], role: string): PodSpec[] {
  const sts = find(objs, 'StatefulSet', `kafka-${role}-default`);
  const files = find(objs, 'ConfigMap', `kafka-${role}-default`).data as Record<string, string>;
  const container = sts.spec.template.spec.containers[0];
  expect(container.command.slice(0, 2)).toEqual(['/bin/bash', '-c']);
  expect(container.securityContext).toMatchObject({
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  });
  return Array.from({ length: sts.spec.replicas as number }, (_, i) => ({
    name: `${sts.metadata.name}-${i}`,
    fqdn: `${sts.metadata.name}-${i}.${sts.spec.serviceName}.${NAMESPACE}.svc.cluster.local`,
    files,
    script: container.command[2],
    uid: sts.spec.template.spec.securityContext.runAsUser,
    port: container.readinessProbe.tcpSocket.port,
  }));
}

/** Network namespaces on a bridge, named after this run, with addresses from a /24 of its own. */
class PodNetwork {
  private readonly suffix = `${process.pid % 10000}`;
  private readonly hub = `kkhub${this.suffix}`;
  private readonly subnet = `10.252.${process.pid % 250}`;
  private readonly namespaces: string[] = [];
  public readonly addresses = new Map<string, string>();

  constructor() {
    must('ip', ['netns', 'add', this.hub]);
    must('ip', ['-n', this.hub, 'link', 'add', 'br0', 'type', 'bridge']);
    must('ip', ['-n', this.hub, 'link', 'set', 'br0', 'up']);
  }

  /** A namespace for `host` with the next address; returns its name. */
  public add(host: string): string {
    const n = this.namespaces.length + 1;
    const ns = `kk${n}-${this.suffix}`;
    const address = `${this.subnet}.${n + 1}`;
    must('ip', ['netns', 'add', ns]);
    must('ip', ['-n', this.hub, 'link', 'add', `p${n}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    must('ip', ['-n', this.hub, 'link', 'set', `p${n}`, 'master', 'br0', 'up']);
    must('ip', ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
    must('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    this.namespaces.push(ns);
    this.addresses.set(host, address);
    return ns;
  }

  public remove(): void {
    for (const ns of [...this.namespaces, this.hub]) spawnSync('ip', ['netns', 'delete', ns]);
  }
}

/** One pod's process, its log and its host folders. */
class PodProcess {
  public readonly log: string;
  private child?: ChildProcess;
  private exited?: Promise<void>;

  constructor(
    public readonly pod: PodSpec,
    private readonly dir: string,
    public readonly netns: string,
  ) {
    this.log = path.join(dir, 'log');
  }

  /** The container's start: read-only root, the pod's mounts, hostname, user and environment. */
  public start(rootfs: string, hosts: string): void {
    const { pod, dir } = this;
    fs.mkdirSync(path.join(dir, 'config'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
    fs.chownSync(path.join(dir, 'data'), pod.uid, pod.uid);
    for (const [file, text] of Object.entries(pod.files))
      fs.writeFileSync(path.join(dir, 'config', file), text);
    fs.writeFileSync(path.join(dir, 'hosts'), hosts);
    fs.writeFileSync(path.join(dir, 'start.sh'), pod.script);
    const mounts = [
      'set -e',
      `root=$(mktemp -d)`,
      `mount --bind ${rootfs} "$root"`,
      'mount -o remount,ro,bind "$root"',
      'mount -t proc proc "$root/proc"',
      'mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"',
      `mount -t tmpfs -o uid=${pod.uid},gid=${pod.uid} tmpfs "$root/kafka/run"`,
      `mount --bind ${dir}/config "$root/kafka/config"`,
      'mount -o remount,ro,bind "$root/kafka/config"',
      `mount --bind ${dir}/data "$root/var/lib/kafka/data"`,
      `mount --bind ${dir}/hosts "$root/etc/hosts"`,
      `hostname ${pod.name}`,
      `exec chroot "$root" setpriv --reuid=${pod.uid} --regid=${pod.uid} --clear-groups --inh-caps=-all ` +
        `--bounding-set=-all --no-new-privs env -i POD_NAME=${pod.name} POD_NAMESPACE=${NAMESPACE} ` +
        `PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -c "$(cat ${dir}/start.sh)"`,
    ].join('\n');
    const out = fs.openSync(this.log, 'a');
    this.child = spawn(
      'ip',
      [
        'netns',
        'exec',
        this.netns,
        'unshare',
        '--mount',
        '--uts',
        '--propagation',
        'private',
        'sh',
        '-c',
        mounts,
      ],
      { stdio: ['ignore', out, out] },
    );
    const child = this.child;
    this.exited = new Promise((resolve) => child.on('exit', () => resolve()));
    fs.closeSync(out);
  }

  public get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  public async stop(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGTERM');
    const killer = setTimeout(() => this.child?.kill('SIGKILL'), 60_000);
    await this.exited;
    clearTimeout(killer);
  }

  public tail(lines = 60): string {
    const text = fs.existsSync(this.log) ? fs.readFileSync(this.log, 'utf8') : '';
    return `--- ${this.pod.name} (${this.log}) ---\n${text.split('\n').slice(-lines).join('\n')}`;
  }
}

/** Whether `address:port` accepts a TCP connection from inside `netns` (the probes keelson sets). */
function listening(netns: string, address: string, port: number): boolean {
  return (
    spawnSync('ip', ['netns', 'exec', netns, 'bash', '-c', `exec 3<>/dev/tcp/${address}/${port}`], {
      timeout: 5000,
    }).status === 0
  );
}

describe(`Kafka ${VERSION} KRaft from keelson's image and manifests, pods as processes`, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-kafka-'));
  const rootfs = path.join(work, 'rootfs');
  let network: PodNetwork | undefined;
  const pods: PodProcess[] = [];
  let client = '';
  let hosts = '';

  const logs = (): string => pods.map((p) => p.tail()).join('\n');
  /** Runs `step`; on failure adds every pod's log to the error. */
  async function withLogs<T>(step: () => T | Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      throw new Error(`${(error as Error).message}\n\nthe pods' logs:\n${logs()}`);
    }
  }

  /** A Kafka tool from the image's libs, as a client pod would run it (read-only root, uid 10001). */
  function tool(mainClass: string, args: string[], input?: string): string {
    const script = [
      'set -e',
      'root=$(mktemp -d)',
      `mount --bind ${rootfs} "$root"`,
      'mount -o remount,ro,bind "$root"',
      'mount -t proc proc "$root/proc"',
      'mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"',
      `mount --bind ${work}/client-hosts "$root/etc/hosts"`,
      'exec chroot "$root" setpriv --reuid=10001 --regid=10001 --clear-groups --inh-caps=-all --bounding-set=-all ' +
        '--no-new-privs env -i PATH=/usr/bin:/bin java -Xmx128m ' +
        '-Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties -cp \'/opt/kafka/libs/*\' "$@"',
    ].join('\n');
    return must(
      'ip',
      [
        'netns',
        'exec',
        client,
        'unshare',
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        script,
        'tool',
        mainClass,
        ...args,
      ],
      input,
    );
  }

  /** A pod's process, not started yet, with its network namespace and address. */
  function podProcess(pod: PodSpec): PodProcess {
    const process = new PodProcess(pod, path.join(work, pod.name), network!.add(pod.fqdn));
    pods.push(process);
    return process;
  }

  function writeHosts(all: PodSpec[]): void {
    hosts =
      [
        '127.0.0.1 localhost',
        ...all.map((p) => `${network!.addresses.get(p.fqdn)} ${p.fqdn} ${p.name}`),
      ].join('\n') + '\n';
    fs.writeFileSync(path.join(work, 'client-hosts'), hosts);
  }

  async function waitListening(processes: PodProcess[]): Promise<void> {
    for (;;) {
      const dead = processes.filter((p) => !p.running);
      if (dead.length > 0)
        throw new Error(`${dead.map((p) => p.pod.name).join(', ')} exited before listening`);
      const waiting = processes.filter(
        (p) => !listening(client, network!.addresses.get(p.pod.fqdn)!, p.pod.port),
      );
      if (waiting.length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }

  const bootstrap = (brokers: PodSpec[]): string => brokers.map((p) => `${p.fqdn}:9092`).join(',');

  let brokers: PodSpec[];
  let fourthBroker: PodProcess;

  beforeAll(async () => {
    if (process.getuid?.() !== 0)
      throw new Error('this test needs root: it creates network and mount namespaces');
    const built = await buildImage(kafkaImageRecipe(VERSION), path.join(work, 'image'));
    const archive = await readOciArchive(built.archive, path.join(work, 'oci'));
    fs.mkdirSync(rootfs);
    for (const layer of archive.manifest.layers)
      must('tar', ['-xzf', archive.blobs.get(layer.digest)!, '-C', rootfs]);
    // What a container runtime creates as mount points in the container's root.
    for (const dir of ['kafka/config', 'kafka/run', 'proc', 'tmp'])
      fs.mkdirSync(path.join(rootfs, dir), { recursive: true });
    fs.writeFileSync(path.join(rootfs, 'etc/hosts'), '');

    network = new PodNetwork();
    client = network.add('client');
    const three = synth(3);
    const controllers = podsOf(three, 'controllers');
    brokers = podsOf(three, 'brokers');
    const started = [...controllers, ...brokers].map(podProcess);
    // The pod scaling adds later gets its address now, so every pod's /etc/hosts names it.
    fourthBroker = podProcess(podsOf(synth(4), 'brokers')[3]);
    writeHosts(pods.map((p) => p.pod));
    for (const p of started) p.start(rootfs, hosts);
    await withLogs(() => waitListening(started));
  });

  afterAll(async () => {
    // Brokers first: a broker shuts down in a controlled way only while a controller answers.
    await Promise.all(pods.filter((p) => p.pod.name.includes('brokers')).map((p) => p.stop()));
    await Promise.all(pods.map((p) => p.stop()));
    network?.remove();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('a topic with replication factor 3 is created, and a message produced is consumed', async () => {
    await withLogs(() => {
      tool('org.apache.kafka.tools.TopicCommand', [
        '--bootstrap-server',
        bootstrap(brokers),
        '--create',
        '--topic',
        'orders',
        '--partitions',
        '3',
        '--replication-factor',
        '3',
      ]);
      const described = tool('org.apache.kafka.tools.TopicCommand', [
        '--bootstrap-server',
        bootstrap(brokers),
        '--describe',
        '--topic',
        'orders',
      ]);
      expect(described).toMatch(/ReplicationFactor: 3/);
      tool(
        'org.apache.kafka.tools.ConsoleProducer',
        ['--bootstrap-server', bootstrap(brokers), '--topic', 'orders'],
        'keelson-order-1\n',
      );
      const consumed = tool('org.apache.kafka.tools.consumer.ConsoleConsumer', [
        '--bootstrap-server',
        bootstrap(brokers),
        '--topic',
        'orders',
        '--from-beginning',
        '--max-messages',
        '1',
        '--timeout-ms',
        '60000',
      ]);
      expect(consumed).toContain('keelson-order-1');
    });
  });

  test('every pod serves Prometheus text on :9404/metrics, and none opens a JMX port', async () => {
    await withLogs(() => {
      const ordersIn: string[] = [];
      for (const p of pods.filter((q) => q.running)) {
        const address = network!.addresses.get(p.pod.fqdn)!;
        const response = must('ip', [
          'netns',
          'exec',
          client,
          'bash',
          '-c',
          `exec 3<>/dev/tcp/${address}/9404; printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3`,
        ]);
        expect(response).toMatch(/content-type: text\/plain; version=0\.0\.4/i);
        expect(response).toMatch(/^jvm_memory_used_bytes\{area="heap"\} /m);
        if (p.pod.name.includes('brokers')) {
          expect(response).toMatch(/^kafka_server_replicamanager_partitioncount /m);
          ordersIn.push(
            ...(response.match(/^kafka_server_brokertopicmetrics_messagesin_total\{topic="orders"\} .*$/gm) ??
              []),
          );
        } else {
          expect(response).toMatch(/^kafka_server_raft_metrics_current_leader /m);
        }
        expect(listening(client, address, 9999)).toBe(false);
      }
      // The leader of the partition the message went to counted it.
      expect(ordersIn).toContainEqual(expect.stringMatching(/ 1\.0$/));
    });
  });

  test('scaling brokers 3 → 4 keeps the running brokers’ files and node ids, and the fourth joins with the next id', async () => {
    const four = podsOf(synth(4), 'brokers');
    for (const i of [0, 1, 2]) {
      expect(four[i].files).toEqual(brokers[i].files);
      expect(four[i].script).toBe(brokers[i].script);
    }
    const offset = Number(/\+ (\d+) \)\)/.exec(brokers[0].script)![1]);
    expect(fourthBroker.pod).toEqual(four[3]);
    const fourth = fourthBroker;
    fourth.start(rootfs, hosts);
    await withLogs(async () => {
      await waitListening([fourth]);
      const quorum = tool('org.apache.kafka.tools.MetadataQuorumCommand', [
        '--bootstrap-server',
        bootstrap(four),
        'describe',
        '--replication',
      ]);
      for (const id of [0, 1, 2, 3]) expect(quorum).toMatch(new RegExp(`^${offset + id}\\s`, 'm'));
      tool('org.apache.kafka.tools.TopicCommand', [
        '--bootstrap-server',
        bootstrap(four),
        '--create',
        '--topic',
        'on-four',
        '--partitions',
        '4',
        '--replication-factor',
        '4',
      ]);
      expect(
        tool('org.apache.kafka.tools.TopicCommand', [
          '--bootstrap-server',
          bootstrap(four),
          '--describe',
          '--topic',
          'on-four',
        ]),
      ).toMatch(/ReplicationFactor: 4/);
    });
  });
});
