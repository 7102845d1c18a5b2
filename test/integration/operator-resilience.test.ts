/**
 * The operator survives what happens to operators: being killed in the middle of work (a restart
 * converges, nothing is lost or duplicated) and running as two replicas (one leads, the other
 * takes over when the leader dies).
 */
import { createTestNamespace } from '../controlplane/cluster';
import {
  beacons,
  installBeaconCrd,
  metricValue,
  operatorIdentity,
  removeOperatorIdentity,
  startOperator,
  waitForCondition,
  writeCount,
} from './operator-support';
import { adminClients, uniqueName, waitFor } from './support';

const { kc, core, apps } = adminClients();
const beacon = beacons(kc);

const small = {
  servers: { roleGroups: { default: { replicas: 1 } } },
  gateways: { roleGroups: { default: { replicas: 1 } } },
};

/** Every BeaconCluster in `namespace` is Available=True. */
async function allAvailable(namespace: string, names: string[]): Promise<void> {
  await waitFor(
    `all ${names.length} BeaconClusters in ${namespace} to be Available`,
    async () => {
      for (const name of names) {
        const c = await beacon.condition(namespace, name, 'Available');
        if (c?.status !== 'True') return false;
      }
      return true;
    },
    180_000,
    undefined,
    undefined,
    async () => {
      const waiting: string[] = [];
      for (const name of names) {
        const c = await beacon.condition(namespace, name, 'Available');
        if (c?.status !== 'True') waiting.push(`${name}: ${c?.reason ?? 'no status'}`);
      }
      return waiting.join(', ');
    },
  );
}

describe('the keelson operator under failure', () => {
  let namespace = '';
  let kubeconfig = '';

  beforeAll(async () => {
    await installBeaconCrd(kc);
    namespace = await createTestNamespace(kc, uniqueName('resilience'));
    kubeconfig = await operatorIdentity(namespace);
  });

  afterAll(async () => {
    await removeOperatorIdentity(namespace);
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it('converges after being killed in the middle of reconciling many stacklets, without duplicates', async () => {
    const names = Array.from({ length: 16 }, (_, i) => `many-${i}`);
    for (const name of names) await beacon.create(namespace, name, small);

    const first = await startOperator({ namespaces: [namespace], kubeconfig, args: ['--workers', '1'] });
    await waitFor('the first operator to have reconciled a few stacklets', async () => {
      return metricValue(await first.metrics(), 'keelson_reconciles_total', { result: 'success' }) >= 3;
    });
    await first.kill();

    const second = await startOperator({ namespaces: [namespace], kubeconfig });
    await allAvailable(namespace, names);

    // Exactly the wanted children: one StatefulSet, one Deployment and three ConfigMaps each, each
    // with a single controller reference.
    const statefulSets = (await apps.listNamespacedStatefulSet({ namespace })).items;
    const deployments = (await apps.listNamespacedDeployment({ namespace })).items;
    const configMaps = (
      await core.listNamespacedConfigMap({ namespace, labelSelector: 'app.kubernetes.io/managed-by=keelson' })
    ).items;
    expect(statefulSets.map((s) => s.metadata!.name).sort()).toEqual(
      names.map((n) => `${n}-servers-default`).sort(),
    );
    expect(deployments).toHaveLength(names.length);
    expect(configMaps).toHaveLength(names.length * 3);
    for (const object of [...statefulSets, ...deployments, ...configMaps]) {
      expect(object.metadata!.ownerReferences!.filter((r) => r.controller)).toHaveLength(1);
    }
    await second.stop();
  });

  it('runs one leader of two replicas; the standby takes over when the leader is killed', async () => {
    const args = ['--lease-duration', '4'];
    const a = await startOperator({ namespaces: [namespace], kubeconfig, leaderElection: true, args });
    const b = await startOperator({ namespaces: [namespace], kubeconfig, leaderElection: true, args });
    const leaderOf = async () => {
      const flags = [
        metricValue(await a.metrics(), 'keelson_leader'),
        metricValue(await b.metrics(), 'keelson_leader'),
      ];
      return flags;
    };
    await waitFor('exactly one of the two operators to lead', async () => {
      const [la, lb] = await leaderOf();
      return la + lb === 1;
    });
    const [aLeads] = await leaderOf();
    const [leader, standby] = aLeads === 1 ? [a, b] : [b, a];

    await beacon.create(namespace, 'led', small);
    await waitForCondition(namespace, 'led', 'Available', 'True');
    // Both replicas are ready (caches synced); only the leader reconciled or wrote anything.
    expect((await standby.get('/readyz')).status).toBe(200);
    expect(writeCount(await standby.metrics())).toBe(0);
    expect(metricValue(await standby.metrics(), 'keelson_reconciles_total')).toBe(0);
    expect(writeCount(await leader.metrics())).toBeGreaterThan(0);

    await leader.kill();
    await waitFor(
      'the standby to take over the lease',
      async () => metricValue(await standby.metrics(), 'keelson_leader') === 1,
      60_000,
    );
    await beacon.create(namespace, 'after-failover', small);
    await waitForCondition(namespace, 'after-failover', 'Available', 'True');

    // A leader that stops cleanly hands the lease over at once.
    const c = await startOperator({
      namespaces: [namespace],
      kubeconfig,
      leaderElection: true,
      args: ['--lease-duration', '60'],
    });
    expect(metricValue(await c.metrics(), 'keelson_leader')).toBe(0);
    await standby.stop();
    // A candidate retries every third of its own lease duration (20 s here): the wait allows one
    // retry and the delay of a busy machine (CI saw more than 30 s).
    await waitFor(
      'the third operator to lead after a clean shutdown of the leader',
      async () => metricValue(await c.metrics(), 'keelson_leader') === 1,
      50_000,
    );
    await c.stop();
  });
});
