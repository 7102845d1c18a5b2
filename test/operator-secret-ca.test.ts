/**
 * A `secretCa` TlsClass's CA, as the signer reads it from the user's Secret
 * (lib/operator/secret-ca.ts): which keys it reads, which certificate signs, what is trusted, and
 * every CA it rejects, with a reason and a message naming the Secret and the rule and never the key.
 * The CAs are made with openssl, as a user would make theirs.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SECRET_CA_REASONS, secretCaOf, SecretCaProblem } from '../lib/operator/secret-ca';
import { createCertificateAuthority, issueCertificate } from '../lib/tls/certificates';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-secret-ca-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
const read = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8');

/** A CA made the way a user would: `openssl req -x509` (CA:TRUE), an EC or RSA key. */
function userCa(name: string, keyArgs: string[] = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']) {
  openssl('req', '-x509', ...keyArgs, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`);
  return { crt: read(`${name}.crt`), key: read(`${name}.key`) };
}
openssl('version');

const ref = { secretName: 'corp-ca', secretNamespace: 'security' };
const b64 = (text: string) => Buffer.from(text).toString('base64');
const data = (files: Record<string, string>) =>
  Object.fromEntries(Object.entries(files).map(([k, v]) => [k, b64(v)]));

/** The problem `secretCaOf` throws for `files`. */
function problem(files: Record<string, string>, now?: Date): SecretCaProblem {
  try {
    secretCaOf(ref, data(files), now);
  } catch (error) {
    if (error instanceof SecretCaProblem) return error;
    throw error;
  }
  throw new Error('the CA was accepted');
}

/** Issues a leaf for a new P-256 key from `ca`, as the signer does. */
async function leafFrom(ca: { certificatePem: string; privateKeyPem: string }, now?: Date) {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return issueCertificate({
    ca,
    subjectPublicKey: publicKey.export({ type: 'spki', format: 'der' }),
    dnsNames: ['zk-servers.data.svc'],
    lifetimeSeconds: 3600,
    now,
  });
}

describe("a secretCa class's CA from the user's Secret", () => {
  const subj = ['-subj', '/CN=Corp Root CA', '-days', '30'];

  it('signs with ca.crt and ca.key, and trusts every CA certificate of ca.crt (an old one kept beside the new)', async () => {
    const old = userCa('old', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', ...subj]);
    const current = userCa('current', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', ...subj]);
    const ca = secretCaOf(ref, data({ 'ca.crt': old.crt + current.crt, 'ca.key': current.key }));
    expect(ca.keys).toEqual(['ca.crt', 'ca.key']);
    expect(new X509Certificate(ca.signing.certificatePem).fingerprint256).toBe(
      new X509Certificate(current.crt).fingerprint256,
    );
    expect(ca.trustBundlePem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(ca.trustBundlePem).not.toContain('PRIVATE KEY');
    expect(ca.intermediatePem).toBe('');
    const leaf = new X509Certificate((await leafFrom(ca.signing)).certificatePem);
    expect(leaf.checkIssued(new X509Certificate(current.crt))).toBe(true);
    expect(leaf.verify(new X509Certificate(current.crt).publicKey)).toBe(true);
  });

  it('reads a kubernetes.io/tls Secret (tls.crt, tls.key) with an RSA key in PKCS#1', () => {
    openssl('genrsa', '-traditional', '-out', 'rsa.key', '2048');
    openssl('req', '-x509', '-key', 'rsa.key', '-out', 'rsa.crt', ...subj);
    expect(read('rsa.key')).toContain('BEGIN RSA PRIVATE KEY');
    const ca = secretCaOf(ref, data({ 'tls.crt': read('rsa.crt'), 'tls.key': read('rsa.key') }));
    expect(ca.keys).toEqual(['tls.crt', 'tls.key']);
    expect(ca.trustBundlePem.trim()).toBe(new X509Certificate(read('rsa.crt')).toString().trim());
  });

  it("signs with cert-manager's intermediate CA (tls.crt, tls.key), trusts its issuer in ca.crt and chains the intermediate", async () => {
    const root = userCa('root', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', ...subj]);
    openssl(
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'mid.key',
      '-out',
      'mid.csr',
      '-subj',
      '/CN=Corp Issuing CA',
    );
    fs.writeFileSync(
      path.join(dir, 'mid.ext'),
      'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n',
    );
    openssl(
      'x509',
      '-req',
      '-in',
      'mid.csr',
      '-CA',
      'root.crt',
      '-CAkey',
      'root.key',
      '-days',
      '10',
      '-extfile',
      'mid.ext',
      '-out',
      'mid.crt',
    );
    const ca = secretCaOf(
      ref,
      data({ 'tls.crt': read('mid.crt'), 'tls.key': read('mid.key'), 'ca.crt': root.crt }),
    );
    expect(ca.trustBundlePem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(new X509Certificate(ca.intermediatePem).subject).toContain('Corp Issuing CA');
    // A client trusting only the root verifies leaf + intermediate.
    const leaf = await leafFrom(ca.signing);
    fs.writeFileSync(path.join(dir, 'leaf.crt'), leaf.certificatePem);
    fs.writeFileSync(path.join(dir, 'chain.crt'), ca.intermediatePem);
    expect(
      openssl('verify', '-CAfile', 'root.crt', '-untrusted', 'chain.crt', 'leaf.crt').toString(),
    ).toContain('leaf.crt: OK');
  });

  it('rejects a Secret with no CA key, or a key without its certificate', () => {
    const ca = userCa('lonely', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', ...subj]);
    const none = problem({ 'ca.crt': ca.crt });
    expect(none.reason).toBe(SECRET_CA_REASONS.incomplete);
    expect(none.message).toBe(
      'the CA Secret security/corp-ca has no CA private key: keelson reads ca.crt and ca.key, or tls.crt and tls.key (a kubernetes.io/tls Secret), all PEM',
    );
    const noCertificate = problem({ 'ca.key': ca.key });
    expect(noCertificate.reason).toBe(SECRET_CA_REASONS.incomplete);
    expect(noCertificate.message).toContain('has ca.key but no ca.crt');
    const garbage = problem({ 'ca.crt': 'not a certificate', 'ca.key': ca.key });
    expect(garbage.reason).toBe(SECRET_CA_REASONS.invalidCertificate);
    expect(garbage.message).toContain('security/corp-ca key ca.crt holds no PEM certificate');
  });

  it('rejects a key that is no PEM key, without quoting it', () => {
    const ca = userCa('k', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', ...subj]);
    const broken = ca.key.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!');
    const p = problem({ 'ca.crt': ca.crt, 'ca.key': broken });
    expect(p.reason).toBe(SECRET_CA_REASONS.invalidKey);
    expect(p.message).toBe(
      'the CA Secret security/corp-ca key ca.key is not an unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1)',
    );
  });

  it('rejects a key that does not belong to the certificate, naming both keys and never the key', () => {
    const a = userCa('a', [
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-subj',
      '/CN=A',
      '-days',
      '3',
    ]);
    const b = userCa('b', [
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-subj',
      '/CN=B',
      '-days',
      '3',
    ]);
    const p = problem({ 'ca.crt': a.crt, 'ca.key': b.key });
    expect(p.reason).toBe(SECRET_CA_REASONS.keyMismatch);
    expect(p.message).toBe(
      "the CA Secret security/corp-ca: the private key in ca.key does not belong to any certificate in ca.crt (CN=A); put the CA's certificate and its own key in the Secret",
    );
    const body = b.key.split('\n').filter((l) => l && !l.startsWith('-----'));
    for (const line of body) expect(p.message).not.toContain(line);
  });

  it('rejects a certificate that is not a CA', async () => {
    const ca = await createCertificateAuthority({ commonName: 'issuer', lifetimeSeconds: 86_400 });
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const leaf = await issueCertificate({
      ca,
      subjectPublicKey: publicKey.export({ type: 'spki', format: 'der' }),
      dnsNames: ['not-a-ca.example'],
      lifetimeSeconds: 7200,
    });
    const p = problem({
      'tls.crt': leaf.certificatePem,
      'tls.key': privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    expect(p.reason).toBe(SECRET_CA_REASONS.notCa);
    expect(p.message).toBe(
      'the certificate CN=not-a-ca.example in the CA Secret security/corp-ca key tls.crt is not a CA (its basicConstraints do not say CA:TRUE); keelson signs only with a CA certificate',
    );
  });

  it('rejects an expired CA, one expiring within the shortest certificate lifetime, and one not valid yet', async () => {
    const made = new Date('2026-01-01T00:00:00Z');
    const ca = await createCertificateAuthority({
      commonName: 'short',
      lifetimeSeconds: 4 * 3600,
      now: made,
    });
    const files = { 'ca.crt': ca.certificatePem, 'ca.key': ca.privateKeyPem };
    const at = (ms: number) => new Date(ca.notAfter.getTime() + ms);
    const expired = problem(files, at(1000));
    expect(expired.reason).toBe(SECRET_CA_REASONS.expired);
    expect(expired.message).toBe(
      `the certificate CN=short in the CA Secret security/corp-ca key ca.crt expired at ${ca.notAfter.toISOString()}; keelson signs only with a CA valid for at least 1h more: put a new CA in the Secret`,
    );
    expect(problem(files, at(-30 * 60_000)).message).toContain(`expires at ${ca.notAfter.toISOString()}`);
    // An hour (less the minute a certificate starts early) before its end, it still signs: the
    // rule is exactly issueCertificate's.
    const last = at(-59 * 60_000);
    await expect(leafFrom(secretCaOf(ref, data(files), last).signing, last)).resolves.toBeDefined();
    await expect(leafFrom(ca, at(-59 * 60_000 + 1000))).rejects.toThrow('too soon');
    const early = problem(files, new Date(made.getTime() - 3600_000));
    expect(early.reason).toBe(SECRET_CA_REASONS.notYetValid);
    expect(early.message).toContain('is not valid before');
  });

  it('rejects a CA key keelson cannot sign with', () => {
    openssl('req', '-x509', '-newkey', 'ed25519', '-nodes', '-keyout', 'ed.key', '-out', 'ed.crt', ...subj);
    const p = problem({ 'ca.crt': read('ed.crt'), 'ca.key': read('ed.key') });
    expect(p.reason).toBe(SECRET_CA_REASONS.unsupportedKey);
    expect(p.message).toContain('key ca.key is a ed25519 key');
  });
});
