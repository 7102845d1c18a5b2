/**
 * Putting keelson's output in front of the real API server: CRDs installed and served, generated
 * objects applied (or dry-run) with strict field validation, and custom resources judged at
 * admission without being stored.
 */
import * as k8s from '@kubernetes/client-node';
import { ApiError, KubeClient } from '../../lib/operator/client';
import {
  CHILD_RESOURCES,
  collectionPath,
  objectPath,
  OPTIONAL_CHILD_RESOURCES,
  stackletResource,
} from '../../lib/operator/resources';
import { productCrd } from '../../lib/stacklet/crd';
import { frameworkCrds } from '../../lib/tls/class';
import type { ProductDefinition } from '../../lib/stacklet/product';
import { adminKubeConfig, waitFor } from './support';

/** Labels that make a namespace enforce the restricted Pod Security profile. */
export const RESTRICTED = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
};

/** The least of a generated object that applying it needs. */
export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

/**
 * Applies the CRDs of `products` and the framework's own (TlsClass, which the operator watches) as
 * admin, and waits until each is served. The CRD goes as raw
 * JSON: the client library's typed models would drop keys such as `x-kubernetes-validations` and
 * `x-kubernetes-preserve-unknown-fields`, whose spelling differs from their attribute names.
 */
export async function installCrds(
  products: readonly ProductDefinition[],
  kc: k8s.KubeConfig = adminKubeConfig(),
): Promise<void> {
  for (const product of products) await installCrd(productCrd(product), kc);
  for (const crd of frameworkCrds()) await installCrd(crd, kc);
}

/** Applies one CRD manifest (as admin) and waits until it is served. */
export async function installCrd(
  crd: Record<string, unknown>,
  kc: k8s.KubeConfig = adminKubeConfig(),
): Promise<void> {
  const client = new KubeClient(kc);
  type Crd = { status?: { conditions?: { type: string; status: string }[] } };
  const name = (crd as { metadata: { name: string } }).metadata.name;
  const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`;
  await client.request('apply', 'PATCH', path, 'customresourcedefinitions', {
    query: { fieldManager: 'keelson-tests', force: true },
    body: crd,
    contentType: 'application/apply-patch+yaml',
  });
  await waitFor(`the CRD ${name} to be Established`, async () => {
    const live = await client.request<Crd>('get', 'GET', path, 'customresourcedefinitions');
    return live.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
  });
}

/** Server-side applies a generated object into `namespace` (a dry run when `dryRun`). */
export async function applyManifest(
  client: KubeClient,
  manifest: Manifest,
  namespace: string,
  options: { dryRun?: boolean } = {},
): Promise<unknown> {
  const resource = [...CHILD_RESOURCES, ...OPTIONAL_CHILD_RESOURCES].find(
    (c) => c.apiVersion === manifest.apiVersion && c.kind === manifest.kind,
  );
  if (!resource) throw new Error(`no REST path known for ${manifest.apiVersion} ${manifest.kind}`);
  return client.request('apply', 'PATCH', objectPath(resource, namespace, manifest.metadata.name), 'test', {
    query: {
      fieldManager: 'keelson-test',
      force: true,
      fieldValidation: 'Strict',
      ...(options.dryRun ? { dryRun: 'All' } : {}),
    },
    body: manifest,
    contentType: 'application/apply-patch+yaml',
  });
}

/** Applies every manifest and returns those the API server refused, each with its reason. */
export async function applyAll(
  client: KubeClient,
  manifests: readonly Manifest[],
  namespace: string,
  options: { dryRun?: boolean } = {},
): Promise<string[]> {
  const rejected: string[] = [];
  for (const m of manifests) {
    await applyManifest(client, m, namespace, options).catch((e: unknown) =>
      rejected.push(`${m.kind}/${m.metadata.name}: ${String(e)}`),
    );
  }
  return rejected;
}

/**
 * What admission says of a custom resource of `product` with `spec` (a strict dry-run create):
 * `accepted`, or `<status>: <the API server's message>`.
 */
export async function admissionVerdict(
  client: KubeClient,
  product: ProductDefinition,
  namespace: string,
  name: string,
  spec: unknown,
): Promise<string> {
  const resource = stackletResource(product);
  return client
    .request('create', 'POST', collectionPath(resource, namespace), resource.plural, {
      query: { fieldValidation: 'Strict', dryRun: 'All' },
      body: { apiVersion: resource.apiVersion, kind: resource.kind, metadata: { name }, spec },
    })
    .then(
      () => 'accepted',
      (e: unknown) => (e instanceof ApiError ? `${e.status}: ${e.message}` : String(e)),
    );
}

/** The names of the pods in `namespace` whose Ready condition is True, sorted. */
export async function readyPodNames(client: KubeClient, namespace: string): Promise<string[]> {
  type PodList = {
    items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
  };
  const pods = await client.request<PodList>('list', 'GET', `/api/v1/namespaces/${namespace}/pods`, 'pods');
  return pods.items
    .filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
    .map((p) => p.metadata.name)
    .sort();
}
