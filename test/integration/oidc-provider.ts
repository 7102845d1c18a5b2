/**
 * An OpenID provider for the real-node tests: Ory Hydra 2.3.0, compiled here from the Go module
 * proxy (`github.com/ory/hydra/v2`; no release download is reachable, and dex's releases are not
 * served there), with its SQLite storage in memory (cgo, linked statically), on Debian 12 as uid
 * 10001 under the restricted Pod Security profile.
 *
 * One pod `hydra` runs two providers, each its own issuer with its own signing keys, over HTTPS
 * with the certificate in the Secret `hydra-tls` (`tls.crt`, `tls.key`):
 * - `hydra` on 4444 (the issuer a test's class names), admin API on 4445 (loopback only);
 * - `hydra-other` on 5444 (another issuer: its tokens must be refused), admin on 5445.
 * Access tokens are JWTs (`strategies.access_token=jwt`) a resource server can check on its own.
 * Each provider registers the clients of a Secret (one JSON document per key, in Hydra's admin
 * API's form) at start, and the pod turns Ready once both have and their keys exist. The Service
 * `hydra` serves both public ports.
 */
import { goProgramLayer, type ImageRecipe } from '../../lib/image';
import { debianServerImageRecipe } from './database-servers';
import {
  buildImageOnRealNode,
  REAL_NODE_PLACEMENT,
  RESTRICTED_CONTAINER,
  waitPodsReady,
  readyFileProbe,
} from './real-node-support';
import { adminClients } from './support';

const HYDRA_VERSION = 'v2.3.0';

/** Hydra's image: Debian 12 with curl (the start script registers clients), and Hydra. */
export function hydraImageRecipe(): ImageRecipe {
  const base = debianServerImageRecipe({
    reference: 'keelson.test/hydra:2.3.0',
    description: 'Debian 12 with curl',
    packages: ['curl', 'ca-certificates'],
    account: 'hydra',
    path: ['/usr/local/bin'],
  });
  return {
    ...base,
    layers: [
      ...base.layers,
      goProgramLayer(
        {
          name: 'hydra',
          module: 'github.com/ory/hydra/v2',
          version: HYDRA_VERSION,
          // Hydra's go.mod builds against Ory's fork of pop; `go get` drops a dependency's replacements.
          replace: {
            'github.com/gobuffalo/pop/v6': 'github.com/ory/pop/v6 v6.2.1-0.20241121111754-e5dfc0f3344b',
          },
          tags: ['sqlite', 'sqlite_omit_load_extension', 'osusergo', 'netgo'],
          cgo: true,
        },
        '/usr/local/bin/hydra',
      ),
    ],
  };
}

/** A client as Hydra's admin API takes it (`POST /admin/clients`). */
export interface HydraClient {
  readonly client_id: string;
  readonly client_secret: string;
  readonly grant_types: readonly string[];
  readonly audience?: readonly string[];
  readonly redirect_uris?: readonly string[];
  readonly response_types?: readonly string[];
  readonly scope?: string;
  readonly token_endpoint_auth_method?: string;
}

/** The two providers of the pod: container, public and admin ports. */
const PROVIDERS = [
  { name: 'hydra', port: 4444, admin: 4445 },
  { name: 'hydra-other', port: 5444, admin: 5445 },
] as const;
export type HydraProvider = (typeof PROVIDERS)[number]['name'];

/** The issuer of `provider` in `namespace`: its Service name and port, as Hydra writes it (`/` at the end). */
export function hydraIssuer(namespace: string, provider: HydraProvider = 'hydra'): string {
  const { port } = PROVIDERS.find((p) => p.name === provider)!;
  return `https://hydra.${namespace}.svc.cluster.local:${port}/`;
}

export function hydraStartScript(namespace: string, provider: (typeof PROVIDERS)[number]): string {
  const config = `dsn: memory
serve:
  public: { host: 0.0.0.0, port: ${provider.port} }
  admin: { host: 127.0.0.1, port: ${provider.admin} }
  tls:
    enabled: true
    cert: { path: /tls/tls.crt }
    key: { path: /tls/tls.key }
urls:
  self: { issuer: ${hydraIssuer(namespace, provider.name)} }
  login: https://login.invalid/login
  consent: https://login.invalid/consent
strategies:
  access_token: jwt
sqa:
  opt_out: true
`;
  const admin = `https://127.0.0.1:${provider.admin}`;
  return [
    'set -eu',
    `cat > /tmp/${provider.name}.yaml <<'EOF'\n${config}EOF`,
    // The system secret encrypts Hydra's own storage, in memory here: a fresh one each start.
    `printf 'secrets:\\n  system: ["%s"]\\n' "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \\n')" >> /tmp/${provider.name}.yaml`,
    `hydra serve all -c /tmp/${provider.name}.yaml &`,
    'server=$!',
    `until curl -sfk ${admin}/health/ready > /dev/null; do kill -0 $server; sleep 1; done`,
    `for c in /clients/*.json; do curl -sfk -X POST -H 'Content-Type: application/json' -d @$c ${admin}/admin/clients > /dev/null; done`,
    // The signing keys are made on first use (RSA 4096: seconds on a busy node, where a first
    // request can fail while Hydra makes them); make them now.
    ...['openid-configuration', 'jwks.json'].map(
      (doc) =>
        `until curl -sfk https://127.0.0.1:${provider.port}/.well-known/${doc} > /dev/null; do kill -0 $server; sleep 1; done`,
    ),
    `touch /tmp/${provider.name}-ready`,
    'wait $server',
  ].join('\n');
}

/**
 * Builds Hydra's image, starts the pod `hydra` with the Service `hydra` in `namespace` (the Secret
 * `hydra-tls` must exist), registers `clients` at each provider and waits until it is Ready.
 */
export async function startHydra(
  namespace: string,
  clients: Readonly<Record<HydraProvider, readonly HydraClient[]>>,
): Promise<void> {
  const { core } = adminClients();
  await buildImageOnRealNode(hydraImageRecipe());
  for (const provider of PROVIDERS)
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: `${provider.name}-clients` },
        stringData: Object.fromEntries(
          clients[provider.name].map((c) => [`${c.client_id}.json`, JSON.stringify(c)]),
        ),
      },
    });
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: 'hydra', labels: { app: 'hydra' } },
      spec: {
        ...REAL_NODE_PLACEMENT,
        securityContext: { runAsNonRoot: true, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
        containers: PROVIDERS.map((provider) => ({
          name: provider.name,
          image: hydraImageRecipe().reference,
          imagePullPolicy: 'Never',
          command: ['/bin/bash', '-c', hydraStartScript(namespace, provider)],
          env: [{ name: 'HOME', value: '/tmp' }],
          ports: [
            { name: provider.name === 'hydra' ? 'public' : 'public-other', containerPort: provider.port },
          ],
          ...readyFileProbe(`/tmp/${provider.name}-ready`),
          securityContext: RESTRICTED_CONTAINER,
          resources: { limits: { memory: '256Mi' }, requests: { memory: '64Mi' } },
          volumeMounts: [
            { name: 'tmp', mountPath: '/tmp' },
            { name: 'tls', mountPath: '/tls', readOnly: true },
            { name: `${provider.name}-clients`, mountPath: '/clients', readOnly: true },
          ],
        })),
        volumes: [
          { name: 'tmp', emptyDir: {} },
          { name: 'tls', secret: { secretName: 'hydra-tls' } },
          ...PROVIDERS.map((p) => ({
            name: `${p.name}-clients`,
            secret: { secretName: `${p.name}-clients` },
          })),
        ],
      },
    },
  });
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: 'hydra' },
      spec: {
        selector: { app: 'hydra' },
        // Ready once is enough: the test waits for it, and Trino must keep reaching it after.
        publishNotReadyAddresses: true,
        ports: PROVIDERS.map((p) => ({ name: p.name, port: p.port, targetPort: p.port })),
      },
    },
  });
  await waitPodsReady(namespace, ['hydra'], 5 * 60_000);
}
