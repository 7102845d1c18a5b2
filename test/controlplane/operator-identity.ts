/**
 * The operator's identity in tests and benchmarks: a ServiceAccount bound to the RBAC that
 * OperatorDeployment generates (its ClusterRole, or with `watchNamespaces` its Roles), and a
 * kubeconfig file with its token, so the operator runs with exactly the rights keelson grants it
 * in a cluster — never as an administrator.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { App, Chart } from 'cdk8s';
import { OperatorDeployment, type CaSecret } from '../../lib/operator/deployment';
import type { ProductDefinition } from '../../lib/stacklet/product';
import { serviceAccountKubeConfig } from './cluster';

/** Applies the operator's RBAC (not its Deployment) as `kc` and returns the token kubeconfig's path. */
export async function writeOperatorIdentity(
  kc: k8s.KubeConfig,
  namespace: string,
  products: readonly ProductDefinition[],
  fieldManager: string,
  watchNamespaces?: readonly string[],
  caSecrets?: readonly CaSecret[],
): Promise<string> {
  const chart = new Chart(new App(), 'operator');
  const name = `keelson-operator-${namespace}`;
  new OperatorDeployment(chart, 'operator', {
    products,
    image: 'registry.invalid/keelson/keelson:test',
    namespace,
    name,
    watchNamespaces,
    caSecrets,
    includeCrds: false,
    includeNamespace: false,
    // Cluster-wide: a test of it installs it itself (pod-override-policy.test.ts).
    includePodOverridePolicy: false,
  });
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  for (const object of chart.toJson() as k8s.KubernetesObject[]) {
    if (object.kind === 'Deployment') continue;
    await objects.patch(object, undefined, undefined, fieldManager, true, k8s.PatchStrategy.ServerSideApply);
  }
  const sa = await serviceAccountKubeConfig(kc, namespace, name, 7200);
  const file = path.join(os.tmpdir(), `${name}-${fieldManager}.kubeconfig`);
  fs.writeFileSync(file, sa.exportConfig(), { mode: 0o600 });
  return file;
}
