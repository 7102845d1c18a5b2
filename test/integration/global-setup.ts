/**
 * One control plane per jest run, shared by every integration test. Tests find it through the
 * kubeconfig path in KEELSON_TEST_KUBECONFIG (jest workers inherit this process's environment).
 * Set KEELSON_TEST_KUBECONFIG yourself to run the tests against a cluster you started
 * (`npm run cluster:up`).
 *
 * The real node (real kubelet and containers) is not started here: the first test that calls
 * `realNode()` (real-node-support.ts) starts it beside this control plane, so runs without such
 * tests pay nothing; global-teardown.ts stops it.
 */
import { startControlPlane, type ControlPlane } from '../controlplane/cluster';

export const KUBECONFIG_ENV = 'KEELSON_TEST_KUBECONFIG';

declare global {
  var keelsonControlPlane: ControlPlane | undefined;
}

export default async function globalSetup() {
  if (process.env[KUBECONFIG_ENV]) return;
  const controlPlane = await startControlPlane();
  globalThis.keelsonControlPlane = controlPlane;
  process.env[KUBECONFIG_ENV] = controlPlane.kubeconfigPath;
  process.env.KEELSON_TEST_CONTROLPLANE_LOGS = controlPlane.runDir;
}
