/**
 * A `secretCa` TlsClass on the real node: a CA the user keeps in a Secret of their own namespace,
 * which keelson's operator (its own ServiceAccount, with the Role `keelson deploy --ca-secret`
 * writes) reads when it signs and never writes. Proven:
 * - each way the Secret cannot sign — missing, no key, a key of another certificate, a certificate
 *   that is no CA, an expired CA, and a Secret the operator's RBAC does not let it read — fails the
 *   kubelet's request with its reason and a message naming the Secret and the rule (the pods ask
 *   together, one class each), and records one Warning Event on the TlsClass (in `default`, where
 *   the test lets the operator write Events as an operator of the whole cluster may);
 * - a stacklet's pod gets a certificate the user's CA signed (verified against the user's ca.crt),
 *   the class's ClusterTrustBundle holds the user's certificate(s), and once the user replaces the
 *   CA (keeping the old certificate in ca.crt), a new pod's certificate comes from the new CA and the
 *   trust bundle holds both; the user's Secret is never changed by the operator;
 * - none of the keys (the user's CAs', the pods') appears in the operator's log, Events or statuses.
 * Failures print the operator's log, the requests and the kubelet's log.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import type * as k8s from '@kubernetes/client-node';
import { KubeClient } from '../../lib/operator/client';
import { SECRET_CA_REASONS } from '../../lib/operator/secret-ca';
import { createCertificateAuthority, issueCertificate } from '../../lib/tls/certificates';
import { tlsSignerName } from '../../lib/tls/pod-tls';
import { createTestNamespace } from '../controlplane/cluster';
import { BEACON } from '../example-product/beacon';
import { installCrds, RESTRICTED } from './admission';
import {
  createCertificateBeacon,
  TLS_SERVER_DIR,
  noKeyLeaks,
  operatorIdentity,
  privateKeyLeaks,
  removeOperatorIdentity,
  startOperator,
  tail,
  type OperatorProcess,
} from './operator-support';
import { clientPod, execInPod, realNode, waitPodsReady } from './real-node-support';
import { adminClients, adminKubeConfig, uniqueName, waitFor } from './support';

jest.setTimeout(15 * 60_000);

const CERTIFICATES = '/apis/certificates.k8s.io/v1beta1';

interface PodCertificateRequest {
  metadata: { name: string };
  spec: { podName: string; signerName: string };
  status?: {
    conditions?: { type: string; status: string; reason: string; message: string }[];
    certificateChain?: string;
  };
}

/** keelson's mount contract for server TLS, from `className`'s signer. */
function tlsVolume(className: string): k8s.V1Volume {
  const signerName = tlsSignerName(className);
  return {
    name: 'tls-server',
    projected: {
      sources: [
        {
          podCertificate: {
            signerName,
            keyType: 'ECDSAP256',
            credentialBundlePath: 'tls.pem',
            keyPath: 'tls.key',
            certificateChainPath: 'tls.crt',
            maxExpirationSeconds: 3600,
          },
        },
        {
          clusterTrustBundle: {
            signerName,
            labelSelector: { matchLabels: { 'keelson.dev/tls-class': className } },
            path: 'ca.crt',
          },
        },
      ],
    },
  };
}

const client = new KubeClient(adminKubeConfig());
const log = (message: string) => process.stdout.write(`secretCa: ${message}\n`);
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe("a secretCa TlsClass: keelson's operator signs with the user's CA, on the real node", () => {
  const kc = adminKubeConfig();
  const { core } = adminClients();
  const prefix = uniqueName('byo');
  let operatorNamespace = '';
  let namespace = '';
  let caNamespace = '';
  let operator: OperatorProcess | undefined;
  const classes: string[] = [];
  /** Every private key the test made or read, for the scan. */
  const keys: string[] = [];

  /** The Secrets the operator is granted (all but `ungranted`). */
  const SECRETS = ['missing', 'no-key', 'mismatch', 'not-ca', 'expired', 'good'] as const;

  beforeAll(async () => {
    await realNode();
    await installCrds([BEACON], kc);
    operatorNamespace = await createTestNamespace(kc, uniqueName('byo-op'));
    namespace = await createTestNamespace(kc, uniqueName('byo'), RESTRICTED);
    caNamespace = await createTestNamespace(kc, uniqueName('byo-ca'));
    const kubeconfig = await operatorIdentity(
      operatorNamespace,
      kc,
      [BEACON],
      [namespace],
      SECRETS.map((name) => ({ namespace: caNamespace, name })),
    );
    // Events of cluster-scoped objects (the TlsClass) live in `default`; an operator of the whole
    // cluster may write them there, this one (watching one namespace) is let to for the test.
    const rbac = { apiVersion: 'rbac.authorization.k8s.io/v1' };
    const eventsRole = `keelson-events-${operatorNamespace}`;
    await client.request(
      'create',
      'POST',
      '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles',
      'roles',
      {
        body: {
          ...rbac,
          kind: 'Role',
          metadata: { name: eventsRole },
          rules: [{ apiGroups: [''], resources: ['events'], verbs: ['create'] }],
        },
      },
    );
    await client.request(
      'create',
      'POST',
      '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings',
      'rolebindings',
      {
        body: {
          ...rbac,
          kind: 'RoleBinding',
          metadata: { name: eventsRole },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: eventsRole },
          subjects: [
            {
              kind: 'ServiceAccount',
              name: `keelson-operator-${operatorNamespace}`,
              namespace: operatorNamespace,
            },
          ],
        },
      },
    );
    operator = await startOperator({
      namespaces: [namespace],
      kubeconfig,
      env: { POD_NAMESPACE: operatorNamespace },
    });
  });

  afterAll(async () => {
    await operator?.stop();
    for (const name of classes)
      await client
        .request('delete', 'DELETE', `/apis/keelson.dev/v1alpha1/tlsclasses/${name}`, 'tlsclasses')
        .catch(() => undefined);
    if (operatorNamespace) {
      await removeOperatorIdentity(operatorNamespace, kc);
      for (const kind of ['roles', 'rolebindings'])
        await client
          .request(
            'delete',
            'DELETE',
            `/apis/rbac.authorization.k8s.io/v1/namespaces/default/${kind}/keelson-events-${operatorNamespace}`,
            kind,
          )
          .catch(() => undefined);
    }
    for (const name of [namespace, operatorNamespace, caNamespace].filter(Boolean))
      await core.deleteNamespace({ name }).catch(() => undefined);
  });

  const requests = async () =>
    (
      await client.request<{ items: PodCertificateRequest[] }>(
        'list',
        'GET',
        `${CERTIFICATES}/namespaces/${namespace}/podcertificaterequests`,
        'podcertificaterequests',
      )
    ).items;

  async function diagnostics(): Promise<string> {
    const node = await realNode();
    const rs = await requests().catch((e: Error) => e.message);
    return [
      `--- operator log (${operator?.logFile}):\n${tail(operator?.logFile ?? '', 60)}`,
      `--- requests:\n${JSON.stringify(
        typeof rs === 'string'
          ? rs
          : rs.map((r) => ({ pod: r.spec.podName, conditions: r.status?.conditions })),
        null,
        1,
      )}`,
      `--- kubelet (last lines):\n${tail(node.logs.kubelet, 30)}`,
    ].join('\n');
  }

  async function explained<T>(step: Promise<T>): Promise<T> {
    try {
      return await step;
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await diagnostics()}`, { cause: error });
    }
  }

  async function createClass(name: string, secretName: string): Promise<void> {
    classes.push(name);
    await client.request('create', 'POST', '/apis/keelson.dev/v1alpha1/tlsclasses', 'tlsclasses', {
      body: {
        apiVersion: 'keelson.dev/v1alpha1',
        kind: 'TlsClass',
        metadata: { name },
        spec: { secretCa: { secretName, secretNamespace: caNamespace, certificateLifetime: '1h' } },
      },
    });
  }

  async function writeSecret(name: string, files: Record<string, string>, type = 'Opaque'): Promise<void> {
    const body = {
      metadata: { name },
      type,
      data: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, b64(v)])),
    };
    await core
      .replaceNamespacedSecret({ name, namespace: caNamespace, body })
      .catch(() => core.createNamespacedSecret({ namespace: caNamespace, body }));
  }

  const fingerprints = (pem: string) =>
    (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [])
      .map((c) => new X509Certificate(c).fingerprint256)
      .sort();

  const trustBundles = async (className: string) =>
    (
      await client.request<{ items: { spec: { trustBundle: string } }[] }>(
        'list',
        'GET',
        `${CERTIFICATES}/clustertrustbundles`,
        'clustertrustbundles',
        { query: { labelSelector: `keelson.dev/tls-class=${className}` } },
      )
    ).items.map((b) => b.spec.trustBundle);

  it('fails the request of every class whose Secret cannot sign, with the reason and a message naming the Secret and the rule', async () => {
    const node = await realNode();
    const other = await createCertificateAuthority({ commonName: 'other', lifetimeSeconds: 86_400 });
    const ca = await createCertificateAuthority({ commonName: 'corp', lifetimeSeconds: 86_400 });
    const old = await createCertificateAuthority({
      commonName: 'old',
      lifetimeSeconds: 3600,
      now: new Date(Date.now() - 3 * 3600_000),
    });
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const leaf = await issueCertificate({
      ca,
      subjectPublicKey: publicKey.export({ type: 'spki', format: 'der' }),
      dnsNames: ['leaf.example'],
      lifetimeSeconds: 7200,
    });
    const leafKey = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    keys.push(other.privateKeyPem, ca.privateKeyPem, old.privateKeyPem, leafKey);
    await writeSecret('no-key', { 'ca.crt': ca.certificatePem });
    await writeSecret('mismatch', { 'ca.crt': ca.certificatePem, 'ca.key': other.privateKeyPem });
    await writeSecret('not-ca', { 'tls.crt': leaf.certificatePem, 'tls.key': leafKey }, 'kubernetes.io/tls');
    await writeSecret('expired', { 'ca.crt': old.certificatePem, 'ca.key': old.privateKeyPem });
    // Granted to nobody: the operator may not read it.
    await writeSecret('ungranted', { 'ca.crt': ca.certificatePem, 'ca.key': ca.privateKeyPem });
    const where = (secret: string) => `the CA Secret ${caNamespace}/${secret}`;
    const cases: [secret: string, reason: string, message: string][] = [
      ['missing', SECRET_CA_REASONS.notFound, `${where('missing')} (spec.secretCa) does not exist`],
      ['no-key', SECRET_CA_REASONS.incomplete, `${where('no-key')} has no CA private key`],
      [
        'mismatch',
        SECRET_CA_REASONS.keyMismatch,
        `${where('mismatch')}: the private key in ca.key does not belong to any certificate in ca.crt (CN=corp)`,
      ],
      ['not-ca', SECRET_CA_REASONS.notCa, `in ${where('not-ca')} key tls.crt is not a CA`],
      ['expired', SECRET_CA_REASONS.expired, `in ${where('expired')} key ca.crt expired at`],
      [
        'ungranted',
        SECRET_CA_REASONS.forbidden,
        `the operator may not read ${where('ungranted')} (forbidden): grant the operator's ServiceAccount get on ` +
          `secrets/ungranted in ${caNamespace} (\`keelson deploy --ca-secret ${caNamespace}/ungranted\``,
      ],
    ];
    const started = Date.now();
    await Promise.all(
      cases.map(async ([secret]) => {
        await createClass(`${prefix}-${secret}`, secret);
        const pod = clientPod({
          name: `asks-${secret}`,
          image: node.busyboxImage,
          command: ['/bin/sh', '-c', 'sleep 86400'],
          volumes: [{ volume: tlsVolume(`${prefix}-${secret}`), mountPath: TLS_SERVER_DIR }],
        });
        pod.spec!.terminationGracePeriodSeconds = 0;
        await core.createNamespacedPod({ namespace, body: pod });
      }),
    );
    await explained(
      waitFor(
        'every request to be answered',
        async () => {
          const answered = (await requests()).filter((r) => (r.status?.conditions ?? []).length > 0);
          return cases.every(([secret]) => answered.some((r) => r.spec.podName === `asks-${secret}`));
        },
        3 * 60_000,
      ),
    );
    log(`six requests answered ${((Date.now() - started) / 1000).toFixed(1)} s after the pods were created`);
    const all = await requests();
    for (const [secret, reason, message] of cases) {
      const request = all.find((r) => r.spec.podName === `asks-${secret}`)!;
      const [condition] = request.status!.conditions!;
      expect({ secret, type: condition.type, reason: condition.reason }).toEqual({
        secret,
        type: 'Failed',
        reason,
      });
      expect({ secret, message: condition.message }).toEqual({
        secret,
        message: expect.stringContaining(message),
      });
      expect(request.status).not.toHaveProperty('certificateChain');
    }
    // One Warning Event on each class, however often its Secret was read.
    const classEvents = async () =>
      (await core.listNamespacedEvent({ namespace: 'default' })).items.filter(
        (e) => e.involvedObject.kind === 'TlsClass' && e.involvedObject.name?.startsWith(`${prefix}-`),
      );
    await explained(
      waitFor('a Warning Event on every class', async () => (await classEvents()).length >= cases.length),
    );
    const warnings = await classEvents();
    for (const [secret, reason, message] of cases) {
      const mine = warnings.filter((e) => e.involvedObject.name === `${prefix}-${secret}`);
      expect({ secret, events: mine.map((e) => [e.type, e.reason, e.involvedObject.namespace]) }).toEqual({
        secret,
        events: [['Warning', reason, undefined]],
      });
      expect(mine[0].message).toContain(message);
    }
    // Nothing was published for classes that cannot sign, and no Secret was changed.
    for (const [secret] of cases) expect(await trustBundles(`${prefix}-${secret}`)).toEqual([]);
    const mismatch = await core.readNamespacedSecret({ name: 'mismatch', namespace: caNamespace });
    expect(Object.keys(mismatch.data ?? {}).sort()).toEqual(['ca.crt', 'ca.key']);
    expect(mismatch.metadata?.ownerReferences).toBeUndefined();
  });

  it("signs a stacklet's pod with the user's CA, and with the new CA once the user replaces it; the trust bundle follows", async () => {
    const node = await realNode();
    const className = `${prefix}-good`;
    const first = await createCertificateAuthority({ commonName: 'corp first', lifetimeSeconds: 86_400 });
    keys.push(first.privateKeyPem);
    await writeSecret('good', { 'ca.crt': first.certificatePem, 'ca.key': first.privateKeyPem });
    await createClass(className, 'good');
    await createCertificateBeacon(kc, namespace, 'byo', {
      image: node.busyboxImage,
      volume: tlsVolume(className),
    });
    const pod = 'byo-servers-default-0';
    const started = Date.now();
    await explained(
      waitFor('the pod to exist', async () =>
        (await core.listNamespacedPod({ namespace })).items.some((p) => p.metadata?.name === pod),
      ),
    );
    await explained(waitPodsReady(namespace, [pod], 3 * 60_000, diagnostics));
    log(
      `pod Ready with the user's CA's certificate ${((Date.now() - started) / 1000).toFixed(1)} s after the stacklet`,
    );

    /** The pod's certificate, trust and key, checked against `ca` (the user's certificate). */
    const checkPod = async (ca: string, trusted: string[]) => {
      const files = await explained(
        execInPod(
          namespace,
          pod,
          `cat ${TLS_SERVER_DIR}/tls.crt; echo ===; cat ${TLS_SERVER_DIR}/ca.crt; echo ===; cat ${TLS_SERVER_DIR}/tls.key`,
        ),
      );
      const [chain, trust, key] = files.split('===\n');
      keys.push(key);
      const leaf = new X509Certificate(chain);
      const issuer = new X509Certificate(ca);
      expect(leaf.checkIssued(issuer)).toBe(true);
      expect(leaf.verify(issuer.publicKey)).toBe(true);
      expect(
        leaf.checkHost(`${pod}.byo-servers-default-headless.${namespace}.svc.cluster.local`),
      ).toBeDefined();
      // The pod trusts what the user's ca.crt holds, and nothing else.
      expect(fingerprints(trust)).toEqual(fingerprints(trusted.join('')));
    };
    await checkPod(first.certificatePem, [first.certificatePem]);
    expect((await trustBundles(className)).map(fingerprints)).toEqual([fingerprints(first.certificatePem)]);

    // The user replaces the CA, keeping the old certificate trusted until its certificates expire.
    const second = await createCertificateAuthority({ commonName: 'corp second', lifetimeSeconds: 86_400 });
    keys.push(second.privateKeyPem);
    await writeSecret('good', {
      'ca.crt': first.certificatePem + second.certificatePem,
      'ca.key': second.privateKeyPem,
    });
    const replaced = Date.now();
    const oldUid = (await core.readNamespacedPod({ name: pod, namespace })).metadata!.uid;
    await core.deleteNamespacedPod({ name: pod, namespace, gracePeriodSeconds: 0 });
    await explained(
      waitFor('the new pod to exist', async () => {
        const read = await core.readNamespacedPod({ name: pod, namespace }).catch(() => undefined);
        return read !== undefined && read.metadata!.uid !== oldUid;
      }),
    );
    await explained(waitPodsReady(namespace, [pod], 3 * 60_000, diagnostics));
    log(
      `new pod Ready with the new CA's certificate ${((Date.now() - replaced) / 1000).toFixed(1)} s after the Secret changed`,
    );
    expect((await trustBundles(className)).map(fingerprints)).toEqual([
      fingerprints(first.certificatePem + second.certificatePem),
    ]);
    await checkPod(second.certificatePem, [first.certificatePem, second.certificatePem]);
    // The operator wrote nothing to the user's Secret.
    const secret = await core.readNamespacedSecret({ name: 'good', namespace: caNamespace });
    expect(Buffer.from(secret.data!['ca.key'], 'base64').toString()).toBe(second.privateKeyPem);
    expect(secret.metadata?.ownerReferences).toBeUndefined();
    expect(secret.metadata?.managedFields?.map((f) => f.manager)).not.toContain('keelson');
  });

  it("keeps the user's CA keys and the pods' keys out of the operator's log, Events and statuses", async () => {
    expect(keys.length).toBe(8);
    const events = async (ns: string) =>
      JSON.stringify((await core.listNamespacedEvent({ namespace: ns })).items);
    const texts: [string, string][] = [
      ['the operator log', fs.readFileSync(operator!.logFile, 'utf8')],
      [`Events in ${namespace}`, await events(namespace)],
      [`Events in ${operatorNamespace}`, await events(operatorNamespace)],
      ['Events in default', await events('default')],
      ['the requests', JSON.stringify(await requests())],
      ['the trust bundles', JSON.stringify(await Promise.all(classes.map(trustBundles)))],
    ];
    expect(texts[0][1]).toContain('pod certificate issued');
    expect(texts[0][1]).toContain('pod certificate failed');
    expect(privateKeyLeaks(keys, texts)).toEqual(noKeyLeaks(texts));
  });
});
