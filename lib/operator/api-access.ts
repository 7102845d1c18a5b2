/**
 * Where the API server is and how to authenticate to it: from a kubeconfig file or the in-cluster
 * ServiceAccount.
 *
 * The operator reads the common cases itself — a ServiceAccount token, client certificates, a
 * bearer token or token file, basic auth — because loading `@kubernetes/client-node` costs about
 * 65 MiB of resident memory (its index loads every generated API model), more than half of the
 * operator's budget. Kubeconfig users that need a plugin (`exec`, `auth-provider`) are handed to
 * client-node, loaded only then.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as https from 'node:https';
import { parse, stringify } from 'yaml';

/** TLS options and headers for one request, as the API server expects them. */
export interface ApiCredentials {
  readonly tls: Pick<https.RequestOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized' | 'servername'>;
  readonly headers: Readonly<Record<string, string>>;
}

/** An API server and a way to get (possibly refreshed) credentials for it. */
export interface ApiAccess {
  /** The API server's URL, e.g. `https://10.0.0.1:443`. */
  readonly server: string;
  /** Current credentials; called again periodically, so rotated tokens and files are picked up. */
  credentials(): Promise<ApiCredentials>;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Access in kubectl's order: the files `$KUBECONFIG` lists when it is set, else
 * `$HOME/.kube/config` when it exists, else the pod's ServiceAccount. (client-go's loader, which
 * kubectl uses, falls back to the in-cluster config only when no kubeconfig gives a cluster; an
 * operator pod has no `~/.kube/config`, so in a cluster it runs as its ServiceAccount.)
 */
export function loadApiAccess(env: NodeJS.ProcessEnv = process.env): ApiAccess {
  if (env.KUBECONFIG) return kubeconfigAccess(env.KUBECONFIG.split(path.delimiter).filter(Boolean));
  const home = env.HOME ? path.join(env.HOME, '.kube', 'config') : undefined;
  if (home && fs.existsSync(home)) return kubeconfigAccess([home]);
  if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT) {
    throw new Error(
      'no cluster to connect to: KUBECONFIG is not set, ' +
        (home ? `${home} does not exist` : 'HOME is not set (so no ~/.kube/config)') +
        ', and this is not running in a cluster (KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT unset)',
    );
  }
  return inClusterAccess(env);
}

/** Access as the pod's ServiceAccount; the token file is re-read on every refresh (it rotates). */
export function inClusterAccess(
  env: NodeJS.ProcessEnv = process.env,
  directory: string = SERVICE_ACCOUNT_DIR,
): ApiAccess {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new Error(
      'not running in a cluster (KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT unset) and KUBECONFIG is not set',
    );
  }
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    server: `https://${hostPart}:${port}`,
    credentials: async () => {
      const token = readFile(path.join(directory, 'token'), 'the ServiceAccount token').toString().trim();
      return {
        tls: { ca: readFile(path.join(directory, 'ca.crt'), 'the ServiceAccount CA') },
        headers: { authorization: `Bearer ${token}` },
      };
    },
  };
}

interface NamedEntry<T> {
  readonly name: string;
  readonly [key: string]: unknown;
  readonly cluster?: T;
  readonly context?: T;
  readonly user?: T;
}

interface KubeconfigCluster {
  readonly server?: string;
  readonly 'certificate-authority'?: string;
  readonly 'certificate-authority-data'?: string;
  readonly 'insecure-skip-tls-verify'?: boolean;
  readonly 'tls-server-name'?: string;
}

interface KubeconfigUser {
  readonly 'client-certificate'?: string;
  readonly 'client-certificate-data'?: string;
  readonly 'client-key'?: string;
  readonly 'client-key-data'?: string;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly username?: string;
  readonly password?: string;
  readonly exec?: unknown;
  readonly 'auth-provider'?: unknown;
}

interface KubeconfigFile {
  readonly 'current-context'?: string;
  readonly clusters?: NamedEntry<KubeconfigCluster>[];
  readonly contexts?: NamedEntry<{ cluster?: string; user?: string }>[];
  readonly users?: NamedEntry<KubeconfigUser>[];
}

/**
 * Access from kubeconfig files, merged as kubectl merges `KUBECONFIG` lists: the first file that
 * names a context, cluster or user wins. Relative file paths are read relative to the file that
 * holds them.
 */
export function kubeconfigAccess(files: readonly string[]): ApiAccess {
  if (files.length === 0) throw new Error('KUBECONFIG names no file');
  const clusters = new Map<string, { entry: KubeconfigCluster; dir: string }>();
  const users = new Map<string, { entry: KubeconfigUser; dir: string }>();
  const contexts = new Map<string, { cluster?: string; user?: string }>();
  let currentContext: string | undefined;
  for (const file of files) {
    let config: KubeconfigFile;
    try {
      config = (parse(fs.readFileSync(file, 'utf8')) ?? {}) as KubeconfigFile;
    } catch (error) {
      throw new Error(`cannot read kubeconfig ${file}: ${(error as Error).message}`);
    }
    const dir = path.dirname(path.resolve(file));
    currentContext ||= config['current-context'];
    for (const c of config.clusters ?? [])
      if (!clusters.has(c.name)) clusters.set(c.name, { entry: c.cluster ?? {}, dir });
    for (const u of config.users ?? [])
      if (!users.has(u.name)) users.set(u.name, { entry: u.user ?? {}, dir });
    for (const c of config.contexts ?? []) if (!contexts.has(c.name)) contexts.set(c.name, c.context ?? {});
  }
  const where = files.join(path.delimiter);
  if (!currentContext) throw new Error(`kubeconfig ${where} has no current-context`);
  const context = contexts.get(currentContext);
  if (!context) throw new Error(`kubeconfig ${where}: current-context "${currentContext}" is not defined`);
  const cluster = context.cluster === undefined ? undefined : clusters.get(context.cluster);
  if (!cluster?.entry.server)
    throw new Error(`kubeconfig ${where}: context "${currentContext}" names no cluster with a server`);
  const user = (context.user === undefined ? undefined : users.get(context.user)) ?? { entry: {}, dir: '' };
  if (user.entry.exec !== undefined || user.entry['auth-provider'] !== undefined) {
    // Only the current context, from whichever file defined each part, with file paths made
    // absolute: what client-node needs, merged as above (client-node refuses duplicate names).
    return clientNodeAccess({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': currentContext,
      contexts: [{ name: currentContext, context }],
      clusters: [{ name: context.cluster, cluster: withAbsolutePaths(cluster.entry, cluster.dir) }],
      users: [{ name: context.user, user: withAbsolutePaths(user.entry, user.dir) }],
    });
  }

  const server = cluster.entry.server;
  const clusterEntry = cluster.entry;
  const userEntry = user.entry;
  return {
    server,
    credentials: async () => {
      const headers: Record<string, string> = {};
      const token = userEntry.tokenFile
        ? readFile(resolveIn(user.dir, userEntry.tokenFile), 'the kubeconfig tokenFile').toString().trim()
        : userEntry.token;
      if (token) headers.authorization = `Bearer ${token}`;
      else if (userEntry.username !== undefined) {
        const basic = Buffer.from(`${userEntry.username}:${userEntry.password ?? ''}`).toString('base64');
        headers.authorization = `Basic ${basic}`;
      }
      return {
        tls: {
          ca: dataOrFile(clusterEntry, 'certificate-authority', cluster.dir),
          cert: dataOrFile(userEntry, 'client-certificate', user.dir),
          key: dataOrFile(userEntry, 'client-key', user.dir),
          rejectUnauthorized: clusterEntry['insecure-skip-tls-verify'] !== true,
          servername: clusterEntry['tls-server-name'],
        },
        headers,
      };
    },
  };
}

/**
 * What keelson uses of client-node's `KubeConfig`. Declared here rather than imported, so that
 * keelson's declarations do not pull in client-node's, which do not compile under the tsconfig
 * `cdk8s init` writes (no `esModuleInterop`, no `skipLibCheck`).
 */
export interface KubeConfigLike {
  getCurrentCluster(): { readonly server: string } | null;
  applyToHTTPSOptions(options: https.RequestOptions): Promise<void>;
  loadFromString(config: string): void;
}

/** Access through a client-node KubeConfig the caller already holds (tests, embedding programs). */
export function accessFromKubeConfig(kubeConfig: KubeConfigLike): ApiAccess {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  return {
    server: cluster.server,
    credentials: async () => {
      const opts: https.RequestOptions = {};
      await kubeConfig.applyToHTTPSOptions(opts);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers ?? {}))
        if (typeof v === 'string') headers[k.toLowerCase()] = v;
      if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
      return {
        tls: {
          ca: opts.ca,
          cert: opts.cert,
          key: opts.key,
          rejectUnauthorized: opts.rejectUnauthorized,
          servername: opts.servername,
        },
        headers,
      };
    },
  };
}

/** client-node's loader, for credential plugins; loaded only when a kubeconfig needs one. */
function clientNodeAccess(config: Readonly<Record<string, unknown>>): ApiAccess {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const clientNode = require('@kubernetes/client-node') as { KubeConfig: new () => KubeConfigLike };
  const kubeConfig = new clientNode.KubeConfig();
  kubeConfig.loadFromString(stringify(config));
  return accessFromKubeConfig(kubeConfig);
}

function dataOrFile(
  entry: KubeconfigCluster | KubeconfigUser,
  field: 'certificate-authority' | 'client-certificate' | 'client-key',
  dir: string,
): Buffer | undefined {
  const data = (entry as Readonly<Record<string, unknown>>)[`${field}-data`];
  if (typeof data === 'string' && data) return Buffer.from(data, 'base64');
  const file = (entry as Readonly<Record<string, unknown>>)[field];
  if (typeof file === 'string' && file) return readFile(resolveIn(dir, file), `kubeconfig ${field}`);
  return undefined;
}

/** `entry` with the files it names made absolute, so that it can move out of its file. */
function withAbsolutePaths<T extends KubeconfigCluster | KubeconfigUser>(entry: T, dir: string): T {
  const copy: Record<string, unknown> = { ...entry };
  for (const field of ['certificate-authority', 'client-certificate', 'client-key', 'tokenFile']) {
    if (typeof copy[field] === 'string' && copy[field]) copy[field] = resolveIn(dir, copy[field]);
  }
  return copy as T;
}

function resolveIn(dir: string, file: string): string {
  return path.isAbsolute(file) ? file : path.join(dir, file);
}

function readFile(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new Error(`cannot read ${what} (${file}): ${(error as Error).message}`);
  }
}
