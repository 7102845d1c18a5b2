import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { classTrust, getPodJson, podDnsName } from '../lib/operator/pod-http';
import type { KubeObject } from '../lib/operator/informer';
import { createCertificateAuthority, issueCertificate } from '../lib/tls/certificates';

const POD = 'hdfs-namenodes-default-0.hdfs-namenodes-default-headless.data.svc.cluster.local';

/** Serves `/json`, `/text` and 404 otherwise. */
function answer(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.url === '/json') res.end(JSON.stringify({ beans: [{ State: 'active' }] }));
  else if (req.url === '/text') res.end('not json');
  else {
    res.statusCode = 404;
    res.end();
  }
}

async function listening(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A CA of keelson's own making and a leaf it signs for `dnsNames`, as the operator's signer issues them. */
async function pki(dnsNames: string[]) {
  const ca = await createCertificateAuthority({ commonName: 'keelson test', lifetimeSeconds: 86_400 });
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leaf = await issueCertificate({
    ca,
    subjectPublicKey: publicKey.export({ type: 'spki', format: 'der' }),
    dnsNames,
    lifetimeSeconds: 3600,
  });
  return {
    ca: ca.certificatePem,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    cert: leaf.certificatePem,
  };
}

describe("the operator's GET of a pod's JSON over HTTP", () => {
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    server = http.createServer(answer);
    base = `http://127.0.0.1:${await listening(server)}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  test('returns the answer, and names the URL and the cause of each failure', async () => {
    await expect(getPodJson(`${base}/json`)).resolves.toEqual({ beans: [{ State: 'active' }] });
    await expect(getPodJson(`${base}/missing`)).rejects.toThrow(`GET ${base}/missing: HTTP 404`);
    await expect(getPodJson(`${base}/text`)).rejects.toThrow(`GET ${base}/text: the answer is not JSON`);
    // A port nobody listens on (the server's, once closed, is not reused this soon).
    const closed = http.createServer();
    const port = await listening(closed);
    await new Promise((resolve) => closed.close(resolve));
    await expect(getPodJson(`http://127.0.0.1:${port}/jmx`)).rejects.toThrow(
      `GET http://127.0.0.1:${port}/jmx: ECONNREFUSED`,
    );
  });
});

describe("the operator's GET of a pod's JSON over HTTPS", () => {
  let server: https.Server;
  let base: string;
  let ca: string;
  beforeAll(async () => {
    const issued = await pki([POD]);
    ca = issued.ca;
    server = https.createServer({ key: issued.key, cert: issued.cert }, answer);
    base = `https://127.0.0.1:${await listening(server)}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  test("accepts a certificate of the class's CA that names the pod dialled by IP", async () => {
    await expect(getPodJson(`${base}/json`, { ca, serverName: POD })).resolves.toEqual({
      beans: [{ State: 'active' }],
    });
  });

  test('refuses a certificate that names another pod', async () => {
    const other = POD.replace('-0.', '-1.');
    await expect(getPodJson(`${base}/json`, { ca, serverName: other })).rejects.toThrow(
      `GET ${base}/json: ERR_TLS_CERT_ALTNAME_INVALID`,
    );
  });

  test('refuses a certificate of a CA the class does not hold', async () => {
    const stranger = (await pki([POD])).ca;
    await expect(getPodJson(`${base}/json`, { ca: stranger, serverName: POD })).rejects.toThrow(
      /^GET https:\/\/127\.0\.0\.1:\d+\/json: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/,
    );
  });

  test('reads no HTTPS answer without a CA to check it against', async () => {
    await expect(getPodJson(`${base}/json`)).rejects.toThrow(
      `GET ${base}/json: no CA to check the pod’s certificate against`,
    );
  });
});

describe("a pod's DNS name and a class's CAs", () => {
  const pod = (spec: object): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'nn-0', namespace: 'data' },
    spec,
  });

  test("names a pod under its StatefulSet's headless Service", () => {
    expect(podDnsName(pod({ hostname: 'nn-0', subdomain: 'nn-headless' }), 'cluster.local')).toBe(
      'nn-0.nn-headless.data.svc.cluster.local',
    );
    expect(podDnsName(pod({ subdomain: 'nn-headless' }), 'example.org')).toBe(
      'nn-0.nn-headless.data.svc.example.org',
    );
    expect(podDnsName(pod({}), 'cluster.local')).toBeUndefined();
  });

  test("joins the trust bundles of the class's signer only", () => {
    const bundle = (name: string, signerName: string, trustBundle: string, deleted = false): KubeObject => ({
      apiVersion: 'certificates.k8s.io/v1beta1',
      kind: 'ClusterTrustBundle',
      metadata: { name, ...(deleted ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
      spec: { signerName, trustBundle },
    });
    const bundles = [
      bundle('a', 'keelson.dev/hdfs', 'CA-ONE\n'),
      bundle('b', 'keelson.dev/hdfs', 'CA-TWO'),
      bundle('c', 'keelson.dev/kafka', 'CA-OTHER'),
      bundle('d', 'keelson.dev/hdfs', 'CA-GOING', true),
    ];
    expect(classTrust(bundles, 'hdfs')).toBe('CA-ONE\nCA-TWO\n');
    expect(classTrust(bundles, 'trino')).toBeUndefined();
  });
});
