import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Chart, Testing } from 'cdk8s';
import * as yaml from 'js-yaml';
import { HdfsCluster } from '../constructs/hdfs';
import { ZookeeperCluster, ZookeeperZnode } from '../constructs/zookeeper';
import { LOG_AGENT_ENV, LOG_AGENT_IMAGE, logAgentConfig, renderYaml } from '../lib';
import { keelsonCacheDir } from '../lib/image';
import { LOG_AGENT_IMAGES, logAgentBinaryPath } from '../lib/logging/image';

const source = {
  product: 'zookeeper',
  stacklet: 'zk',
  role: 'servers',
  roleGroup: 'default',
  container: 'zookeeper',
};

describe('the log agent', () => {
  test("reads the container's structured file and names its source in the resource", () => {
    const config = logAgentConfig(source) as Record<string, any>;
    expect(config.receivers.file_log.include).toEqual(['/keelson/log/zookeeper.json']);
    expect(config.receivers.file_log.resource).toEqual({
      'service.name': 'zookeeper',
      'keelson.product': 'zookeeper',
      'keelson.stacklet': 'zk',
      'keelson.role': 'servers',
      'keelson.role_group': 'default',
      'k8s.namespace.name': '${env:POD_NAMESPACE}',
      'k8s.pod.name': '${env:POD_NAME}',
      'k8s.container.name': 'zookeeper',
    });
    expect(config.exporters.otlp_http.endpoint).toBe('${env:KEELSON_LOG_AGGREGATOR}');
    expect(config.service.pipelines.logs.receivers).toEqual(['file_log']);
  });

  test("reads a sidecar's own file with a receiver whose resource names that container", () => {
    const config = logAgentConfig({ ...source, sidecars: ['zkfc'] }) as Record<string, any>;
    expect(config.receivers['file_log/zkfc'].include).toEqual(['/keelson/log/zkfc.json']);
    expect(config.receivers['file_log/zkfc'].resource).toEqual({
      ...config.receivers.file_log.resource,
      'k8s.container.name': 'zkfc',
    });
    expect(config.service.pipelines.logs.receivers).toEqual(['file_log', 'file_log/zkfc']);
  });

  /**
   * keelson's build of the collector (lib/logging/log-agent, built by lib/image/go.ts), run as a process: it ships the
   * records of a file in the shared format to an OTLP/HTTP receiver of the test's, structured and
   * with their source. Runs where the agent is built (the build takes minutes; not yet part of
   * test:prepare).
   */
  const binary = logAgentBinaryPath(keelsonCacheDir());
  (fs.existsSync(binary) ? test : test.skip)(
    'delivers structured records with their source to an OTLP/HTTP aggregator',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-log-agent-'));
      const received: any[] = [];
      const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          let body = Buffer.concat(chunks);
          if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
          received.push({ url: req.url, body: JSON.parse(body.toString()) });
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{}');
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as { port: number }).port;
      fs.writeFileSync(
        path.join(dir, 'zookeeper.json'),
        '{"timestamp":"2026-12-01T21:26:35.756Z","level":"WARN","thread":"main","logger":"org.x","message":"hello \\"q\\""}\n' +
          '{"timestamp":"2026-12-01T21:26:35.757123456Z","level":"ERROR","thread":"t","logger":"org.y","message":"bad","stackTrace":"java.lang.X\\n\\tat a"}\n',
      );
      // A sidecar's own file, shipped by its own receiver.
      fs.writeFileSync(
        path.join(dir, 'zkfc.json'),
        '{"timestamp":"2026-12-01T21:26:36Z","level":"INFO","thread":"main","logger":"org.z","message":"from the sidecar"}\n',
      );
      fs.writeFileSync(
        path.join(dir, 'config.yaml'),
        renderYaml(logAgentConfig({ ...source, sidecars: ['zkfc'] }, dir)),
      );
      const agent = spawn(binary, ['--config', path.join(dir, 'config.yaml')], {
        env: {
          ...process.env,
          [LOG_AGENT_ENV.endpoint]: `http://127.0.0.1:${port}`,
          [LOG_AGENT_ENV.pod]: 'zk-servers-default-0',
          [LOG_AGENT_ENV.namespace]: 'data',
        },
        stdio: 'ignore',
      });
      try {
        const records = () =>
          received.flatMap((r) =>
            r.body.resourceLogs.flatMap((rl: any) =>
              rl.scopeLogs.flatMap((s: any) =>
                s.logRecords.map((l: any) => ({ resource: rl.resource, ...l })),
              ),
            ),
          );
        for (let i = 0; i < 120 && records().length < 3; i++) await new Promise((r) => setTimeout(r, 250));
        const attrs = (list: any[]) => Object.fromEntries(list.map((a) => [a.key, a.value.stringValue]));
        const container = (r: any) => attrs(r.resource.attributes)['k8s.container.name'];
        const [warn, error] = records().filter((r) => container(r) === 'zookeeper');
        const sidecar = records().filter((r) => container(r) === 'zkfc');
        expect(sidecar).toHaveLength(1);
        expect(sidecar[0]).toMatchObject({ severityText: 'INFO', body: { stringValue: 'from the sidecar' } });
        expect(attrs(sidecar[0].resource.attributes)).toMatchObject({
          'keelson.product': 'zookeeper',
          'k8s.pod.name': 'zk-servers-default-0',
        });
        expect(received[0].url).toBe('/v1/logs');
        expect(attrs(warn.resource.attributes)).toMatchObject({
          'keelson.product': 'zookeeper',
          'keelson.role': 'servers',
          'keelson.role_group': 'default',
          'k8s.pod.name': 'zk-servers-default-0',
          'k8s.namespace.name': 'data',
        });
        expect(warn).toMatchObject({
          severityText: 'WARN',
          body: { stringValue: 'hello "q"' },
          timeUnixNano: '1796160395756000000',
        });
        expect(attrs(warn.attributes)).toMatchObject({ thread: 'main', logger: 'org.x' });
        expect(error).toMatchObject({ severityText: 'ERROR', timeUnixNano: '1796160395757123456' });
        expect(attrs(error.attributes)).toMatchObject({ stackTrace: 'java.lang.X\n\tat a' });
      } finally {
        agent.kill();
        server.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});

describe('the log agent beside every pod of a stacklet that names an aggregator', () => {
  const aggregator = { OTLP_HTTP_ENDPOINT: 'http://collector.monitoring.svc:4318' };
  function build(
    clusterConfig: object,
    dependencies: Record<string, Record<string, string>> = {},
  ): { objects: any[]; problems: readonly string[] } {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    const zk = new ZookeeperCluster(chart, 'zk', { clusterConfig }, { dependencies });
    return { objects: zk.problems.length ? [] : (Testing.synth(chart) as any[]), problems: zk.problems };
  }

  test("runs the agent under keelson's security context, reading the log volume read-only, with its config and source", () => {
    const { objects } = build({ logging: { aggregatorConfigMapName: 'otel' } }, { otel: aggregator });
    const sts = objects.find((o) => o.kind === 'StatefulSet');
    const pod = sts.spec.template.spec;
    const agent = pod.containers.find((c: any) => c.name === 'log-agent');
    expect(agent).toMatchObject({
      image: LOG_AGENT_IMAGE,
      args: ['--config', '/keelson/log-agent/log-agent.yaml'],
      resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
      securityContext: {
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
      },
    });
    expect(agent.env).toEqual(
      expect.arrayContaining([
        { name: LOG_AGENT_ENV.endpoint, value: 'http://collector.monitoring.svc:4318' },
        { name: LOG_AGENT_ENV.pod, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: LOG_AGENT_ENV.namespace, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      ]),
    );
    // The product writes the log volume; the agent only reads it.
    const zookeeper = pod.containers.find((c: any) => c.name === 'zookeeper');
    const logMount = zookeeper.volumeMounts.find((m: any) => m.mountPath === '/keelson/log');
    expect(logMount.readOnly).toBeUndefined();
    expect(agent.volumeMounts).toEqual([
      { name: 'log-agent-config', mountPath: '/keelson/log-agent', readOnly: true },
      { name: logMount.name, mountPath: '/keelson/log', readOnly: true },
    ]);
    expect(pod.securityContext).toMatchObject({ runAsUser: 10001, runAsNonRoot: true });
    expect(pod.volumes).toContainEqual({
      name: 'log-agent-config',
      configMap: {
        name: 'zk-servers-default',
        items: [{ key: 'log-agent.yaml', path: 'log-agent.yaml' }],
      },
    });
    const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'zk-servers-default');
    const config = yaml.load(configMap.data['log-agent.yaml']) as any;
    expect(config.receivers.file_log.include).toEqual(['/keelson/log/zookeeper.json']);
    expect(config.receivers.file_log.resource).toMatchObject({
      'keelson.product': 'zookeeper',
      'keelson.stacklet': 'zk',
      'keelson.role': 'servers',
      'keelson.role_group': 'default',
    });
  });

  test("ships an HDFS namenode's failover controller (a second JVM in the pod) from its own file", () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    const zk = new ZookeeperCluster(chart, 'zk', {});
    new HdfsCluster(
      chart,
      'hdfs',
      {
        clusterConfig: { logging: { aggregatorConfigMapName: 'otel' } },
        zookeeper: new ZookeeperZnode(chart, 'hdfs-znode', { zookeeper: zk }),
      },
      { dependencies: { otel: aggregator } },
    );
    const objects = Testing.synth(chart) as any[];
    const agentConfig = (configMap: string) =>
      yaml.load(
        objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === configMap).data['log-agent.yaml'],
      ) as any;
    const namenodes = agentConfig('hdfs-namenodes-default');
    expect(namenodes.service.pipelines.logs.receivers).toEqual(['file_log', 'file_log/zkfc']);
    expect(namenodes.receivers['file_log/zkfc']).toMatchObject({
      include: ['/keelson/log/zkfc.json'],
      resource: { 'keelson.role': 'namenodes', 'k8s.container.name': 'zkfc' },
    });
    expect(agentConfig('hdfs-datanodes-default').service.pipelines.logs.receivers).toEqual(['file_log']);
  });

  test('runs no agent without an aggregator', () => {
    const { objects } = build({});
    const sts = objects.find((o) => o.kind === 'StatefulSet');
    expect(sts.spec.template.spec.containers.map((c: any) => c.name)).toEqual(['zookeeper']);
    const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'zk-servers-default');
    expect(Object.keys(configMap.data)).not.toContain('log-agent.yaml');
  });

  test('rejects an aggregator ConfigMap it was not given, naming the field', () => {
    expect(build({ logging: { aggregatorConfigMapName: 'otel' } }).problems).toEqual([
      'spec.clusterConfig.logging.aggregatorConfigMapName: the discovery ConfigMap "otel" is not known; pass the ' +
        'stacklet it belongs to as a reference (synth mode) or create it (operator mode)',
    ]);
  });

  test('rejects an aggregator ConfigMap without an OTLP/HTTP URL', () => {
    expect(
      build({ logging: { aggregatorConfigMapName: 'otel' } }, { otel: { OTHER: 'x' } }).problems,
    ).toEqual([
      'spec.clusterConfig.logging.aggregatorConfigMapName: the ConfigMap "otel" has no OTLP_HTTP_ENDPOINT; add ' +
        "the aggregator's OTLP/HTTP base URL under that key (http://collector.monitoring.svc:4318)",
    ]);
    expect(
      build(
        { logging: { aggregatorConfigMapName: 'otel' } },
        { otel: { OTLP_HTTP_ENDPOINT: 'collector:4318' } },
      ).problems,
    ).toEqual([
      'spec.clusterConfig.logging.aggregatorConfigMapName: the ConfigMap "otel" has OTLP_HTTP_ENDPOINT ' +
        '"collector:4318", expected an http:// or https:// URL (http://collector.monitoring.svc:4318)',
    ]);
  });

  test("the agent's image runs the binary as uid 10001, from one layer", () => {
    const recipe = LOG_AGENT_IMAGES.recipe('0.165.0');
    expect(recipe.reference).toBe(LOG_AGENT_IMAGE);
    expect(recipe.layers).toHaveLength(1);
    expect(recipe.config).toMatchObject({
      user: '10001:10001',
      entrypoint: ['/usr/local/bin/keelson-log-agent'],
    });
    expect(() => LOG_AGENT_IMAGES.recipe('0.1.0')).toThrow(/builds the log agent 0.165.0 only/);
  });
});
