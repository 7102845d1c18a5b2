/**
 * What the real-node suites that run keelson's operator image as a pod share (hdfs-operator-real-node,
 * kerberos-hdfs-hbase-operator-real-node): the image (`keelson image build operator`, packing the
 * compiled build) run from `keelson deploy`'s manifests in a namespace of its own, watching a
 * second namespace; both enforce the restricted Pod Security profile. keelson objects are created
 * and patched as the user would, cluster-scoped ones removed after the file.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Chart, Testing } from 'cdk8s';
import { PRODUCTS } from '../../apps/keelson';
import { OperatorDeployment } from '../../lib/operator/deployment';
import { operatorImageRecipe } from '../../lib/operator/image';
import { RESTRICTED, type Manifest } from './admission';
import { buildImageOnRealNode, deploymentsOnRealNode, kubectlApply, podsLogs } from './real-node-support';
import { adminClients, useTestNamespace, type TestNamespace } from './support';

export const GROUP = 'keelson.dev';
export const API_VERSION = 'v1alpha1';

/** A condition of a keelson object's status. */
export interface StatusCondition {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly message: string;
}

/** What useOperatorPod gives a test file. */
export interface OperatorPod {
  /** The operator's namespace. */
  readonly home: TestNamespace;
  /** The namespace it watches, where the test's stacklets are. */
  readonly data: TestNamespace;
  /** Compiles the project, builds the operator image and applies keelson deploy's manifests. */
  start(): Promise<void>;
  /** Creates a keelson object of `kind` in the watched namespace. */
  create(kind: string, name: string, spec: object): Promise<unknown>;
  /** Creates a cluster-scoped keelson object (a class), deleted after the file. */
  createClusterScoped(kind: string, name: string, spec: object): Promise<unknown>;
  /** Merge-patches the spec of a keelson object in the watched namespace. */
  patchSpec(kind: string, name: string, spec: object): Promise<unknown>;
  /** The status of a keelson object in the watched namespace. */
  status(kind: string, name: string): Promise<{ conditions?: StatusCondition[] } & Record<string, unknown>>;
  /** One condition of that status. */
  condition(kind: string, name: string, type: string): Promise<StatusCondition | undefined>;
  /** The operator's and the watched namespace's pods' logs. */
  logs(): Promise<string>;
  /** The operator's pod's log. */
  operatorLogs(): Promise<string>;
  /** `run`, its failure's message followed by {@link logs}. */
  withLogs<T>(run: () => Promise<T>): Promise<T>;
}

/** The plural of a keelson kind (HdfsCluster → hdfsclusters, TlsClass → tlsclasses). */
export function pluralOf(kind: string): string {
  const lower = kind.toLowerCase();
  return lower.endsWith('s') ? `${lower}es` : `${lower}s`;
}

/**
 * For one test file: namespaces `<prefix>-home` (the operator `name`'s) and `<prefix>` (the one it
 * watches), both restricted; call `start()` in the test once the real node is up.
 */
export function useOperatorPod(prefix: string, name: string): OperatorPod {
  const home = useTestNamespace(`${prefix}-home`, RESTRICTED);
  const data = useTestNamespace(prefix, RESTRICTED);
  const { core, custom } = adminClients();
  const clusterScoped: { plural: string; name: string }[] = [];
  afterAll(async () => {
    for (const o of clusterScoped)
      await custom
        .deleteClusterCustomObject({ group: GROUP, version: API_VERSION, plural: o.plural, name: o.name })
        .catch(() => undefined);
  });
  const body = (kind: string, objectName: string, spec: object) => ({
    apiVersion: `${GROUP}/${API_VERSION}`,
    kind,
    metadata: { name: objectName },
    spec,
  });
  const status = async (kind: string, objectName: string) =>
    (
      (await custom.getNamespacedCustomObject({
        group: GROUP,
        version: API_VERSION,
        namespace: data.name,
        plural: pluralOf(kind),
        name: objectName,
      })) as { status?: { conditions?: StatusCondition[] } & Record<string, unknown> }
    ).status ?? {};
  const names = async (namespace: string) =>
    (await core.listNamespacedPod({ namespace })).items.map((p) => p.metadata!.name!);
  const operatorLogs = async () => podsLogs(home.name, await names(home.name));
  const logs = async () => `${await operatorLogs()}\n${await podsLogs(data.name, await names(data.name))}`;
  return {
    home,
    data,
    start: async () => {
      // The image packs the build, as `npm run image:operator` does.
      const root = path.resolve(__dirname, '..', '..');
      execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', root], {
        stdio: 'inherit',
      });
      await buildImageOnRealNode(operatorImageRecipe());
      const chart = new Chart(Testing.app(), 'operator');
      new OperatorDeployment(chart, 'operator', {
        products: PRODUCTS,
        namespace: home.name,
        name,
        replicas: 1,
        imagePullPolicy: 'Never',
        watchNamespaces: [data.name],
      });
      kubectlApply(deploymentsOnRealNode(Testing.synth(chart) as Manifest[]));
    },
    create: (kind, objectName, spec) =>
      custom.createNamespacedCustomObject({
        group: GROUP,
        version: API_VERSION,
        namespace: data.name,
        plural: pluralOf(kind),
        body: body(kind, objectName, spec),
      }),
    createClusterScoped: (kind, objectName, spec) => {
      clusterScoped.push({ plural: pluralOf(kind), name: objectName });
      return custom.createClusterCustomObject({
        group: GROUP,
        version: API_VERSION,
        plural: pluralOf(kind),
        body: body(kind, objectName, spec),
      });
    },
    patchSpec: (kind, objectName, spec) =>
      custom.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: API_VERSION,
          namespace: data.name,
          plural: pluralOf(kind),
          name: objectName,
          body: { spec },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      ),
    status,
    condition: async (kind, objectName, type) =>
      (await status(kind, objectName)).conditions?.find((c) => c.type === type),
    logs,
    operatorLogs,
    withLogs: async (run) => {
      try {
        return await run();
      } catch (error) {
        throw new Error(`${(error as Error).message}\n${await logs()}`);
      }
    },
  };
}
