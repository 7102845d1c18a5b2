/**
 * Trino with TLS on the real node: keelson's manifests with a TlsClass, keelson's build of
 * `docker.io/trinodb/trino:476`, in a namespace enforcing the restricted Pod Security profile. The
 * certificates are the test's own (test-pki.ts: one CA, a leaf per role group with the names
 * keelson's signer gives its pod), delivered in Secrets at the paths of keelson's mount contract
 * (`/keelson/tls/server`, `/keelson/tls/internal`) by replacing the pod-certificate volumes through
 * podOverrides: the product side is proven here, the operator's signer elsewhere. Proven:
 * - the coordinator and a worker become Ready by keelson's probe (GET /v1/info over HTTPS, checking
 *   the pod's own name) and the worker joins the coordinator over HTTPS (system.runtime.nodes lists
 *   it at an https URI of its DNS name);
 * - the Trino CLI trusting the CA runs `SELECT count(*) FROM tpch.tiny.nation` (25) through the
 *   client Service on the worker (the coordinator schedules no tasks on itself);
 * - curl trusting the CA reaches the Service by its name, and the same server under a name its
 *   certificate lacks fails hostname verification;
 * - the CLI trusting another CA is refused; plain HTTP on the port gets no answer;
 * - a renewal (a new key and certificate from the same CA in each role's Secret) is taken up without
 *   a restart: each node presents its new certificate on 8080 once the kubelet has rewritten the
 *   files and airlift has looked (every minute), the pods are the same and never restarted, and the
 *   worker stays an active node that runs the query.
 * And, in a namespace of its own, a TrinoCluster through keelson's operator (its own ServiceAccount
 * and RBAC) with Pod Certificates it signs from a `keelsonCa` class that asks the kubelet to
 * refresh 6 minutes after issue (`certificateRefreshAfter: 6m`, the soonest the API server allows;
 * the kubelet adds up to 5 minutes of jitter). Proven:
 * - each pod's certificate comes from its PodCertificateRequest, by the class's CA, for the pod's
 *   stable name (the coordinator's for the client Service too), with `beginRefreshAt` 6 minutes
 *   after issue and `notBefore` 4 minutes before it; the Trino CLI trusting only the class's
 *   ClusterTrustBundle runs the query through the client Service;
 * - the real kubelet refreshes both pods' certificates (a new request for the same pod, no sooner
 *   than `beginRefreshAt`, the same names, a new serial in the mounted file) and Trino presents the
 *   new one on 8080 without a restart (the same pods, no container restart), and queries go on;
 * - a rotation of the class's CA (the test writes the successor into the CA Secret, the state the
 *   operator writes when the CA has the overlap left) restarts the coordinator and the worker, which
 *   read their trust only at start, one eviction at a time, each new pod trusting both CAs; queries
 *   work afterwards.
 * The refresh is checked after the Secrets' tests, which run during its wait.
 * Each failure prints Trino's logs (and the operator's).
 */
import { X509Certificate } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import { Chart, Testing } from 'cdk8s';
import { TrinoCatalog, TrinoCluster, TRINO_DISCOVERY_KEY, TRINO_TLS_CLASS_KEY } from '../../constructs/trino';
import { trinoImageRecipe } from '../../constructs/trino/image';
import { tlsVolumeName } from '../../lib';
import { KubeClient } from '../../lib/operator/client';
import { PRODUCTS } from '../../apps/keelson';
import { NEXT_CA_PUBLISHED_ANNOTATION, splitPem } from '../../lib/operator/ca-rotation';
import { caSecretName } from '../../lib/operator/signer';
import { createCertificateAuthority } from '../../lib/tls/certificates';
import { TLS_CLASS_LABEL, tlsSignerName } from '../../lib/tls/pod-tls';
import { applyAll, installCrds, RESTRICTED, type Manifest } from './admission';
import {
  KEELSON_BIN,
  operatorIdentity,
  removeOperatorIdentity,
  startOperator,
  tail,
  type OperatorProcess,
} from './operator-support';
import {
  FIRST_TIER_JIT,
  CLIENT_JVM_OPTIONS,
  buildImageOnRealNode,
  classCas,
  execInPod,
  isReady,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  rollWatch,
  runClientPod,
  waitPodsReady,
} from './real-node-support';
import { createTestNamespace } from '../controlplane/cluster';
import { adminClients, adminKubeConfig, uniqueName, waitFor } from './support';
import { podDnsNames, TestPki } from './test-pki';

// A cold machine builds the node and a ~1 GiB image first; Trino starts in minutes on 2 busy cores.
jest.setTimeout(40 * 60_000);

const VERSION = '476';
const COORDINATOR = 'trino-coordinators-default-0';
const WORKER = 'trino-workers-default-0';

/**
 * Trino with Pod Certificates keelson's operator signs (the operator's path end to end), in a
 * namespace of its own beside the Secrets' Trino below. The class asks the kubelet to refresh 6
 * minutes after issue (`certificateRefreshAfter`, the soonest the API server allows), so a real
 * refresh happens while the file runs; its first test starts Trino, the refresh is checked after
 * the Secrets' tests, whose minutes it waits through.
 */
const signed = {
  className: uniqueName('trino-pc'),
  operatorNamespace: '',
  namespace: '',
  operator: undefined as OperatorProcess | undefined,
  /** Set once Trino serves over HTTPS with the operator's certificates. */
  serving: false,
  /** Each pod's first server certificate and its request (the API server deletes requests after 15 minutes). */
  first: new Map<string, ServerCertificate>(),
};
const signedKc = adminKubeConfig();
const signedClient = new KubeClient(signedKc);
const SIGNED_PODS = [COORDINATOR, WORKER];
const BUNDLES = '/apis/certificates.k8s.io/v1beta1/clustertrustbundles';

afterAll(async () => {
  await signed.operator?.stop();
  await signedClient
    .request('delete', 'DELETE', `/apis/keelson.dev/v1alpha1/tlsclasses/${signed.className}`, 'tlsclasses')
    .catch(() => undefined);
  if (signed.operatorNamespace) await removeOperatorIdentity(signed.operatorNamespace, signedKc);
  for (const name of [signed.namespace, signed.operatorNamespace].filter(Boolean))
    await adminClients()
      .core.deleteNamespace({ name })
      .catch(() => undefined);
});

const signedLog = (message: string) =>
  process.stdout.write(`trino with operator-signed pod certificates: ${message}\n`);
const secondsSince = (from: number, to: number) => `${((to - from) / 1000).toFixed(0)} s`;

/** Trino's pods' logs and the operator's. */
const signedLogs = async () =>
  `${await podsLogs(signed.namespace, SIGNED_PODS)}\n--- operator\n${signed.operator ? tail(signed.operator.logFile, 60) : ''}`;

interface IssuedRequest {
  metadata: { name: string; creationTimestamp: string };
  spec: { podName: string; podUID: string; signerName: string };
  status?: {
    certificateChain?: string;
    notBefore?: string;
    beginRefreshAt?: string;
    conditions?: { type: string; lastTransitionTime: string }[];
  };
}

/** The class's issued requests in the namespace. */
const issuedRequests = async () =>
  (
    await signedClient.request<{ items: IssuedRequest[] }>(
      'list',
      'GET',
      `/apis/certificates.k8s.io/v1beta1/namespaces/${signed.namespace}/podcertificaterequests`,
      'podcertificaterequests',
    )
  ).items.filter((r) => r.spec.signerName === tlsSignerName(signed.className) && r.status?.certificateChain);

interface ServerCertificate {
  readonly leaf: X509Certificate;
  readonly serial: string;
  readonly request?: IssuedRequest;
}

/** The leaf `pod` has at /keelson/tls/server/tls.crt, and the request that issued it. */
async function serverCertificate(pod: string): Promise<ServerCertificate> {
  const leaf = new X509Certificate(await execInPod(signed.namespace, pod, 'cat /keelson/tls/server/tls.crt'));
  const request = (await issuedRequests()).find(
    (r) => new X509Certificate(r.status!.certificateChain!).fingerprint256 === leaf.fingerprint256,
  );
  return { leaf, serial: leaf.serialNumber.replace(/^0+/, '').toLowerCase(), request };
}

/** The serial of the certificate `pod` presents on 8080 for its own DNS name (over loopback). */
async function presentedSerial(pod: string): Promise<string> {
  const headless = `${pod.replace(/-0$/, '')}-headless`;
  const host = `${pod}.${headless}.${signed.namespace}.svc.cluster.local`;
  const out = await execInPod(
    signed.namespace,
    pod,
    `curl -s --cacert /keelson/tls/server/ca.crt --resolve ${host}:8080:127.0.0.1 https://${host}:8080/v1/info ` +
      "-o /dev/null -w '%{certs}' | grep -m1 '^Serial Number:' || true",
  );
  return out.replace('Serial Number:', '').trim().replace(/^0+/, '').replace(/:/g, '').toLowerCase();
}

/** A query through the client Service from a pod that trusts the class's CAs (its ClusterTrustBundles). */
async function signedQuery(name: string): Promise<void> {
  const server = `https://trino-coordinators.${signed.namespace}.svc.cluster.local:8080`;
  const cli = () => `trino --server ${server} --truststore-path /trust/ca.crt --user keelson`;
  const out = await runClientPod(
    signed.namespace,
    {
      name,
      image: `docker.io/trinodb/trino:${VERSION}`,
      command: [
        '/bin/bash',
        '-c',
        `for i in $(seq 60); do nodes=$(${cli()} --execute "SELECT http_uri FROM system.runtime.nodes WHERE coordinator = false AND state = 'active'" 2>/tmp/err); ` +
          '[ -n "$nodes" ] && break; sleep 2; done; echo "nodes=$nodes"; grep -v WARNING /tmp/err; ' +
          `${cli()} --execute "SELECT count(*) FROM tpch.tiny.nation" 2>&1 | sed 's/^/nation=/'`,
      ],
      labels: { app: 'trino-client' },
      env: [{ name: 'JAVA_TOOL_OPTIONS', value: CLIENT_JVM_OPTIONS }],
      volumes: [
        {
          volume: {
            name: 'trust',
            projected: {
              sources: [
                {
                  clusterTrustBundle: {
                    signerName: tlsSignerName(signed.className),
                    labelSelector: { matchLabels: { [TLS_CLASS_LABEL]: signed.className } },
                    path: 'ca.crt',
                  },
                },
              ],
            },
          },
          mountPath: '/trust',
        },
      ],
    },
    signedLogs,
    8 * 60_000,
  );
  const lines = out.split('\n');
  const worker = `nodes="https://${WORKER}.trino-workers-default-headless.${signed.namespace}.svc.cluster.local:8080"`;
  if (!lines.includes(worker) || !lines.includes('nation="25"'))
    throw new Error(`Trino does not answer over HTTPS\n--- client:\n${out}\n${await signedLogs()}`);
}

/** Each pod's uid and restart count. */
const podStates = async () =>
  new Map(
    await Promise.all(
      SIGNED_PODS.map(async (name) => {
        const pod = await adminClients().core.readNamespacedPod({ namespace: signed.namespace, name });
        const restarts = (pod.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0);
        return [name, `${pod.metadata!.uid} restarts=${restarts}`] as const;
      }),
    ),
  );

describe("Trino with Pod Certificates keelson's operator signs, on the real node", () => {
  beforeAll(async () => {
    await realNode();
    await installCrds(PRODUCTS, signedKc);
    signed.operatorNamespace = await createTestNamespace(signedKc, uniqueName('trino-pc-op'));
    signed.namespace = await createTestNamespace(signedKc, uniqueName('trino-pc'), RESTRICTED);
    const kubeconfig = await operatorIdentity(signed.operatorNamespace, signedKc, PRODUCTS, [
      signed.namespace,
    ]);
    signed.operator = await startOperator({
      namespaces: [signed.namespace],
      kubeconfig,
      entry: KEELSON_BIN,
      env: { POD_NAMESPACE: signed.operatorNamespace },
    });
  });

  it('serves queries over HTTPS through its client Service with the certificates the operator signed', async () => {
    await buildImageOnRealNode(trinoImageRecipe(VERSION));
    const { core } = adminClients();
    const create = (kind: string, plural: string, name: string, spec: object, namespaced = true) =>
      signedClient.request(
        'create',
        'POST',
        `/apis/keelson.dev/v1alpha1${namespaced ? `/namespaces/${signed.namespace}` : ''}/${plural}`,
        plural,
        {
          body: {
            apiVersion: 'keelson.dev/v1alpha1',
            kind,
            metadata: { name, labels: { trino: 'signed' } },
            spec,
          },
        },
      );
    // The soonest refresh the API server allows (6 minutes after issue), on the shortest lifetime.
    await create(
      'TlsClass',
      'tlsclasses',
      signed.className,
      { keelsonCa: { certificateLifetime: '1h', certificateRefreshAfter: '6m', caRotationOverlap: '1h' } },
      false,
    );
    await core.createNamespacedSecret({
      namespace: signed.namespace,
      body: { metadata: { name: 'trino-internal-secret' }, stringData: { internalSharedSecret: 'signed' } },
    });
    await create('TrinoCatalog', 'trinocatalogs', 'tpch', { connector: { tpch: {} } });
    const role = {
      config: { resources: { cpu: { min: '200m', max: '2' }, memory: { limit: '1536Mi' } } },
      podOverrides: { spec: REAL_NODE_PLACEMENT },
      roleGroups: { default: { replicas: 1 } },
      ...FIRST_TIER_JIT,
    };
    const created = Date.now();
    await create('TrinoCluster', 'trinoclusters', 'trino', {
      image: { productVersion: VERSION, pullPolicy: 'Never' },
      clusterConfig: {
        catalogLabelSelector: { matchLabels: { trino: 'signed' } },
        tls: { serverTlsClass: signed.className, internalTlsClass: signed.className },
        networkPolicy: { allowedClients: [{ podSelector: { matchLabels: { app: 'trino-client' } } }] },
      },
      coordinators: role,
      // A worker's drain waits twice its shutdown grace period, a quarter of this (at most 30 s):
      // 5 s here, where no query runs during the CA rotation's roll (trino-real-node proves the drain).
      workers: { ...role, config: { ...role.config, gracefulShutdownTimeout: '20s' } },
    });
    await waitPodsReady(signed.namespace, SIGNED_PODS, 15 * 60_000, signedLogs);
    signedLog(`coordinator and worker Ready ${secondsSince(created, Date.now())} after the TrinoCluster`);

    // Each pod's certificate is the operator's: issued through a PodCertificateRequest for the
    // pod, by the class's CA, for the pod's stable name (and the coordinator's for its Service).
    const [ca] = await classCas(signed.className);
    for (const pod of SIGNED_PODS) {
      const first = await serverCertificate(pod);
      signed.first.set(pod, first);
      const { leaf, request } = first;
      const headless = `${pod.replace(/-0$/, '')}-headless`;
      expect({ pod, issuedByRequest: request?.spec.podName }).toEqual({ pod, issuedByRequest: pod });
      expect(leaf.checkIssued(ca) && leaf.verify(ca.publicKey)).toBe(true);
      const stable = `${pod}.${headless}.${signed.namespace}.svc.cluster.local`;
      expect(leaf.checkHost(stable)).toBe(stable);
      // The class's refresh: 6 minutes after issue, notBefore 4 minutes back so that the API server
      // (which wants the refresh 10 minutes after notBefore) accepts it; the lifetime is the class's.
      const issuedAt = Date.parse(
        request!.status!.conditions!.find((c) => c.type === 'Issued')!.lastTransitionTime,
      );
      expect({
        pod,
        refresh: Date.parse(request!.status!.beginRefreshAt!) - issuedAt,
        backdated: issuedAt - Date.parse(request!.status!.notBefore!),
        lifetime: Date.parse(leaf.validTo) - Date.parse(leaf.validFrom),
      }).toEqual({ pod, refresh: 6 * 60_000, backdated: 4 * 60_000, lifetime: 3600_000 });
    }
    const service = `trino-coordinators.${signed.namespace}.svc.cluster.local`;
    expect((await serverCertificate(COORDINATOR)).leaf.checkHost(service)).toBe(service);

    await signedQuery('client');
    signed.serving = true;
  });
});

describe('Trino with TLS on the real node', () => {
  // One namespace for both tests: the renewal test works on the Trino the first one started.
  const ns = { name: '' };
  beforeAll(async () => {
    ns.name = await createTestNamespace(adminKubeConfig(), uniqueName('trino-tls'), RESTRICTED);
  });
  afterAll(async () => {
    if (ns.name)
      await adminClients()
        .core.deleteNamespace({ name: ns.name })
        .catch(() => undefined);
  });
  const client = new KubeClient(adminKubeConfig());
  const { core } = adminClients();
  const ca = new TestPki('keelson test CA');
  const otherCa = new TestPki('keelson test other CA');
  afterAll(() => {
    ca.remove();
    otherCa.remove();
  });
  /** The test's certificate of a role's pod: the names keelson's signer would give it. */
  const leafFor = (role: 'coordinators' | 'workers', leaf: string) =>
    role === 'coordinators'
      ? ca.issue(
          leaf,
          podDnsNames(COORDINATOR, 'trino-coordinators-default-headless', ns.name, ['trino-coordinators']),
        )
      : ca.issue(leaf, podDnsNames(WORKER, 'trino-workers-default-headless', ns.name, []));
  const service = () => `trino-coordinators.${ns.name}.svc.cluster.local`;
  /** The CLI script that prints the active worker's URI (`nodes=`) and the nation count (`nation=`). */
  const queries = (cli: (trust: string) => string) =>
    // The coordinator is Ready before the worker has announced itself: wait for it (2 minutes).
    `for i in $(seq 60); do nodes=$(${cli('ca.crt')} --execute "SELECT http_uri FROM system.runtime.nodes WHERE coordinator = false AND state = 'active'" 2>/tmp/err); ` +
    '[ -n "$nodes" ] && break; sleep 2; done; echo "nodes=$nodes"; cat /tmp/err | grep -v WARNING; ' +
    `${cli('ca.crt')} --execute "SELECT count(*) FROM tpch.tiny.nation" 2>&1 | sed 's/^/nation=/'; `;
  const runClient = (name: string, script: string, diagnostics: () => Promise<string>) =>
    runClientPod(
      ns.name,
      {
        name,
        image: `docker.io/trinodb/trino:${VERSION}`,
        command: ['/bin/bash', '-c', script],
        labels: { app: 'trino-client' },
        env: [{ name: 'JAVA_TOOL_OPTIONS', value: CLIENT_JVM_OPTIONS }],
        volumes: [
          { volume: { name: 'trust', secret: { secretName: 'trino-client-trust' } }, mountPath: '/trust' },
        ],
      },
      diagnostics,
      8 * 60_000,
    );
  /** Set once the first test has Trino serving over HTTPS; the renewal test needs it. */
  let serving = false;

  it('serves queries over HTTPS to a client trusting its CA, with the worker joined over HTTPS, and nothing in plaintext', async () => {
    await realNode();
    const started = Date.now();
    await buildImageOnRealNode(trinoImageRecipe(VERSION));
    const imported = Date.now();

    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    const tpch = new TrinoCatalog(chart, 'tpch', { connector: { tpch: {} }, labels: { trino: 'trino' } });
    const small = { resources: { cpu: { min: '200m', max: '2' }, memory: { limit: '1536Mi' } } };
    const tlsVolumes = (role: string) => ({
      podOverrides: {
        spec: {
          ...REAL_NODE_PLACEMENT,
          volumes: (['server', 'internal'] as const).map((use) => ({
            name: tlsVolumeName(use),
            secret: { secretName: `trino-${role}-tls` },
          })),
        },
      },
    });
    const trino = new TrinoCluster(
      chart,
      'trino',
      {
        image: { productVersion: VERSION, pullPolicy: 'Never' },
        clusterConfig: { catalogLabelSelector: { matchLabels: { trino: 'trino' } } },
        catalogs: [tpch],
        coordinators: { config: small, ...tlsVolumes('coordinators'), ...FIRST_TIER_JIT },
        workers: { config: small, ...tlsVolumes('workers'), ...FIRST_TIER_JIT },
      },
      // The class exists as far as the build is concerned; its certificates are the test's (above).
      { tlsClasses: [{ name: 'tls' }] },
    );
    trino.addAllowedClient({ podSelector: { matchLabels: { app: 'trino-client' } } });
    const server = `https://${service()}:8080`;
    expect(trino.coordinatorUrl).toBe(server);
    const manifests = Testing.synth(chart) as Manifest[];
    const discovery = manifests.find(
      (m) => m.kind === 'ConfigMap' && m.metadata?.name === 'trino',
    ) as unknown as {
      data: Record<string, string>;
    };
    expect(discovery.data).toEqual({ [TRINO_DISCOVERY_KEY]: server, [TRINO_TLS_CLASS_KEY]: 'tls' });

    const secrets: k8s.V1Secret[] = [
      {
        metadata: { name: 'trino-coordinators-tls' },
        stringData: leafFor('coordinators', 'coordinator'),
      },
      {
        metadata: { name: 'trino-workers-tls' },
        stringData: leafFor('workers', 'worker'),
      },
      {
        metadata: { name: 'trino-internal-secret' },
        stringData: { internalSharedSecret: 'real-node-secret' },
      },
      {
        metadata: { name: 'trino-client-trust' },
        stringData: { 'ca.crt': ca.caPem, 'other-ca.crt': otherCa.caPem },
      },
    ];
    for (const body of secrets) await core.createNamespacedSecret({ namespace: ns.name, body });
    expect(await applyAll(client, manifests, ns.name)).toEqual([]);

    const logs = () => podsLogs(ns.name, [COORDINATOR, WORKER]);
    await waitPodsReady(ns.name, [COORDINATOR, WORKER], 15 * 60_000);
    const ready = Date.now();
    process.stdout.write(
      `trino TLS on the real node: image ${((imported - started) / 1000).toFixed(1)} s (build or cache, import), ` +
        `coordinator and worker Ready ${((ready - imported) / 1000).toFixed(1)} s after apply\n`,
    );

    const cli = (trust: string) =>
      `trino --server ${server} --truststore-path /trust/${trust} --user keelson`;
    const script =
      queries(cli) +
      `${cli('other-ca.crt')} --execute "SELECT 1" >/tmp/out 2>&1; echo "other-ca-exit=$?"; grep -v WARNING /tmp/out | head -3; ` +
      `curl -s --cacert /trust/ca.crt ${server}/v1/info >/tmp/out; echo "curl-exit=$? $(head -c 300 /tmp/out)"; ` +
      `ip=$(getent hosts ${service()}); ip=\${ip%% *}; ` +
      `curl -s --cacert /trust/ca.crt --resolve not-in-certificate.example:8080:$ip https://not-in-certificate.example:8080/v1/info -o /dev/null -sS 2>/tmp/out; echo "wrong-name-exit=$? $(cat /tmp/out)"; ` +
      `curl -sS http://${service()}:8080/v1/info >/tmp/out 2>&1; echo "http-exit=$? $(head -c 200 /tmp/out)"`;
    const out = await runClient('client', script, logs);
    const lines = out.split('\n').filter((l) => !l.startsWith('Picked up JAVA_TOOL_OPTIONS'));
    const fail = async (what: string) => `${what}\n--- client:\n${out}\n${await logs()}`;
    const check = async (ok: boolean, what: string) => {
      if (!ok) throw new Error(await fail(what));
    };
    // The worker announced itself at an https URI of its DNS name, which the coordinator verified.
    await check(
      lines.includes(
        `nodes="https://${WORKER}.trino-workers-default-headless.${ns.name}.svc.cluster.local:8080"`,
      ),
      'the worker is not an active node at its https URI',
    );
    await check(lines.includes('nation="25"'), 'the tpch query over HTTPS did not return 25');
    const exit = (key: string) => lines.find((l) => l.startsWith(`${key}=`))?.split(/[= ]/)[1];
    await check(
      exit('curl-exit') === '0' && out.includes('"starting":false'),
      'curl over HTTPS by the Service name failed',
    );
    // 60: the peer's certificate does not match the name (curl verifies it by default).
    await check(exit('wrong-name-exit') === '60', 'a name the certificate lacks was not refused');
    await check(
      exit('other-ca-exit') !== '0' && exit('other-ca-exit') !== undefined,
      'a client trusting another CA was served',
    );
    const http = lines.find((l) => l.startsWith('http-exit='));
    await check(
      exit('http-exit') !== undefined && exit('http-exit') !== '0' && !http?.includes('"starting"'),
      'plain HTTP was answered',
    );
    serving = true;
  });

  it('reloads renewed certificates without a restart: each node presents its new one, and the same pods go on serving queries over HTTPS', async () => {
    if (!serving) throw new Error('Trino is not serving over HTTPS (the test before failed)');
    const logs = () => podsLogs(ns.name, [COORDINATOR, WORKER]);
    const pods = async () =>
      new Map(
        await Promise.all(
          [COORDINATOR, WORKER].map(async (name) => {
            const pod = await core.readNamespacedPod({ namespace: ns.name, name });
            const restarts = (pod.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0);
            return [name, `${pod.metadata!.uid} restarts=${restarts}`] as const;
          }),
        ),
      );
    const before = await pods();
    /** The serial of the certificate `pod` presents on 8080 for its own DNS name (over loopback). */
    const presented = async (pod: string, headless: string) => {
      const host = `${pod}.${headless}.${ns.name}.svc.cluster.local`;
      const out = await execInPod(
        ns.name,
        pod,
        `curl -s --cacert /keelson/tls/server/ca.crt --resolve ${host}:8080:127.0.0.1 https://${host}:8080/v1/info ` +
          "-o /dev/null -w '%{certs}' | grep -m1 '^Serial Number:' || true",
      );
      return out.replace('Serial Number:', '').trim().replace(/^0+/, '').toLowerCase();
    };
    const serialOf = (files: Record<string, string>) =>
      new X509Certificate(files['tls.crt']).serialNumber.replace(/^0+/, '').toLowerCase();
    const nodes = [
      { pod: COORDINATOR, headless: 'trino-coordinators-default-headless', role: 'coordinators' as const },
      { pod: WORKER, headless: 'trino-workers-default-headless', role: 'workers' as const },
    ];
    const old = await Promise.all(nodes.map((n) => presented(n.pod, n.headless)));
    expect(old.every((serial) => /^[0-9a-f]+$/.test(serial))).toBe(true);

    // The renewal: a new key and certificate from the same CA in each role's Secret, as cert-manager
    // (or the kubelet, for a pod certificate) writes it.
    const renewed = nodes.map((n) => leafFor(n.role, `${n.role}-renewed`));
    const serials = renewed.map(serialOf);
    expect(serials).not.toEqual(old);
    const renewedAt = Date.now();
    for (const [i, n] of nodes.entries())
      await core.replaceNamespacedSecret({
        namespace: ns.name,
        name: `trino-${n.role}-tls`,
        body: { metadata: { name: `trino-${n.role}-tls` }, stringData: renewed[i] },
      });
    // The kubelet rewrites the files (its sync, ~10 s on the test node), airlift looks every minute.
    const seenAt: number[] = [];
    for (const [i, n] of nodes.entries()) {
      try {
        await waitFor(
          `${n.pod} to present its renewed certificate`,
          async () => (await presented(n.pod, n.headless)) === serials[i],
          5 * 60_000,
        );
      } catch (error) {
        throw new Error(`${(error as Error).message}\n${await logs()}`);
      }
      seenAt.push(Date.now());
    }
    process.stdout.write(
      `trino TLS on the real node: renewed certificates presented by the coordinator ` +
        `${((seenAt[0] - renewedAt) / 1000).toFixed(0)} s and the worker ${((seenAt[1] - renewedAt) / 1000).toFixed(0)} s ` +
        `after the Secrets changed, no restart\n`,
    );
    // The same pods, never restarted, and the cluster still works over HTTPS: the worker is an
    // active node (its announcements to the coordinator use the new certificates) and runs the query.
    expect(await pods()).toEqual(before);
    const out = await runClient(
      'client-renewed',
      queries(
        (trust) =>
          `trino --server https://${service()}:8080 --truststore-path /trust/${trust} --user keelson`,
      ),
      logs,
    );
    const lines = out.split('\n');
    if (
      !lines.includes(
        `nodes="https://${WORKER}.trino-workers-default-headless.${ns.name}.svc.cluster.local:8080"`,
      ) ||
      !lines.includes('nation="25"')
    )
      throw new Error(
        `Trino does not serve over HTTPS after the renewal\n--- client:\n${out}\n${await logs()}`,
      );
  });
});

describe("Trino with Pod Certificates keelson's operator signs: the kubelet's refresh and a CA rotation", () => {
  it('takes the certificate the kubelet refreshes without a restart: the new one is presented and queries go on', async () => {
    if (!signed.serving)
      throw new Error("Trino with the operator's certificates is not serving (the test before failed)");
    const before = await podStates();
    const first = signed.first;
    expect([...first.keys()]).toEqual(SIGNED_PODS);
    for (const [pod, { request }] of first)
      expect({ pod, request: request !== undefined }).toEqual({ pod, request: true });
    // The Secrets' tests ran meanwhile: a refresh may have come already (then its moments below are
    // the request's; the file and Trino's answer are seen when looked at).
    const lookedFrom = Date.now();
    const issuedAt = (r: IssuedRequest) =>
      Date.parse(r.status!.conditions!.find((c) => c.type === 'Issued')!.lastTransitionTime);

    // The kubelet asks again at beginRefreshAt plus up to 5 minutes of jitter, looking every 1–2
    // minutes; then it rewrites the files (its sync: 10 s on the test node). Looked at every 15 s.
    const renewed = new Map<string, Awaited<ReturnType<typeof serverCertificate>> & { seenAt: number }>();
    let lastLook = 0;
    try {
      await waitFor(
        "the kubelet to refresh both pods' certificates",
        async () => {
          if (Date.now() - lastLook < 15_000) return false;
          lastLook = Date.now();
          for (const pod of SIGNED_PODS) {
            if (renewed.has(pod)) continue;
            const now = await serverCertificate(pod);
            if (now.serial !== first.get(pod)!.serial) renewed.set(pod, { ...now, seenAt: Date.now() });
          }
          return renewed.size === SIGNED_PODS.length;
        },
        20 * 60_000,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await signedLogs()}`);
    }

    // Trino (airlift looks at the files every minute) presents each new certificate, with no restart.
    const presentedAt = new Map<string, number>();
    for (const pod of SIGNED_PODS) {
      try {
        await waitFor(
          `${pod} to present its refreshed certificate`,
          async () => (await presentedSerial(pod)) === renewed.get(pod)!.serial,
          5 * 60_000,
        );
      } catch (error) {
        throw new Error(`${(error as Error).message}\n${await signedLogs()}`);
      }
      presentedAt.set(pod, Date.now());
    }
    for (const pod of SIGNED_PODS) {
      const old = first.get(pod)!;
      const now = renewed.get(pod)!;
      // The kubelet's new request for the same pod, made no sooner than the old certificate's
      // beginRefreshAt, answered by the operator with a certificate of the same names.
      expect(now.request).toBeDefined();
      expect({ pod, podUID: now.request!.spec.podUID }).toEqual({ pod, podUID: old.request!.spec.podUID });
      expect(now.request!.metadata.name).not.toBe(old.request!.metadata.name);
      const asked = Date.parse(now.request!.metadata.creationTimestamp);
      expect(asked).toBeGreaterThanOrEqual(Date.parse(old.request!.status!.beginRefreshAt!));
      expect(now.leaf.subjectAltName).toBe(old.leaf.subjectAltName);
      signedLog(
        `${pod}: issued, then the kubelet's refresh request ${secondsSince(issuedAt(old.request!), asked)} later ` +
          `(beginRefreshAt was ${secondsSince(issuedAt(old.request!), Date.parse(old.request!.status!.beginRefreshAt!))}), ` +
          `issued ${secondsSince(asked, issuedAt(now.request!))} after it, new file seen ${secondsSince(issuedAt(old.request!), now.seenAt)} ` +
          `and presented by Trino ${secondsSince(issuedAt(old.request!), presentedAt.get(pod)!)} after the first issue` +
          (now.seenAt - lookedFrom < 15_000 ? ' (the new file was there when the test first looked)' : ''),
      );
    }
    expect(await podStates()).toEqual(before);
    await signedQuery('client-refreshed');
  });

  it("restarts Trino, which reads its trust at start, when its class's CA rotates, and queries work afterwards", async () => {
    if (!signed.serving)
      throw new Error("Trino with the operator's certificates is not serving (the test before failed)");
    const { core } = adminClients();
    // The successor CA in the class's Secret, as the operator writes it when the CA has the overlap
    // left (rather than waiting most of a year), then a look at the class (a change to its bundle).
    const secretPath = `/api/v1/namespaces/${signed.operatorNamespace}/secrets/${caSecretName(signed.className)}`;
    const successor = await createCertificateAuthority({
      commonName: `keelson ${signed.className} successor`,
      lifetimeSeconds: 8760 * 3600,
    });
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    await signedClient.request('patch', 'PATCH', secretPath, 'secrets', {
      contentType: 'application/merge-patch+json',
      body: {
        metadata: { annotations: { [NEXT_CA_PUBLISHED_ANNOTATION]: new Date().toISOString() } },
        data: { 'next.crt': b64(successor.certificatePem), 'next.key': b64(successor.privateKeyPem) },
      },
    });
    const bundlesOfClass = async () =>
      (
        await signedClient.request<{
          items: { metadata: { name: string }; spec: { trustBundle: string } }[];
        }>('list', 'GET', BUNDLES, 'clustertrustbundles', {
          query: { labelSelector: `${TLS_CLASS_LABEL}=${signed.className}` },
        })
      ).items;
    const [firstBundle] = await bundlesOfClass();
    await signedClient.request(
      'patch',
      'PATCH',
      `${BUNDLES}/${firstBundle.metadata.name}`,
      'clustertrustbundles',
      {
        contentType: 'application/merge-patch+json',
        body: { metadata: { annotations: { 'keelson.dev/test': 'look' } } },
      },
    );
    const next = new X509Certificate(successor.certificatePem);
    await waitFor('the successor CA to be published', async () =>
      (await bundlesOfClass()).some(
        (b) => new X509Certificate(b.spec.trustBundle).fingerprint256 === next.fingerprint256,
      ),
    );
    const published = Date.now();

    // The operator evicts the coordinator and the worker, one at a time, each new pod trusting both CAs.
    const pods = async () =>
      (
        await core.listNamespacedPod({
          namespace: signed.namespace,
          labelSelector: 'app.kubernetes.io/instance=trino',
        })
      ).items;
    const uids = new Map((await pods()).map((p) => [p.metadata!.name!, p.metadata!.uid!]));
    const watch = rollWatch(SIGNED_PODS, uids);
    let worst = 0;
    try {
      await waitFor(
        'the coordinator and the worker to be restarted for the new CA and Ready',
        async () => {
          const now = await pods();
          worst = Math.max(worst, watch(now));
          return SIGNED_PODS.every((name) => {
            const pod = now.find((p) => p.metadata!.name === name);
            return (
              pod && pod.metadata!.uid !== uids.get(name) && isReady(pod) && !pod.metadata!.deletionTimestamp
            );
          });
        },
        15 * 60_000,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await signedLogs()}`);
    }
    signedLog(
      `both pods restarted for the new CA and Ready ${secondsSince(published, Date.now())} after it was published`,
    );
    expect(worst).toBe(1);
    const restarts = (await core.listNamespacedEvent({ namespace: signed.namespace })).items.filter(
      (e) => e.reason === 'CertificateRestart' && e.involvedObject.kind === 'TrinoCluster',
    );
    expect(restarts.map((e) => e.message).filter((m) => /new trust bundle/.test(m ?? ''))).toHaveLength(2);
    for (const pod of SIGNED_PODS) {
      const trusted = splitPem(await execInPod(signed.namespace, pod, 'cat /keelson/tls/internal/ca.crt'));
      expect({
        pod,
        trusted: trusted.length,
        next: trusted.some((c) => new X509Certificate(c).fingerprint256 === next.fingerprint256),
      }).toEqual({
        pod,
        trusted: 2,
        next: true,
      });
    }
    await signedQuery('client-rotated');
  });
});
