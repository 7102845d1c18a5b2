/**
 * OPA authorizes Trino on the real node: keelson's OPA image (OPA compiled from the Go module
 * proxy) and Trino image, a program with an OpaCluster, a Rego policy in a labelled ConfigMap and a
 * TrinoCluster with two tpch catalogs (`sales`, `finance`) whose access control asks the OpaCluster,
 * applied as a user applies it (server-side apply of the synthesized objects).
 *
 * - alice reads `sales`; her query of `finance` fails with Access Denied; bob (not in the policy)
 *   may not even run a query;
 * - the policy's ConfigMap changes (alice may read `finance` and no longer `sales`): the change
 *   takes effect with no pod of OPA or Trino replaced or restarted (same uids, same restart counts);
 *   the time from the API server accepting the change to alice's first successful query of
 *   `finance` is printed;
 * - OPA's stdout holds its decisions (the console decision logger), the policy step logs what it
 *   wrote, and OPA's metrics port serves Prometheus text;
 * - OPA's structured file holds its records (decisions among them) in keelson's shared fields, and
 *   where keelson's log agent is built, the agent ships them with their source;
 * - a Prometheus scrapes OPA through keelson's scrape job: OPA's rules load and count the
 *   decisions Trino asked for, every metric and dashboard query has data, and with a policy whose
 *   rules conflict asked 30 times `OpaDecisionErrors` fires;
 * - OPA's log level set to DEBUG in the spec rolls its pod (the level is a flag of OPA's), and the
 *   new pod's DEBUG records reach the file and the aggregator;
 * - OPA's access control removed from the running Trino, then added back: each apply replaces the
 *   coordinator alone (the worker pod stays), its ConfigMap holds `access-control.properties` only
 *   with OPA, and bob, denied everything under the policy, reads `sales` in between.
 *
 * Trino takes the user from `X-Trino-User` (no authenticator configured); queries go over Trino's
 * REST protocol with curl and jq from a client pod of the OPA image.
 */
import { ApiObject, App, Chart } from 'cdk8s';
import { OPA_METRIC_NAMES, OPA_POLICY_LABEL, OpaCluster } from '../../constructs/opa';
import { opaImageRecipe } from '../../constructs/opa/image';
import { TrinoCatalog, TrinoCluster } from '../../constructs/trino';
import { trinoImageRecipe } from '../../constructs/trino/image';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import {
  FIRST_TIER_JIT,
  buildImageOnRealNode,
  clientPod,
  execInPod,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  waitPodsReady,
} from './real-node-support';
import type { OtlpReceiver } from '../support/otlp-receiver';
import {
  expectRecordsShipped,
  explainSkippedShipping,
  logAgentUsage,
  observedClusterConfig,
  SHIP_LOGS,
  startLogShipping,
} from './log-shipping';
import { startPrometheus, withAlertDelay } from './prometheus-support';
import { expectSharedRecordShape, readStructuredLog, waitForRecords } from './structured-logs';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';

jest.setTimeout(60 * 60_000);

const { core } = adminClients();
const client = new KubeClient(adminKubeConfig());
const log = (message: string) => process.stdout.write(`OPA and Trino on the real node: ${message}\n`);
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** The policy: `user` may read the catalogs `readable`, nobody else may do anything. */
function policy(user: string, readable: readonly string[]): string {
  return [
    'package trino',
    '',
    'default allow := false',
    '',
    `readable := {${readable.map((c) => `"${c}"`).join(', ')}}`,
    '',
    '# The catalogs an action touches (none for ExecuteQuery).',
    'catalogs contains input.action.resource.catalog.name',
    '',
    'catalogs contains input.action.resource.schema.catalogName',
    '',
    'catalogs contains input.action.resource.table.catalogName',
    '',
    'allow if {',
    `\tinput.context.identity.user == "${user}"`,
    '\tevery c in catalogs { c in readable }',
    '}',
    '',
  ].join('\n');
}

const POLICY_CONFIG_MAP = 'trino-policy';

/** A policy whose rule `p` has two values when the input has both `x` and `y`: OPA answers 500. */
const CONFLICT_POLICY = ['package conflict', '', 'p := 1 if input.x', '', 'p := 2 if input.y', ''].join('\n');

explainSkippedShipping('opa-trino-real-node');
/** The test aggregator OPA's log agent ships to, and its discovery ConfigMap's data. */
let aggregator: OtlpReceiver | undefined;
let dependencies: Record<string, Record<string, string>> = {};
afterAll(async () => {
  await aggregator?.close();
});

/** `q USER SQL` in the client pod: `ROWS: <rows as JSON arrays>` or `ERROR: <Trino's message>`. */
const QUERY_FUNCTION = `
q() {
  r="$(curl -sS -X POST -H "X-Trino-User: $1" --data "$2" "$TRINO/v1/statement")" || { echo "ERROR: curl"; return 0; }
  rows=""
  while :; do
    rows="$rows$(printf '%s' "$r" | jq -c '.data // [] | .[]')"
    e="$(printf '%s' "$r" | jq -r '.error.message // empty')"
    if [ -n "$e" ]; then echo "ERROR: $e"; return 0; fi
    n="$(printf '%s' "$r" | jq -r '.nextUri // empty')"
    [ -z "$n" ] && break
    r="$(curl -sS -H "X-Trino-User: $1" "$n")"
  done
  echo "ROWS: $rows"
}
`;

describe('OPA authorizes Trino on the real node', () => {
  const ns = useTestNamespace('opa-trino', RESTRICTED);

  /**
   * The program; `opaDebug` sets OPA's level (one for console and file) to DEBUG; `authorize` false
   * leaves OPA out of Trino's spec (Trino then allows everything).
   */
  function program(readable: readonly string[], opaDebug = false, authorize = true): Manifest[] {
    const chart = new Chart(new App(), 'opa-trino', { namespace: ns.name });
    const placement = { podOverrides: { spec: REAL_NODE_PLACEMENT } };
    const opa = new OpaCluster(
      chart,
      'opa',
      {
        image: { pullPolicy: 'Never' },
        clusterConfig: observedClusterConfig(),
        servers: {
          roleGroups: { default: { replicas: 1 } },
          ...placement,
          ...(opaDebug
            ? { config: { logging: { containers: { opa: { file: { level: 'DEBUG' as const } } } } } }
            : {}),
        },
      },
      { dependencies },
    );
    new ApiObject(chart, 'conflict-policy', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'conflict-policy', labels: { [OPA_POLICY_LABEL]: 'opa' } },
      data: { 'conflict.rego': CONFLICT_POLICY },
    });
    new ApiObject(chart, 'policy', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: POLICY_CONFIG_MAP, labels: { [OPA_POLICY_LABEL]: 'opa' } },
      data: { 'trino.rego': policy('alice', readable) },
    });
    const labels = { trino: 'trino' };
    const catalogs = ['sales', 'finance'].map(
      (name) => new TrinoCatalog(chart, name, { connector: { tpch: {} }, labels }),
    );
    const small = { resources: { cpu: { min: '200m', max: '2' }, memory: { limit: '1536Mi' } } };
    new TrinoCluster(chart, 'trino', {
      image: { pullPolicy: 'Never' },
      clusterConfig: { catalogLabelSelector: { matchLabels: labels } },
      catalogs,
      ...(authorize ? { opa: { cluster: opa, package: 'trino' } } : {}),
      coordinators: { config: small, ...placement, ...FIRST_TIER_JIT },
      workers: { config: small, roleGroups: { default: { replicas: 1 } }, ...placement, ...FIRST_TIER_JIT },
    });
    return chart.toJson() as Manifest[];
  }

  /** uid and restart count of every pod of OPA and Trino. */
  async function podIdentities(): Promise<Record<string, string>> {
    const pods = (await core.listNamespacedPod({ namespace: ns.name })).items.filter((p) =>
      ['opa', 'trino'].includes(p.metadata!.labels?.['app.kubernetes.io/instance'] ?? ''),
    );
    return Object.fromEntries(
      pods.map((p) => [
        p.metadata!.name!,
        `${p.metadata!.uid} restarts=${(p.status?.containerStatuses ?? []).map((c) => `${c.name}:${c.restartCount}`).join(',')}`,
      ]),
    );
  }

  async function opaPod(): Promise<string> {
    const pods = (
      await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app.kubernetes.io/instance=opa' })
    ).items.filter((p) => !p.metadata!.deletionTimestamp);
    expect(pods).toHaveLength(1);
    return pods[0].metadata!.name!;
  }

  async function everything(): Promise<string> {
    const pods = (await core.listNamespacedPod({ namespace: ns.name })).items.map((p) => p.metadata!.name!);
    return podsLogs(ns.name, pods);
  }

  it("lets alice read one catalog and not the other, follows a change of the policy's ConfigMap without restarts, and applies OPA removed and added back", async () => {
    await realNode();
    let started = Date.now();
    const opaImage = await buildImageOnRealNode(opaImageRecipe('1.22.3'));
    await buildImageOnRealNode(trinoImageRecipe('476'));
    if (SHIP_LOGS) ({ aggregator, dependencies } = await startLogShipping(ns.name));
    log(`images built (or cached) and imported in ${seconds(started)}`);
    await core.createNamespacedSecret({
      namespace: ns.name,
      body: { metadata: { name: 'trino-internal-secret' }, stringData: { internalSharedSecret: 'opa-test' } },
    });

    started = Date.now();
    // The PrometheusRules' groups go to the test Prometheus' rule file (no prometheus-operator here).
    const withoutRules = (objects: Manifest[]) => objects.filter((o) => o.kind !== 'PrometheusRule');
    const first = program(['sales']);
    expect(await applyAll(client, withoutRules(first), ns.name)).toEqual([]);
    const clientName = 'trino-client';
    const body = clientPod({
      name: clientName,
      image: opaImage.reference,
      command: ['/bin/sh', '-c', 'sleep 86400'],
      env: [{ name: 'TRINO', value: `http://trino-coordinators.${ns.name}.svc.cluster.local:8080` }],
    });
    body.spec!.restartPolicy = 'Always';
    body.spec!.terminationGracePeriodSeconds = 0;
    await core.createNamespacedPod({ namespace: ns.name, body });
    await waitPodsReady(
      ns.name,
      [clientName, 'trino-coordinators-default-0', 'trino-workers-default-0'],
      20 * 60_000,
      everything,
    );
    const opa = await opaPod();
    await waitPodsReady(ns.name, [opa], 5 * 60_000, everything);
    log(`OPA, Trino's coordinator and worker Ready ${seconds(started)} after apply`);

    const query = (user: string, sql: string) =>
      execInPod(ns.name, clientName, `${QUERY_FUNCTION}\nq ${user} "${sql}"`);
    const sales = 'SELECT count(*) FROM sales.tiny.nation';
    const finance = 'SELECT count(*) FROM finance.tiny.nation';

    // The coordinator is Ready before its worker has announced itself: wait for a first answer.
    let answer = '';
    try {
      await waitFor(
        'alice to read sales',
        async () => (answer = await query('alice', sales)).includes('ROWS: [25]'),
        5 * 60_000,
        undefined,
        undefined,
        async () => answer,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await everything()}`, { cause: error });
    }
    expect(await query('alice', finance)).toMatch(/^ERROR: Access Denied: .*finance/m);
    expect(await query('bob', sales)).toMatch(/^ERROR: Access Denied/m);
    log('alice reads sales, is denied finance; bob is denied');

    // The policy changes: alice may read finance and no longer sales.
    const before = await podIdentities();
    const changedAt = Date.now();
    expect(await applyAll(client, withoutRules(program(['finance'])), ns.name)).toEqual([]);
    const loop = [
      QUERY_FUNCTION,
      // Within kubectl exec's 120 s.
      'deadline=$(($(date +%s) + 100))',
      // The image has no grep: the shell matches the answer.
      'until case "$(q alice "' + finance + '")" in *"ROWS: [25]"*) true ;; *) false ;; esac; do',
      '  [ "$(date +%s)" -gt "$deadline" ] && { echo TIMEOUT; exit 1; }',
      '  sleep 0.2',
      'done',
      'echo "allowed at $(date +%s%3N)"',
    ].join('\n');
    const flipped = await execInPod(ns.name, clientName, loop);
    const allowedAt = Number(/allowed at (\d+)/.exec(flipped)?.[1]);
    expect(allowedAt).toBeGreaterThan(0);
    log(
      `policy change took effect ${((allowedAt - changedAt) / 1000).toFixed(1)} s after the ConfigMap was applied ` +
        "(alice's first successful query of finance)",
    );
    expect(await query('alice', sales)).toMatch(/^ERROR: Access Denied: .*sales/m);
    expect(await query('alice', finance)).toContain('ROWS: [25]');
    expect(await podIdentities()).toEqual(before);
    log(`no pod replaced or restarted: ${JSON.stringify(before)}`);

    // Decisions on OPA's stdout; what the policy step wrote; OPA's metrics.
    const opaLog = await core.readNamespacedPodLog({ name: opa, namespace: ns.name, container: 'opa' });
    const decisions = opaLog.split('\n').filter((l) => l.includes('"msg":"Decision Log"'));
    expect(decisions.some((l) => l.includes('"user":"alice"') && l.includes('"result":false'))).toBe(true);
    expect(decisions.some((l) => l.includes('"user":"alice"') && l.includes('"result":true'))).toBe(true);
    expect(decisions.some((l) => l.includes('"path":"trino/allow"'))).toBe(true);
    log(`${decisions.length} decision log lines in OPA's stdout`);
    const syncLog = await core.readNamespacedPodLog({
      name: opa,
      namespace: ns.name,
      container: 'policy-sync',
    });
    expect(syncLog).toContain(`policy-sync: wrote ${POLICY_CONFIG_MAP}_trino.rego`);
    const metrics = await execInPod(
      ns.name,
      clientName,
      `curl -sS http://opa-servers-metrics.${ns.name}.svc.cluster.local:8282/metrics`,
    );
    expect(metrics).toMatch(/^http_request_duration_seconds_count\{code="200",handler="v1\/data"/m);

    // OPA's structured file: its records in the shared fields, the decisions among them.
    const records = await readStructuredLog(ns.name, opa, 'opa');
    expectSharedRecordShape(records);
    expect(records).toContainEqual(
      expect.objectContaining({ level: 'INFO', logger: 'decision_logs', path: 'trino/allow' }),
    );
    expect(records.filter((r) => r.level === 'DEBUG')).toEqual([]);
    if (SHIP_LOGS) {
      await expectRecordsShipped(aggregator!, {
        namespace: ns.name,
        pod: opa,
        container: 'opa',
        product: 'opa',
        stacklet: 'opa',
        role: 'servers',
        roleGroup: 'default',
      });
      log(logAgentUsage(ns.name));
    }

    // OPA's monitoring: its rules load and count Trino's decisions, every metric name and dashboard
    // query has data; then decisions that fail fire its alert (which waits 30 s here).
    const rule = first.find((o) => o.kind === 'PrometheusRule') as unknown as { spec: { groups: unknown[] } };
    const prometheus = await startPrometheus(await realNode(), ns.name, {
      ruleGroups: withAlertDelay(rule.spec.groups, '30s'),
    });
    try {
      expect(
        await prometheus.checkStacklet({
          namespace: ns.name,
          metricNames: OPA_METRIC_NAMES,
          dashboard: first.find((o) => o.metadata.name === 'opa-dashboard'),
          recording: {
            what: 'the decisions per second (recording rule)',
            expr: `stacklet:opa_decisions:rate5m{namespace="${ns.name}", stacklet="opa"}`,
          },
        }),
      ).toBeGreaterThanOrEqual(0);
      // Trino's questions are counted: the decisions grow by a query's.
      const decisions = `sum(http_request_duration_seconds_count{namespace="${ns.name}", handler="v1/data"})`;
      const decisionsBefore = await prometheus.waitForValue('the decisions so far', decisions);
      expect(await query('alice', finance)).toContain('ROWS: [25]');
      expect(
        await prometheus.waitForValue('the decisions of a query', decisions, (v) => v > decisionsBefore),
      ).toBeGreaterThan(decisionsBefore);
      expect(
        await prometheus.value(`ALERTS{namespace="${ns.name}", alertname="OpaDecisionErrors"}`),
      ).toBeUndefined();
      const conflict = (times: number) =>
        execInPod(
          ns.name,
          opa,
          `for i in $(seq ${times}); do curl -s -o /dev/null -w "%{http_code} " -X POST ` +
            `-d '{"input":{"x":true,"y":true}}' http://localhost:8181/v1/data/conflict/p; done`,
        );
      // The failed decisions' series (code 500) must be scraped once before the burst: rate() counts
      // no increase into a series' first sample, so a burst that falls between two scrapes of a new
      // series would leave the alert's rate at 0.
      expect((await conflict(1)).trim()).toBe('500');
      const failed = `sum(http_request_duration_seconds_count{namespace="${ns.name}", handler="v1/data", code=~"5.."})`;
      expect(
        await prometheus.waitForValue('the first failed decision scraped', failed, (v) => v >= 1),
      ).toBeGreaterThanOrEqual(1);
      expect((await conflict(30)).trim().split(' ')).toEqual(Array(30).fill('500'));
      const conflictedAt = Date.now();
      const alert = await prometheus.waitForAlert('OpaDecisionErrors', ns.name);
      expect(alert.labels).toMatchObject({
        namespace: ns.name,
        stacklet: 'opa',
        product: 'opa',
        severity: 'warning',
      });
      log(`OpaDecisionErrors fired ${seconds(conflictedAt)} after 30 decisions failed (its for: 30 s here)`);
    } finally {
      await prometheus.stop();
    }

    // OPA's level to DEBUG: a flag of OPA's, so its pod rolls; the new pod's DEBUG records (each
    // request it serves, its probes' among them) reach its file and the aggregator.
    const leveledAt = Date.now();
    expect(await applyAll(client, withoutRules(program(['finance'], true)), ns.name)).toEqual([]);
    let debugPod = '';
    await waitFor(
      "OPA's pod to be replaced",
      async () => {
        const pods = (
          await core.listNamespacedPod({
            namespace: ns.name,
            labelSelector: 'app.kubernetes.io/instance=opa',
          })
        ).items.filter(
          (p) =>
            p.metadata!.name !== opa &&
            !p.metadata!.deletionTimestamp &&
            p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
        debugPod = pods[0]?.metadata?.name ?? '';
        return debugPod !== '';
      },
      5 * 60_000,
      undefined,
      undefined,
      everything,
    );
    await waitForRecords(ns.name, debugPod, 'opa', 'DEBUG record', (r) => r.level === 'DEBUG', everything);
    if (SHIP_LOGS)
      await aggregator!.waitFor(
        `a DEBUG record from ${debugPod}`,
        (r) => r.severityText === 'DEBUG' && r.resource['k8s.pod.name'] === debugPod,
      );
    log(
      `OPA's DEBUG level: a new pod, its DEBUG records in its file and shipped ${seconds(leveledAt)} after the apply`,
    );

    // OPA's access control off, then on again, on the running Trino: only the coordinator holds it
    // (its access-control file), so only the coordinator is replaced; the worker keeps its pod.
    const coordinator = 'trino-coordinators-default-0';
    const worker = 'trino-workers-default-0';
    const podUid = async (name: string) =>
      (await core.readNamespacedPod({ name, namespace: ns.name }).catch(() => undefined))?.metadata?.uid;
    const setAuthorization = async (authorize: boolean) => {
      const before = { coordinator: await podUid(coordinator), worker: await podUid(worker) };
      const appliedAt = Date.now();
      expect(await applyAll(client, withoutRules(program(['finance'], true, authorize)), ns.name)).toEqual(
        [],
      );
      await waitFor(
        'the coordinator to be replaced',
        async () => ![undefined, before.coordinator].includes(await podUid(coordinator)),
        5 * 60_000,
        undefined,
        undefined,
        everything,
      );
      await waitPodsReady(ns.name, [coordinator], 10 * 60_000, everything);
      expect(await podUid(worker)).toBe(before.worker);
      const files = (
        await core.readNamespacedConfigMap({ name: 'trino-coordinators-default', namespace: ns.name })
      ).data;
      expect(Object.keys(files ?? {}).includes('access-control.properties')).toBe(authorize);
      log(
        `OPA ${authorize ? 'added to' : 'removed from'} Trino: a new coordinator Ready ${seconds(appliedAt)} after the apply, the same worker`,
      );
    };
    /** Waits until `user`'s `sql` answers with `expected` (a new coordinator waits for its worker). */
    const waitForAnswer = async (user: string, sql: string, expected: RegExp) => {
      let answer = '';
      await waitFor(
        `${user}'s ${sql} to answer ${expected}`,
        async () => expected.test((answer = await query(user, sql))),
        5 * 60_000,
        undefined,
        undefined,
        async () => `last answer: ${answer}\n${await everything()}`,
      );
    };

    await setAuthorization(false);
    await waitForAnswer('bob', sales, /^ROWS: \[25\]/m);
    expect(await query('alice', sales)).toContain('ROWS: [25]');
    log('without OPA, bob and alice read sales');

    await setAuthorization(true);
    await waitForAnswer('alice', finance, /^ROWS: \[25\]/m);
    expect(await query('bob', sales)).toMatch(/^ERROR: Access Denied/m);
    expect(await query('alice', sales)).toMatch(/^ERROR: Access Denied: .*sales/m);
    log('with OPA back, alice reads finance only and bob is denied again');
  });
});
