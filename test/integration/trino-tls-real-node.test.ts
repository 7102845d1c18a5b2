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
 * - the CLI trusting another CA is refused; plain HTTP on the port gets no answer.
 * Each failure prints Trino's logs.
 */
import type * as k8s from '@kubernetes/client-node';
import { Chart, Testing } from 'cdk8s';
import { TrinoCatalog, TrinoCluster, TRINO_DISCOVERY_KEY, TRINO_TLS_CLASS_KEY } from '../../constructs/trino';
import { trinoImageRecipe } from '../../constructs/trino/image';
import { tlsVolumeName } from '../../lib';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import {
  buildImageOnRealNode,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  waitPodsReady,
} from './real-node-support';
import { adminClients, adminKubeConfig, useTestNamespace } from './support';
import { podDnsNames, TestPki } from './test-pki';

// A cold machine builds the node and a ~1 GiB image first; Trino starts in minutes on 2 busy cores.
jest.setTimeout(40 * 60_000);

const VERSION = '476';
const COORDINATOR = 'trino-coordinators-default-0';
const WORKER = 'trino-workers-default-0';

describe('Trino with TLS on the real node', () => {
  const ns = useTestNamespace('trino-tls', RESTRICTED);
  const client = new KubeClient(adminKubeConfig());
  const { core } = adminClients();
  const ca = new TestPki('keelson test CA');
  const otherCa = new TestPki('keelson test other CA');
  afterAll(() => {
    ca.remove();
    otherCa.remove();
  });

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
        coordinators: { config: small, ...tlsVolumes('coordinators') },
        workers: { config: small, ...tlsVolumes('workers') },
      },
      // The class exists as far as the build is concerned; its certificates are the test's (above).
      { tlsClasses: [{ name: 'tls' }] },
    );
    trino.addAllowedClient({ podSelector: { matchLabels: { app: 'trino-client' } } });
    const service = `trino-coordinators.${ns.name}.svc.cluster.local`;
    const server = `https://${service}:8080`;
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
        stringData: ca.issue(
          'coordinator',
          podDnsNames(COORDINATOR, 'trino-coordinators-default-headless', ns.name, ['trino-coordinators']),
        ),
      },
      {
        metadata: { name: 'trino-workers-tls' },
        stringData: ca.issue('worker', podDnsNames(WORKER, 'trino-workers-default-headless', ns.name, [])),
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
      // The coordinator is Ready before the worker has announced itself: wait for it (2 minutes).
      `for i in $(seq 60); do nodes=$(${cli('ca.crt')} --execute "SELECT http_uri FROM system.runtime.nodes WHERE coordinator = false AND state = 'active'" 2>/tmp/err); ` +
      '[ -n "$nodes" ] && break; sleep 2; done; echo "nodes=$nodes"; cat /tmp/err | grep -v WARNING; ' +
      `${cli('ca.crt')} --execute "SELECT count(*) FROM tpch.tiny.nation" 2>&1 | sed 's/^/nation=/'; ` +
      `${cli('other-ca.crt')} --execute "SELECT 1" >/tmp/out 2>&1; echo "other-ca-exit=$?"; grep -v WARNING /tmp/out | head -3; ` +
      `curl -s --cacert /trust/ca.crt ${server}/v1/info >/tmp/out; echo "curl-exit=$? $(head -c 300 /tmp/out)"; ` +
      `ip=$(getent hosts ${service}); ip=\${ip%% *}; ` +
      `curl -s --cacert /trust/ca.crt --resolve not-in-certificate.example:8080:$ip https://not-in-certificate.example:8080/v1/info -o /dev/null -sS 2>/tmp/out; echo "wrong-name-exit=$? $(cat /tmp/out)"; ` +
      `curl -sS http://${service}:8080/v1/info >/tmp/out 2>&1; echo "http-exit=$? $(head -c 200 /tmp/out)"`;
    const out = await runClientPod(
      ns.name,
      {
        name: 'client',
        image: `docker.io/trinodb/trino:${VERSION}`,
        command: ['/bin/bash', '-c', script],
        labels: { app: 'trino-client' },
        env: [{ name: 'JAVA_TOOL_OPTIONS', value: '-Xmx128m' }],
        volumes: [
          { volume: { name: 'trust', secret: { secretName: 'trino-client-trust' } }, mountPath: '/trust' },
        ],
      },
      logs,
      8 * 60_000,
    );
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
  });
});
