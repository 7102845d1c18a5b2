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
import { whileFrozen } from './process-faults';
import { adminClients, adminKubeConfig, apiStatus, waitFor } from './support';

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
  /**
   * Waits until Prometheus has loaded the rule groups it was started with and evaluated every rule
   * without error (`/api/v1/rules`: each rule's health `ok`); returns the groups' names.
   */
  waitForRules(): Promise<string[]>;
  /**
   * Checks a stacklet's monitoring content against this Prometheus: every metric name of the
   * product's list has a series of the namespace, and every query of the dashboard ConfigMap is
   * valid PromQL that returns data.
   */
  checkMonitoring(namespace: string, metricNames: readonly string[], dashboard?: object): Promise<void>;
  /**
   * What every product test checks of its stacklet's monitoring once the product has done some
   * work: keelson's rule groups (the shared `targets` group and the product's own) load and
   * evaluate, the product's recording rule `recording.expr` has a value `recording.accept` takes
   * (any value by default), and `checkMonitoring`. Returns the recording rule's value.
   */
  checkStacklet(options: StackletMonitoringCheck): Promise<number>;
  /**
   * Waits until the alert `name` of `namespace` fires (`/api/v1/alerts`, state `firing`); returns
   * its labels and annotations.
   */
  waitForAlert(name: string, namespace: string, timeoutMs?: number): Promise<FiringAlert>;
  /**
   * The fault most alert tests make: `pod`'s product process frozen (process-faults.ts) until every
   * alert of `alerts` (name to severity) of `namespace` fires, then thawed. Before the fault none
   * of them fires (with `quietBefore: 'all'`, no alert of the namespace at all). Each alert has
   * its severity and the namespace's and `options.stacklet`'s labels, and one that names a pod
   * names the frozen one. Prints how long they took; returns the alerts by name.
   */
  alertsWhileFrozen<N extends string>(
    namespace: string,
    pod: string,
    alerts: Readonly<Record<N, 'critical' | 'warning'>>,
    options: FrozenAlertsOptions,
  ): Promise<Record<N, FiringAlert>>;
  stop(): Promise<void>;
}

/** How {@link TestPrometheus.alertsWhileFrozen} checks and freezes. */
export interface FrozenAlertsOptions {
  /** The stacklet whose alerts fire. */
  readonly stacklet: string;
  /** The frozen process' command. @default 'java' */
  readonly command?: string;
  /** What the frozen process' command line holds, where the pod runs several `command`s (a main class). @default - any */
  readonly argument?: string;
  /** How long each alert may take to fire. @default 3 minutes */
  readonly timeoutMs?: number;
  /**
   * Which alerts must be quiet before the fault: the ones awaited, neither pending nor firing
   * (`named`); no alert of the namespace firing (`all`); or no check, when an earlier fault's
   * alert may still fire or pend (`none`).
   * @default 'named'
   */
  readonly quietBefore?: 'named' | 'all' | 'none';
}

/** What {@link TestPrometheus.checkStacklet} checks. */
export interface StackletMonitoringCheck {
  readonly namespace: string;
  /** The product's metric names (`ZOOKEEPER_METRIC_NAMES`, …). */
  readonly metricNames: readonly string[];
  /** The stacklet's dashboard ConfigMap. */
  readonly dashboard?: object;
  /** A recording rule of the product's group, which the test's own work moves. */
  readonly recording: {
    readonly what: string;
    readonly expr: string;
    readonly accept?: (v: number) => boolean;
  };
}

/** An alert as Prometheus' `/api/v1/alerts` lists it. */
export interface FiringAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly state: string;
}

/**
 * Rule groups whose alerts wait `delay` instead of their own `for` (minutes, made for people), so
 * a test sees an alert fire soon after the fault it makes; expressions, labels and annotations are
 * keelson's own.
 */
export function withAlertDelay(groups: readonly unknown[], delay: string): unknown[] {
  return (groups as { rules: Record<string, unknown>[] }[]).map((g) => ({
    ...g,
    rules: g.rules.map((r) => ('alert' in r ? { ...r, for: delay } : r)),
  }));
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
export async function startPrometheus(
  node: RealNodeState,
  namespace: string,
  options: {
    /** Rule groups (a PrometheusRule's spec.groups) Prometheus loads from a rule file. */
    readonly ruleGroups?: readonly unknown[];
    /** @default 3 */
    readonly scrapeSeconds?: number;
  } = {},
): Promise<TestPrometheus> {
  const bin = await prometheusBinaries();
  const { core, kc } = adminClients();
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const name = `keelson-test-prometheus-${namespace}`;
  // A second Prometheus of the namespace (a fresh one, after the first stopped) keeps the account.
  await core
    .createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'prometheus' } } })
    .catch((error: unknown) => {
      if (apiStatus(error) !== 409) throw error;
    });
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
  const rulesFile = path.join(dir, 'rules.json');
  fs.writeFileSync(rulesFile, JSON.stringify({ groups: options.ruleGroups ?? [] }));
  const every = `${options.scrapeSeconds ?? 3}s`;
  const config = {
    // JMX exporter scrapes of a JVM with many MBeans take seconds on a busy machine.
    global: { scrape_interval: every, scrape_timeout: every, evaluation_interval: every },
    rule_files: [rulesFile],
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
  const expectedGroups = ((options.ruleGroups ?? []) as { name: string }[]).map((g) => g.name).sort();
  const waitForRules = async () => {
    let last = '';
    try {
      await waitFor('the rules to load and evaluate', async () => {
        const answer = await getJson(`${url}/api/v1/rules`);
        const groups = answer.data.groups as {
          name: string;
          rules: { name: string; health: string; lastError?: string }[];
        }[];
        last = JSON.stringify(
          groups.map((g) => ({
            group: g.name,
            rules: g.rules.map((r) => `${r.name} ${r.health} ${r.lastError ?? ''}`),
          })),
        );
        const bad = groups.flatMap((g) => g.rules).filter((r) => r.health === 'err');
        if (bad.length > 0) throw new Error(`rules failed: ${last}`);
        return (
          JSON.stringify(groups.map((g) => g.name).sort()) === JSON.stringify(expectedGroups) &&
          groups.every((g) => g.rules.every((r) => r.health === 'ok'))
        );
      });
    } catch (error) {
      throw new Error(`${(error as Error).message}\nrules: ${last}\nprometheus log:\n${log()}`, {
        cause: error,
      });
    }
    return expectedGroups;
  };
  const waitForValue: TestPrometheus['waitForValue'] = async (
    what,
    expr,
    accept = () => true,
    timeoutMs = 3 * 60_000,
  ) => {
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
  };
  const checkMonitoring = async (ns: string, metricNames: readonly string[], dashboard?: object) => {
    const names = (
      await getJson(
        `${url}/api/v1/label/__name__/values?match[]=${encodeURIComponent(`{namespace="${ns}"}`)}`,
      )
    ).data as string[];
    const namesFile = path.join(os.tmpdir(), `keelson-metric-names-${ns}.txt`);
    fs.writeFileSync(namesFile, names.join('\n'));
    process.stdout.write(`${names.length} metric names served in ${ns}: ${namesFile}\n`);
    for (const name of metricNames)
      await waitForValue(name, `count(${name}{namespace="${ns}"})`, () => true, 60_000);
    if (dashboard) {
      const model = JSON.parse(
        Object.values((dashboard as unknown as { data: Record<string, string> }).data)[0],
      ) as {
        panels: { title: string; targets: { expr: string }[] }[];
      };
      for (const panel of model.panels)
        for (const target of panel.targets)
          await waitForValue(`dashboard panel "${panel.title}"`, target.expr, () => true, 60_000);
    }
  };
  const checkStacklet = async ({ namespace, metricNames, dashboard, recording }: StackletMonitoringCheck) => {
    // keelson's PrometheusRule has two groups: the shared targets group and the product's own.
    expect(await waitForRules()).toHaveLength(2);
    const recorded = await waitForValue(recording.what, recording.expr, recording.accept);
    await checkMonitoring(namespace, metricNames, dashboard);
    return recorded;
  };
  const waitForAlert = async (name: string, ns: string, timeoutMs = 3 * 60_000) => {
    let alerts: FiringAlert[] = [];
    let found: FiringAlert | undefined;
    try {
      await waitFor(
        `the alert ${name} to fire`,
        async () => {
          alerts = (await getJson(`${url}/api/v1/alerts`)).data.alerts as FiringAlert[];
          found = alerts.find(
            (a) => a.labels.alertname === name && a.labels.namespace === ns && a.state === 'firing',
          );
          return found !== undefined;
        },
        timeoutMs,
      );
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\nalerts: ${JSON.stringify(alerts)}\n` +
          `targets:\n${await targets().catch((e) => String(e))}\nprometheus log:\n${log()}`,
        { cause: error },
      );
    }
    return found!;
  };
  const alertsWhileFrozen: TestPrometheus['alertsWhileFrozen'] = async (
    ns,
    pod,
    severities,
    { stacklet, command = 'java', argument = '', quietBefore = 'named', timeoutMs },
  ) => {
    const alertNames = Object.keys(severities) as (keyof typeof severities)[];
    if (quietBefore !== 'none') {
      // Not even pending, the named ones; of all the others, none firing.
      const which = quietBefore === 'all' ? 'alertstate="firing"' : `alertname=~"${alertNames.join('|')}"`;
      expect(await value(`ALERTS{namespace="${ns}", ${which}}`)).toBeUndefined();
    }
    const frozenAt = Date.now();
    const fired = await whileFrozen(
      ns,
      pod,
      command,
      async () => {
        const alerts: Partial<Record<(typeof alertNames)[number], FiringAlert>> = {};
        for (const name of alertNames) alerts[name] = await waitForAlert(name, ns, timeoutMs);
        return alerts as Record<(typeof alertNames)[number], FiringAlert>;
      },
      argument,
    );
    for (const name of alertNames) {
      const { labels } = fired[name];
      expect(labels).toMatchObject({ namespace: ns, stacklet, severity: severities[name] });
      if ('pod' in labels) expect(labels.pod).toBe(pod);
    }
    process.stdout.write(
      `${ns}: ${alertNames.join(', ')} fired within ${((Date.now() - frozenAt) / 1000).toFixed(1)} s ` +
        `of ${pod}'s ${command} process freezing\n`,
    );
    return fired;
  };
  return {
    value,
    targets,
    log,
    stop,
    waitForRules,
    checkMonitoring,
    checkStacklet,
    waitForValue,
    waitForAlert,
    alertsWhileFrozen,
  };
}
