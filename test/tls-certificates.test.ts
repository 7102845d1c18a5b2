import { execFileSync, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import {
  CLOCK_SKEW_SECONDS,
  createCertificateAuthority,
  issueCertificate,
  publicKeyOfCertificationRequest,
  type CertificateAuthority,
} from '../lib/tls';

// Certificates are checked by two verifiers keelson does not write: Node's X509Certificate
// (OpenSSL inside Node) and the `openssl` command, and by a TLS handshake.

const NAMES = [
  'web-0.web-headless.data.svc.cluster.local',
  'web-0.web-headless.data.svc',
  'web.data.svc.cluster.local',
  'web',
];

let dir: string;
let ca: CertificateAuthority;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-tls-'));
  ca = await createCertificateAuthority({ commonName: 'keelson test', lifetimeSeconds: 30 * 86400 });
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

function openssl(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  return { status: result.status, output: result.stdout + result.stderr };
}

function text(certificatePem: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-text'], { input: certificatePem, encoding: 'utf8' });
}

function newKey(): { privateKey: crypto.KeyObject; spki: Buffer } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, spki: publicKey.export({ type: 'spki', format: 'der' }) };
}

describe('createCertificateAuthority', () => {
  test('makes a self-signed ECDSA P-256 CA with a PKCS#8 key, valid from a minute ago', async () => {
    const now = new Date('2026-12-01T12:00:00.500Z');
    const made = await createCertificateAuthority({ commonName: 'keelson tls', lifetimeSeconds: 86400, now });
    const certificate = new crypto.X509Certificate(made.certificatePem);
    expect(certificate.ca).toBe(true);
    expect(certificate.subject).toBe('CN=keelson tls');
    expect(certificate.checkIssued(certificate)).toBe(true);
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(made.notBefore.toISOString()).toBe('2026-12-01T11:59:00.000Z');
    expect(made.notAfter.toISOString()).toBe('2026-12-02T11:59:00.000Z');
    expect(new Date(certificate.validFrom)).toEqual(made.notBefore);
    expect(new Date(certificate.validTo)).toEqual(made.notAfter);

    expect(made.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const key = crypto.createPrivateKey(made.privateKeyPem);
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(crypto.createPublicKey(key).export({ type: 'spki', format: 'der' })).toEqual(
      certificate.publicKey.export({ type: 'spki', format: 'der' }),
    );

    const out = text(made.certificatePem);
    expect(out).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE/);
    expect(out).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(out).toContain('X509v3 Subject Key Identifier');
    expect(out).toContain('ecdsa-with-SHA256');
  });

  test('gives every CA its own key and a random serial number', async () => {
    const other = await createCertificateAuthority({ commonName: 'keelson test', lifetimeSeconds: 3600 });
    const [a, b] = [ca, other].map((c) => new crypto.X509Certificate(c.certificatePem));
    expect(a.serialNumber).not.toBe(b.serialNumber);
    expect(a.serialNumber).toMatch(/^[0-7]?[0-9A-F]{31}$/);
    expect(a.publicKey.export({ type: 'spki', format: 'der' })).not.toEqual(
      b.publicKey.export({ type: 'spki', format: 'der' }),
    );
  });

  test('rejects a lifetime below 3600 s', async () => {
    await expect(createCertificateAuthority({ commonName: 'x', lifetimeSeconds: 3599 })).rejects.toThrow(
      "a CA's lifetime must be a whole number of seconds, at least 3600 (1h; the API server refuses shorter pod certificates), not 3599",
    );
  });
});

describe('issueCertificate', () => {
  test('issues a leaf that Node and openssl verify against the CA, for exactly its names', async () => {
    const { spki } = newKey();
    const now = new Date();
    const leaf = await issueCertificate({
      ca,
      subjectPublicKey: spki,
      dnsNames: NAMES,
      lifetimeSeconds: 86400,
      now,
    });
    const certificate = new crypto.X509Certificate(leaf.certificatePem);
    const caCertificate = new crypto.X509Certificate(ca.certificatePem);

    expect(certificate.verify(caCertificate.publicKey)).toBe(true);
    expect(certificate.checkIssued(caCertificate)).toBe(true);
    expect(certificate.ca).toBe(false);
    expect(certificate.publicKey.export({ type: 'spki', format: 'der' })).toEqual(spki);
    for (const name of NAMES) expect(certificate.checkHost(name)).toBe(name);
    expect(certificate.checkHost('web-1.web-headless.data.svc.cluster.local')).toBeUndefined();
    expect(certificate.subject).toBe(`CN=${NAMES[0]}`);
    expect(certificate.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(new Date(certificate.validFrom)).toEqual(leaf.notBefore);
    expect(new Date(certificate.validTo)).toEqual(leaf.notAfter);
    expect(leaf.notAfter.getTime() - leaf.notBefore.getTime()).toBe(86400_000);
    expect(now.getTime() - leaf.notBefore.getTime()).toBeGreaterThanOrEqual(CLOCK_SKEW_SECONDS * 1000);
    expect(now.getTime() - leaf.notBefore.getTime()).toBeLessThan((CLOCK_SKEW_SECONDS + 1) * 1000);

    const caFile = write('ca.crt', ca.certificatePem);
    const leafFile = write('leaf.crt', leaf.certificatePem);
    for (const purpose of ['sslserver', 'sslclient']) {
      const result = openssl('verify', '-x509_strict', '-purpose', purpose, '-CAfile', caFile, leafFile);
      expect(result).toEqual({ status: 0, output: `${leafFile}: OK\n` });
    }
    const out = text(leaf.certificatePem);
    expect(out).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(out).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
    expect(out).toMatch(
      /X509v3 Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication/,
    );
    expect(out).toContain(NAMES.map((n) => `DNS:${n}`).join(', '));
    const caKeyId = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(text(ca.certificatePem))?.[1];
    expect(caKeyId).toBeDefined();
    expect(out).toMatch(new RegExp(`Authority Key Identifier:\\s+(keyid:)?${caKeyId}`));
  });

  test('issues from a PKCS#10 request made by openssl, with that request’s public key', async () => {
    const keyFile = path.join(dir, 'request.key');
    execFileSync('openssl', [
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-out',
      keyFile,
    ]);
    const request = execFileSync('openssl', [
      'req',
      '-new',
      '-key',
      keyFile,
      '-subj',
      '/CN=ignored',
      '-outform',
      'DER',
    ]);
    const opensslSpki = execFileSync('openssl', ['pkey', '-in', keyFile, '-pubout', '-outform', 'DER']);

    const spki = publicKeyOfCertificationRequest(request);
    expect(spki).toEqual(opensslSpki);
    const leaf = await issueCertificate({
      ca,
      subjectPublicKey: spki,
      dnsNames: NAMES,
      lifetimeSeconds: 3600,
    });
    const leafFile = write('from-request.crt', leaf.certificatePem);
    expect(openssl('verify', '-CAfile', write('ca.crt', ca.certificatePem), leafFile).status).toBe(0);
    expect(
      execFileSync('openssl', ['x509', '-in', leafFile, '-noout', '-pubkey'], { encoding: 'utf8' }),
    ).toBe(execFileSync('openssl', ['pkey', '-in', keyFile, '-pubout'], { encoding: 'utf8' }));

    // The request's key serves TLS with the certificate, and a client holding the CA accepts it.
    const server = tls.createServer({ key: fs.readFileSync(keyFile), cert: leaf.certificatePem }, (socket) =>
      socket.end('hello'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const received = await new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port, servername: NAMES[2], ca: ca.certificatePem });
        let data = '';
        socket.on('data', (chunk) => (data += chunk));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
      expect(received).toBe('hello');
    } finally {
      server.close();
    }
  });

  test('rejects a request not signed by the key it carries, and bytes that are no request', async () => {
    const keyFile = path.join(dir, 'tampered.key');
    execFileSync('openssl', [
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-out',
      keyFile,
    ]);
    const request = execFileSync('openssl', [
      'req',
      '-new',
      '-key',
      keyFile,
      '-subj',
      '/CN=keelson-request',
      '-outform',
      'DER',
    ]);
    // The subject keelson-request becomes keelson-requesT: the signature no longer covers the request.
    const at = request.indexOf(Buffer.from('keelson-request'));
    expect(at).toBeGreaterThan(0);
    const tampered = Buffer.from(request);
    tampered[at + 14] = 'T'.charCodeAt(0);
    expect(() => publicKeyOfCertificationRequest(tampered)).toThrow(
      'the certification request is not signed by the key it carries',
    );
    expect(() => publicKeyOfCertificationRequest(Buffer.from('not a request'))).toThrow(
      /^not a PKCS#10 certification request: /,
    );
  });

  test('rejects verification against another CA', async () => {
    const other = await createCertificateAuthority({ commonName: 'keelson test', lifetimeSeconds: 3600 });
    const leaf = await issueCertificate({
      ca,
      subjectPublicKey: newKey().spki,
      dnsNames: NAMES,
      lifetimeSeconds: 3600,
    });
    const certificate = new crypto.X509Certificate(leaf.certificatePem);
    expect(certificate.verify(new crypto.X509Certificate(other.certificatePem).publicKey)).toBe(false);
    // Same name as the real CA, so only the signature (and key identifiers) tell them apart.
    const result = openssl(
      'verify',
      '-CAfile',
      write('other.crt', other.certificatePem),
      write('l.crt', leaf.certificatePem),
    );
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/error/);
  });

  test('rejects a lifetime below 3600 s with a clear error', async () => {
    await expect(
      issueCertificate({ ca, subjectPublicKey: newKey().spki, dnsNames: NAMES, lifetimeSeconds: 3599 }),
    ).rejects.toThrow(
      "a certificate's lifetime must be a whole number of seconds, at least 3600 (1h; the API server refuses shorter pod certificates), not 3599",
    );
    const leaf = await issueCertificate({
      ca,
      subjectPublicKey: newKey().spki,
      dnsNames: NAMES,
      lifetimeSeconds: 3600,
    });
    expect(leaf.notAfter.getTime() - leaf.notBefore.getTime()).toBe(3600_000);
  });

  test('ends a certificate with its CA, and refuses when the CA ends within the shortest lifetime', async () => {
    const now = new Date('2026-12-01T12:00:00Z');
    const shortCa = await createCertificateAuthority({ commonName: 'short', lifetimeSeconds: 7200, now });
    const leaf = await issueCertificate({
      ca: shortCa,
      subjectPublicKey: newKey().spki,
      dnsNames: NAMES,
      lifetimeSeconds: 86400,
      now,
    });
    expect(leaf.notAfter).toEqual(shortCa.notAfter);
    await expect(
      issueCertificate({
        ca: shortCa,
        subjectPublicKey: newKey().spki,
        dnsNames: NAMES,
        lifetimeSeconds: 86400,
        now: new Date('2026-12-01T13:00:01Z'), // from 12:59:01 to 13:59:00: 3599 s
      }),
    ).rejects.toThrow(
      'the CA CN=short expires at 2026-12-01T13:59:00.000Z, too soon to issue a certificate of at least 3600 s; rotate the CA',
    );
  });

  test('rejects names that are not DNS names, and no names', async () => {
    const spki = newKey().spki;
    await expect(
      issueCertificate({ ca, subjectPublicKey: spki, dnsNames: ['web', 'Web_1', ''], lifetimeSeconds: 3600 }),
    ).rejects.toThrow(
      'not DNS names (lower case labels of letters, digits and "-", separated by "."): "Web_1", ""',
    );
    await expect(
      issueCertificate({ ca, subjectPublicKey: spki, dnsNames: [], lifetimeSeconds: 3600 }),
    ).rejects.toThrow('a certificate needs at least one DNS name');
  });

  test('names IP addresses (IPv4 and IPv6) beside the DNS names, which Node and openssl check', async () => {
    const leaf = await issueCertificate({
      ca,
      subjectPublicKey: newKey().spki,
      dnsNames: NAMES,
      ipAddresses: ['203.0.113.7', '2001:db8::7', '203.0.113.7'],
      lifetimeSeconds: 3600,
    });
    const certificate = new crypto.X509Certificate(leaf.certificatePem);
    expect(certificate.checkIP('203.0.113.7')).toBe('203.0.113.7');
    expect(certificate.checkIP('2001:db8::7')).toBe('2001:db8::7');
    expect(certificate.checkIP('203.0.113.8')).toBeUndefined();
    expect(certificate.checkHost(NAMES[0])).toBe(NAMES[0]);
    expect(certificate.subjectAltName).toBe(
      [...NAMES.map((n) => `DNS:${n}`), 'IP Address:203.0.113.7', 'IP Address:2001:DB8:0:0:0:0:0:7'].join(
        ', ',
      ),
    );
    const caFile = write('ca.crt', ca.certificatePem);
    const leafFile = write('leaf-ip.crt', leaf.certificatePem);
    expect(
      openssl(
        'verify',
        '-x509_strict',
        '-purpose',
        'sslserver',
        '-verify_ip',
        '203.0.113.7',
        '-CAfile',
        caFile,
        leafFile,
      ),
    ).toEqual({
      status: 0,
      output: `${leafFile}: OK\n`,
    });
    expect(
      openssl('verify', '-purpose', 'sslserver', '-verify_ip', '203.0.113.8', '-CAfile', caFile, leafFile)
        .status,
    ).not.toBe(0);
  });

  test('rejects IP addresses that are not', async () => {
    await expect(
      issueCertificate({
        ca,
        subjectPublicKey: newKey().spki,
        dnsNames: NAMES,
        ipAddresses: ['10.0.0.1', '10.0.0.256', 'node-a'],
        lifetimeSeconds: 3600,
      }),
    ).rejects.toThrow('not IP addresses: "10.0.0.256", "node-a"');
  });

  test('puts no name over 64 characters in the subject, and then marks the names critical', async () => {
    const long = `${'a'.repeat(63)}.web-headless.data.svc.cluster.local`;
    const leaf = await issueCertificate({
      ca,
      subjectPublicKey: newKey().spki,
      dnsNames: [long],
      lifetimeSeconds: 3600,
    });
    const certificate = new crypto.X509Certificate(leaf.certificatePem);
    expect(certificate.subject ?? '').toBe('');
    expect(certificate.checkHost(long)).toBe(long);
    expect(text(leaf.certificatePem)).toMatch(/X509v3 Subject Alternative Name: critical/);
    expect(
      openssl(
        'verify',
        '-x509_strict',
        '-CAfile',
        write('ca.crt', ca.certificatePem),
        write('long.crt', leaf.certificatePem),
      ).status,
    ).toBe(0);
  });

  test('signs with a CA the user made with openssl (RSA, PKCS#1 key)', async () => {
    const keyFile = path.join(dir, 'user-ca.key');
    const crtFile = path.join(dir, 'user-ca.crt');
    execFileSync('openssl', ['genrsa', '-traditional', '-out', keyFile, '2048'], { stdio: 'pipe' });
    execFileSync('openssl', [
      'req', '-x509', '-new', '-key', keyFile, '-days', '30', '-subj', '/O=Example/CN=Example Root',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', crtFile,
    ], { stdio: 'pipe' }); // prettier-ignore
    const userCa = {
      certificatePem: fs.readFileSync(crtFile, 'utf8'),
      privateKeyPem: fs.readFileSync(keyFile, 'utf8'),
    };
    expect(userCa.privateKeyPem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);

    const leaf = await issueCertificate({
      ca: userCa,
      subjectPublicKey: newKey().spki,
      dnsNames: NAMES,
      lifetimeSeconds: 3600,
    });
    const certificate = new crypto.X509Certificate(leaf.certificatePem);
    expect(certificate.issuer).toBe('O=Example\nCN=Example Root');
    expect(certificate.checkIssued(new crypto.X509Certificate(userCa.certificatePem))).toBe(true);
    const result = openssl(
      'verify',
      '-x509_strict',
      '-purpose',
      'sslserver',
      '-CAfile',
      crtFile,
      write('rsa-leaf.crt', leaf.certificatePem),
    );
    expect(result.output).toBe(`${path.join(dir, 'rsa-leaf.crt')}: OK\n`);
  });

  test('rejects a CA whose key is not its own, and a certificate that is no CA', async () => {
    const other = await createCertificateAuthority({ commonName: 'other', lifetimeSeconds: 3600 });
    const spki = newKey().spki;
    await expect(
      issueCertificate({
        ca: { certificatePem: ca.certificatePem, privateKeyPem: other.privateKeyPem },
        subjectPublicKey: spki,
        dnsNames: NAMES,
        lifetimeSeconds: 3600,
      }),
    ).rejects.toThrow('the CA private key does not belong to the CA certificate CN=keelson test');
    const leaf = await issueCertificate({
      ca,
      subjectPublicKey: spki,
      dnsNames: NAMES,
      lifetimeSeconds: 3600,
    });
    await expect(
      issueCertificate({
        ca: { certificatePem: leaf.certificatePem, privateKeyPem: ca.privateKeyPem },
        subjectPublicKey: spki,
        dnsNames: NAMES,
        lifetimeSeconds: 3600,
      }),
    ).rejects.toThrow(`the certificate CN=${NAMES[0]} is not a CA (its basicConstraints do not say CA:TRUE)`);
    // A broken key is reported without its text.
    const broken = ca.privateKeyPem.replace(/\n[A-Za-z0-9+/]{64}\n/, '\n'); // its first line of base64 gone
    expect(broken).not.toBe(ca.privateKeyPem);
    const error = await issueCertificate({
      ca: { certificatePem: ca.certificatePem, privateKeyPem: broken },
      subjectPublicKey: spki,
      dnsNames: NAMES,
      lifetimeSeconds: 3600,
    }).catch((e: Error) => e);
    expect((error as Error).message).toBe(
      'the CA private key is not a PEM private key (PKCS#8, PKCS#1 or SEC1)',
    );
  });
});
