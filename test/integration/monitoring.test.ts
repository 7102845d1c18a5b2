/**
 * keelson's monitoring objects on the real API server with prometheus-operator's CRDs (the pinned
 * ones in imports/prometheus-operator.crds.yaml):
 * - the operator, before the CRDs exist, reports PrometheusOperatorMissing for a stacklet that asks
 *   for a ServiceMonitor and applies it once they are installed, and prunes it when switched off;
 * - every product's ServiceMonitor and PrometheusRule are accepted under strict field validation,
 *   and each ServiceMonitor's selector, run by the API server, selects exactly the stacklet's
 *   metrics Services, each with a port named `metrics`.
 * The operator's part runs first: it needs the CRDs absent, and this file is the one that installs them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { HiveCluster } from '../../constructs/hive';
import { KafkaCluster } from '../../constructs/kafka';
import { TrinoCluster } from '../../constructs/trino';
import { ZookeeperCluster } from '../../constructs/zookeeper';
import type { MonitoringSpec } from '../../lib';
import { ApiError, KubeClient } from '../../lib/operator/client';
import { PROMETHEUS_OPERATOR_MISSING } from '../../lib/operator/reconciler';
import { applyAll, installCrd, type Manifest } from './admission';
import {
  beacons,
  startOperatorInNamespace,
  stopOperatorInNamespace,
  waitForCondition,
  type OperatorInNamespace,
} from './operator-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';

// The operator's part builds the operator first when its build is stale (minutes on a loaded machine).
jest.setTimeout(15 * 60_000);

const CRDS = path
  .join(__dirname, '..', '..', 'imports', 'prometheus-operator.crds.yaml')
  .replace(`${path.sep}build${path.sep}`, path.sep);

async function installPrometheusOperatorCrds(): Promise<void> {
  const crds = parseAllDocuments(fs.readFileSync(CRDS, 'utf8'))
    .map((d) => d.toJS() as Record<string, unknown> | null)
    .filter((d): d is Record<string, unknown> => d !== null);
  for (const crd of crds) await installCrd(crd);
}

const monitorPath = (namespace: string, kind: 'servicemonitors' | 'prometheusrules', name: string) =>
  `/apis/monitoring.coreos.com/v1/namespaces/${namespace}/${kind}/${name}`;

describe('the operator and prometheus-operator CRDs', () => {
  let started: OperatorInNamespace | undefined;
  afterAll(() => stopOperatorInNamespace(started ?? {}));
  const client = new KubeClient(adminKubeConfig());
  const exists = (namespace: string, kind: 'servicemonitors' | 'prometheusrules', name: string) =>
    client.request('get', 'GET', monitorPath(namespace, kind, name), kind).then(
      () => true,
      (e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return false;
        throw e;
      },
    );

  it('reports PrometheusOperatorMissing without the CRDs, applies once they exist, prunes when switched off', async () => {
    started = await startOperatorInNamespace('monitoring-op');
    const { namespace } = started;
    const beacon = beacons();
    const spec = (monitoring: Record<string, unknown>) => ({
      servers: { roleGroups: { default: { replicas: 1 } } },
      gateways: { roleGroups: { default: { replicas: 1 } } },
      clusterConfig: { monitoring },
    });
    await beacon.create(namespace, 'alpha', spec({ serviceMonitors: true, prometheusRules: true }));
    await waitForCondition(namespace, 'alpha', 'Degraded', 'True', PROMETHEUS_OPERATOR_MISSING, 90_000);
    const degraded = await beacon.condition(namespace, 'alpha', 'Degraded');
    expect(degraded?.message).toContain(
      'spec.clusterConfig.monitoring asks for ServiceMonitor and PrometheusRule',
    );

    // The operator looks again within 30 s and applies both, owned by the stacklet.
    await installPrometheusOperatorCrds();
    await waitFor(
      'the ServiceMonitor and PrometheusRule',
      async () =>
        (await exists(namespace, 'servicemonitors', 'alpha')) &&
        (await exists(namespace, 'prometheusrules', 'alpha')),
      90_000,
    );
    await waitForCondition(namespace, 'alpha', 'Degraded', 'False', undefined, 90_000);

    await beacon.patchSpec(namespace, 'alpha', spec({ serviceMonitors: false, prometheusRules: true }));
    await waitFor(
      'the ServiceMonitor to be pruned',
      async () => !(await exists(namespace, 'servicemonitors', 'alpha')),
      60_000,
    );
    expect(await exists(namespace, 'prometheusrules', 'alpha')).toBe(true);
  });
});

describe("keelson's ServiceMonitors and PrometheusRules on the API server", () => {
  const ns = useTestNamespace('monitoring');
  const client = new KubeClient(adminKubeConfig());
  const { core } = adminClients();

  it("are accepted, and each ServiceMonitor selects its stacklet's metrics Services", async () => {
    await installPrometheusOperatorCrds();
    const monitoring: MonitoringSpec = {
      prometheusRules: true,
      serviceMonitors: true,
      grafanaDashboards: true,
      labels: { release: 'monitoring' },
    };
    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    const zookeeper = new ZookeeperCluster(chart, 'zk', { clusterConfig: { monitoring } });
    new KafkaCluster(chart, 'kafka', { zookeeper, clusterConfig: { monitoring } });
    new HiveCluster(chart, 'hive', { clusterConfig: { database: { type: 'derby' }, monitoring } });
    new TrinoCluster(chart, 'trino', { clusterConfig: { monitoring } });
    const objects = Testing.synth(chart) as (Manifest & { spec?: any; metadata: { labels?: any } })[];
    // Services and the monitoring objects for real; the workloads only matter as a dry run.
    const real = objects.filter((o) =>
      ['Service', 'ServiceMonitor', 'PrometheusRule', 'ConfigMap'].includes(o.kind),
    );
    expect(await applyAll(client, real, ns.name)).toEqual([]);
    expect(
      await applyAll(
        client,
        objects.filter((o) => !real.includes(o)),
        ns.name,
        { dryRun: true },
      ),
    ).toEqual([]);

    const monitors = objects.filter((o) => o.kind === 'ServiceMonitor');
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual(['hive', 'kafka', 'trino', 'zk']);
    for (const monitor of monitors) {
      const live = await client.request<{ spec: any }>(
        'get',
        'GET',
        monitorPath(ns.name, 'servicemonitors', monitor.metadata.name),
        'servicemonitors',
      );
      // What the API server stored is what keelson wrote (no field dropped by the schema).
      expect(live.spec).toEqual(monitor.spec);
      const labelSelector = Object.entries(live.spec.selector.matchLabels as Record<string, string>)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      const selected = await core.listNamespacedService({ namespace: ns.name, labelSelector });
      const names = selected.items.map((s) => s.metadata!.name!).sort();
      const expected = objects
        .filter(
          (o) =>
            o.kind === 'Service' &&
            o.metadata.name.endsWith('-metrics') &&
            o.metadata.labels['app.kubernetes.io/instance'] === monitor.metadata.name,
        )
        .map((o) => o.metadata.name)
        .sort();
      expect(expected.length).toBeGreaterThan(0);
      expect(names).toEqual(expected);
      for (const service of selected.items)
        expect(service.spec!.ports!.map((p) => p.name)).toContain(live.spec.endpoints[0].port);
      expect(live.spec.endpoints[0].port).toBe('metrics');
    }

    const rules = await client.request<{
      items: { metadata: { name: string }; spec: { groups: unknown[] } }[];
    }>(
      'list',
      'GET',
      `/apis/monitoring.coreos.com/v1/namespaces/${ns.name}/prometheusrules`,
      'prometheusrules',
    );
    expect(rules.items.map((r) => r.metadata.name).sort()).toEqual(['hive', 'kafka', 'trino', 'zk']);
    for (const rule of rules.items)
      expect(rule.spec).toEqual(
        objects.find((o) => o.kind === 'PrometheusRule' && o.metadata.name === rule.metadata.name)!.spec,
      );
  });
});
