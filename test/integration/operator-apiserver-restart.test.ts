/**
 * Watches recover when the API server restarts, without restarting the operator. This test runs
 * its own control plane (restarting the shared one would disturb every other test) and restarts
 * its API server in place: same binary, same flags, same port, same etcd.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { createTestNamespace, startControlPlane, waitFor, type ControlPlane } from '../controlplane/cluster';
import {
  beacons,
  installBeaconCrd,
  metricValue,
  operatorIdentity,
  startOperator,
  tail,
  waitForCondition,
  type OperatorProcess,
} from './operator-support';
import { isGone, uniqueName } from './support';

const small = {
  servers: { roleGroups: { default: { replicas: 1 } } },
  gateways: { roleGroups: { default: { replicas: 1 } } },
};

/** Stops the API server's process group and starts it again with the command line it was started with. */
async function restartApiServer(cp: ControlPlane, restarted: number[]): Promise<void> {
  const pid = restarted.at(-1) ?? cp.pids['kube-apiserver'];
  // A crash, not a graceful shutdown (which waits for open watches to drain).
  process.kill(-pid, 'SIGKILL');
  await waitFor(
    'the API server to exit',
    async () => {
      try {
        process.kill(pid, 0);
        return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z');
      } catch {
        return true;
      }
    },
    30_000,
  );
  const log = cp.logs['kube-apiserver'];
  const commandLine = fs.readFileSync(log, 'utf8').split('\n')[0].replace(/^# /, '').split(' ');
  // While the server is down its port is free for anyone: on a busy machine another process's
  // loopback connection may hold it for a moment (a CI run saw `bind: address already in use`).
  // A start that fails on that is tried again; any other exit is the test's to report.
  for (let attempt = 1; ; attempt++) {
    const out = fs.openSync(log, 'a');
    const child = spawn(commandLine[0], commandLine.slice(1), {
      detached: true,
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    restarted.push(child.pid!);
    const exited = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!exited || attempt === 10 || !tail(log, 3).includes('address already in use')) return;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

describe('the keelson operator across an API server restart', () => {
  let cp: ControlPlane;
  let kc: k8s.KubeConfig;
  let operator: OperatorProcess;
  const restarted: number[] = [];

  beforeAll(async () => {
    cp = await startControlPlane({ nodes: 1, log: () => undefined });
    kc = cp.adminKubeConfig();
  }, 180_000);

  afterAll(async () => {
    await operator?.kill();
    for (const pid of restarted) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await cp?.stop();
  });

  it('recovers its watches: new resources and deleted children are handled after the restart', async () => {
    await installBeaconCrd(kc);
    const namespace = await createTestNamespace(kc, uniqueName('restart'));
    const kubeconfig = await operatorIdentity(namespace, kc);
    // Short watches, so the test also sees watches end and resume from their resourceVersion.
    operator = await startOperator({ namespaces: [namespace], kubeconfig, args: ['--watch-timeout', '5'] });
    const beacon = beacons(kc);
    await beacon.create(namespace, 'before', small);
    await waitForCondition(namespace, 'before', 'Available', 'True', undefined, 90_000, kc);

    await restartApiServer(cp, restarted);
    // A loaded 2-core machine may take minutes to start an API server; one that exits fails at once.
    // Either way the failure carries the log's end (the log goes with the control plane).
    await waitFor(
      'the API server to serve BeaconClusters again',
      async () => {
        await beacon.list(namespace);
        return true;
      },
      300_000,
      cp.logs['kube-apiserver'],
      { 'the restarted kube-apiserver': restarted.at(-1) },
      async () => tail(cp.logs['kube-apiserver'], 5),
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n--- kube-apiserver log:\n${tail(cp.logs['kube-apiserver'], 30)}`);
    });

    // A resource created after the restart is reconciled by the same operator process.
    // (Right after a start, the API server refuses some requests until all its paths are installed.)
    await waitFor('BeaconCluster "after" to be created', async () => {
      await beacon.create(namespace, 'after', small);
      return true;
    });
    await waitForCondition(namespace, 'after', 'Available', 'True', undefined, 90_000, kc);
    // A child deleted after the restart is repaired: the child watches recovered too.
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const old = await core.readNamespacedConfigMap({ name: 'before-servers-default', namespace });
    await core.deleteNamespacedConfigMap({ name: 'before-servers-default', namespace });
    await waitFor('ConfigMap before-servers-default to be recreated', async () => {
      if (await isGone(() => core.readNamespacedConfigMap({ name: 'before-servers-default', namespace })))
        return false;
      const now = await core.readNamespacedConfigMap({ name: 'before-servers-default', namespace });
      return now.metadata?.uid !== old.metadata?.uid;
    });
    const metrics = await operator.metrics();
    expect(metricValue(metrics, 'keelson_watch_restarts_total', { reason: 'error' })).toBeGreaterThan(0);
    expect(operator.child.exitCode).toBeNull();
  });
});
