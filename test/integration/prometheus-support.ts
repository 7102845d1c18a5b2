/**
 * A real Prometheus (built from the Go module proxy by `build-binaries.sh prometheus`, under its
 * own lock, when the cache lacks it) for the product tests on the real node. It runs as a process
 * in the node's network namespace, where it reaches the pods as the kubelet's probes do and the
 * API server through the node's forward, and discovers targets with keelson's own scrape job
 * (`prometheusScrapeConfig()`: Kubernetes service discovery of the annotated metrics Services),
 * with a ServiceAccount token whose ClusterRole grants only what that discovery reads.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { prometheusScrapeConfig } from '../../lib';
import type { RealNodeState } from '../controlplane/real-node';
import { runBuildScript } from '../controlplane/cluster';
import { adminClients, adminKubeConfig, waitFor } from './support';

export interface TestPrometheus {
  /** The sum of `expr`'s samples now, or undefined while it has none. */
  value(expr: string): Promise<number | undefined>;
  /** Waits until `expr` has samples and `accept(sum)` holds; returns the sum. */
  waitForValue(
    what: string,
    expr: string,
    accept?: (v: number) => boolean,
    timeoutMs?: number,
  ): Promise<number>;
  /** The scrape targets' health, for a failure's message. */
  targets(): Promise<string>;
  /** The tail of Prometheus' own log. */
  log(): string;
  stop(): Promise<void>;
}

function getJson(url: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch {
          reject(new Error(`${url}: HTTP ${res.statusCode}: ${body.slice(0, 300)}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer in 5 s`)));
    req.on('error', reject);
  });
}

/** The Prometheus and promtool binaries' folder, built first when missing. */
export async function prometheusBinaries(): Promise<string> {
  return runBuildScript('prometheus', (m) => process.stderr.write(`${m}\n`));
}

/**
 * Starts Prometheus scraping the keelson metrics Services of `namespace` every 3 seconds. Its
 * ServiceAccount, ClusterRole and binding live in (and are named after) that namespace.
 */
export async function startPrometheus(node: RealNodeState, namespace: string): Promise<TestPrometheus> {
  const bin = await prometheusBinaries();
  const { core, kc } = adminClients();
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const name = `keelson-test-prometheus-${namespace}`;
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'prometheus' } } });
  await rbac.createClusterRole({
    body: {
      metadata: { name },
      rules: [
        { apiGroups: [''], resources: ['services', 'pods', 'endpoints'], verbs: ['list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ],
    },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace }],
    },
  });
  const token = await core.createNamespacedServiceAccountToken({
    name: 'prometheus',
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-prometheus-'));
  fs.writeFileSync(path.join(dir, 'token'), token.status!.token);
  const cluster = adminKubeConfig().getCurrentCluster()!;
  fs.writeFileSync(
    path.join(dir, 'ca.crt'),
    cluster.caData ? Buffer.from(cluster.caData, 'base64') : fs.readFileSync(cluster.caFile!),
  );
  const job = prometheusScrapeConfig();
  const config = {
    // JMX exporter scrapes of a JVM with many MBeans take seconds on a busy machine.
    global: { scrape_interval: '3s', scrape_timeout: '3s' },
    scrape_configs: [
      {
        ...job,
        kubernetes_sd_configs: [
          {
            role: 'endpointslice',
            api_server: `https://${node.hostIp}:6443`,
            namespaces: { names: [namespace] },
            // The API server's certificate names localhost (the node's kubeconfigs say the same).
            tls_config: { ca_file: path.join(dir, 'ca.crt'), server_name: 'localhost' },
            authorization: { credentials_file: path.join(dir, 'token') },
          },
        ],
      },
    ],
  };
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));
  const port = 20000 + Math.floor(Math.random() * 10000);
  const url = `http://${node.nodeIp}:${port}`;
  const logFile = path.join(dir, 'prometheus.log');
  const out = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn(
    'nsenter',
    [
      `--net=/run/netns/${node.netns}`,
      '--',
      path.join(bin, 'prometheus'),
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=${node.nodeIp}:${port}`,
    ],
    { stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  const log = () => fs.readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n');
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    await rbac.deleteClusterRoleBinding({ name }).catch(() => undefined);
    await rbac.deleteClusterRole({ name }).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('Prometheus to be ready', async () => {
      if (child.exitCode !== null) throw new Error(`Prometheus exited (${child.exitCode}):\n${log()}`);
      return (await getJson(`${url}/api/v1/status/buildinfo`)).status === 'success';
    });
  } catch (error) {
    await stop();
    throw error;
  }

  const value = async (expr: string) => {
    const answer = await getJson(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    if (answer.status !== 'success') throw new Error(`query ${expr}: ${JSON.stringify(answer)}`);
    const samples = answer.data.result as { value: [number, string] }[];
    return samples.length === 0 ? undefined : samples.reduce((sum, s) => sum + Number(s.value[1]), 0);
  };
  const targets = async () => {
    const answer = await getJson(`${url}/api/v1/targets`);
    return (answer.data.activeTargets as { scrapeUrl: string; health: string; lastError: string }[])
      .map((t) => `${t.scrapeUrl} ${t.health} ${t.lastError}`)
      .join('\n');
  };
  return {
    value,
    targets,
    log,
    stop,
    waitForValue: async (what, expr, accept = () => true, timeoutMs = 3 * 60_000) => {
      let last: number | undefined;
      try {
        await waitFor(
          what,
          async () => {
            last = await value(expr);
            return last !== undefined && accept(last);
          },
          timeoutMs,
        );
      } catch (error) {
        throw new Error(
          `${(error as Error).message}; ${expr} = ${last}\ntargets:\n${await targets().catch((e) => String(e))}\n` +
            `prometheus log:\n${log()}`,
          { cause: error },
        );
      }
      return last!;
    },
  };
}
