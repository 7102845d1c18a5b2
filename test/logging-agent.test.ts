import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { LOG_AGENT_ENV, logAgentConfig, renderYaml } from '../lib';
import { keelsonCacheDir } from '../lib/image';

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
  });

  /**
   * keelson's build of the collector (lib/logging/log-agent/build.sh), run as a process: it ships the
   * records of a file in the shared format to an OTLP/HTTP receiver of the test's, structured and
   * with their source. Runs where the agent is built (the build takes minutes; not yet part of
   * test:prepare).
   */
  const binary = path.join(keelsonCacheDir(), 'log-agent', 'v0.165.0', 'keelson-log-agent');
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
      fs.writeFileSync(path.join(dir, 'config.yaml'), renderYaml(logAgentConfig(source, dir)));
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
        for (let i = 0; i < 120 && records().length < 2; i++) await new Promise((r) => setTimeout(r, 250));
        const [warn, error] = records();
        expect(received[0].url).toBe('/v1/logs');
        const attrs = (list: any[]) => Object.fromEntries(list.map((a) => [a.key, a.value.stringValue]));
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
