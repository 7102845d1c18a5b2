/**
 * What integration tests share: clients for the run's control plane (see global-setup.ts) and a
 * fresh namespace per test, deleted after it.
 */
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { createTestNamespace, loadKubeConfig } from '../controlplane/cluster';

export { serviceAccountKubeConfig, waitFor } from '../controlplane/cluster';

// Waits inside integration tests have their own deadlines; this only bounds a hung test.
jest.setTimeout(180_000);

/** The cluster admin's KubeConfig for the control plane of this jest run. */
export function adminKubeConfig(): k8s.KubeConfig {
  const file = process.env.KEELSON_TEST_KUBECONFIG;
  if (!file) {
    throw new Error(
      'KEELSON_TEST_KUBECONFIG is not set: run integration tests with `jest --selectProjects integration`',
    );
  }
  return loadKubeConfig(file);
}

/** The cluster admin's API clients most tests use. */
export function adminClients() {
  const kc = adminKubeConfig();
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
  };
}

/** A unique, DNS-safe namespace name. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`.toLowerCase();
}

export interface TestNamespace {
  /** The namespace of the running test (set in beforeEach). */
  readonly name: string;
}

/**
 * Gives each test of the enclosing describe block its own namespace, created before and deleted
 * after the test (deletion is not awaited to completion: the namespace controller finishes it).
 */
export function useTestNamespace(prefix: string, labels: Record<string, string> = {}): TestNamespace {
  const current = { name: '' };
  beforeEach(async () => {
    current.name = await createTestNamespace(adminKubeConfig(), uniqueName(prefix), labels);
  });
  afterEach(async () => {
    if (!current.name) return;
    const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
    await core.deleteNamespace({ name: current.name }).catch((error: unknown) => {
      if (apiStatus(error) !== 404) throw error;
    });
    // Nothing of a finished test needs a graceful end, and the products' grace periods (a Trino
    // worker drains for minutes, a regionserver moves its regions) would keep their JVMs on the
    // busy machine while the next suite starts. The terminating namespace admits no new pods.
    await core
      .deleteCollectionNamespacedPod({ namespace: current.name, gracePeriodSeconds: 0 })
      .catch(() => undefined);
    current.name = '';
  });
  return current;
}

/** The HTTP status of a failed API call, or undefined when the error did not come from the API. */
export function apiStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Runs an API call that must fail and returns its status and message. */
export async function expectApiError(call: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await call;
  } catch (error) {
    const status = apiStatus(error);
    if (status === undefined) throw error;
    const body = (error as { body?: unknown }).body;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // not JSON: keep the text
    }
    return { status, message };
  }
  throw new Error('the API call succeeded but was expected to fail');
}

/** True once a GET answers 404. */
export async function isGone(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (error) {
    if (apiStatus(error) === 404) return true;
    throw error;
  }
}
