import { execFileSync, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  addCaTrustStores,
  CA_BUNDLE_PATH,
  debianCertificateName,
  FileTree,
  JAVA_CACERTS_PASSWORD,
  JAVA_CACERTS_PATH,
  pemCertificates,
  writeJavaKeyStore,
  type TrustedCertificate,
} from '../lib/image';

/** The JDKs of keelson's machines: Java 25 (Trino's) always, Debian's Java 17 where installed. */
const JDKS = ['/usr/lib/jvm/temurin-25-jdk-amd64', '/usr/lib/jvm/java-17-openjdk-amd64'].filter(
  (home, i) => i === 0 || fs.existsSync(path.join(home, 'bin', 'keytool')),
);

let dir: string;

/** A self-signed CA certificate made by OpenSSL (an independent writer), as PEM. */
function opensslCertificate(name: string): string {
  const key = path.join(dir, `${name}.key`);
  const crt = path.join(dir, `${name}.crt`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '3650',
    '-subj', `/CN=${name}`, '-keyout', key, '-out', crt,
  ], { stdio: 'pipe' }); // prettier-ignore
  return fs.readFileSync(crt, 'utf8');
}

function sha256Fingerprint(der: Buffer): string {
  return new crypto.X509Certificate(der).fingerprint256;
}

/** `keytool -list -v` of a store: its type, entry count and each alias with its SHA-256 fingerprint. */
function keytoolList(
  jdk: string,
  store: string,
  password: string,
): { type: string; entries: Map<string, string> } {
  const out = execFileSync(
    path.join(jdk, 'bin', 'keytool'),
    ['-list', '-v', '-keystore', store, '-storepass', password],
    { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } },
  );
  const entries = new Map<string, string>();
  for (const block of out.split(/\*{20,}/)) {
    const alias = /^Alias name: (.*)$/m.exec(block)?.[1];
    if (alias === undefined) continue;
    expect(block).toMatch(/^Entry type: trustedCertEntry$/m);
    entries.set(alias, /^\s*SHA256: (\S+)$/m.exec(block)?.[1] ?? '');
  }
  return { type: /^Keystore type: (\S+)$/m.exec(out)?.[1] ?? '', entries };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trust-store-test-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the Java key store writer', () => {
  let certificates: TrustedCertificate[];
  beforeAll(() => {
    certificates = ['Zeta Root', 'Alpha Root', 'Főtanúsítvány'].map((name) => ({
      alias: `debian:${name.toLowerCase().replace(/ /g, '_')}.pem`,
      der: pemCertificates(opensslCertificate(name), name)[0],
    }));
  });

  test.each(JDKS)('%s keytool reads it as JKS, checks its digest and lists every certificate', (jdk) => {
    const store = path.join(dir, `store-${path.basename(jdk)}.jks`);
    fs.writeFileSync(store, writeJavaKeyStore(certificates, { password: 'changeit' }));
    const listed = keytoolList(jdk, store, 'changeit');
    expect(listed.type).toBe('JKS');
    expect(Object.fromEntries(listed.entries)).toEqual(
      Object.fromEntries(certificates.map((c) => [c.alias, sha256Fingerprint(c.der)])),
    );
    // The integrity digest covers the password: another one is refused.
    const wrong = spawnSync(
      path.join(jdk, 'bin', 'keytool'),
      ['-list', '-keystore', store, '-storepass', 'wrong'],
      {
        encoding: 'utf8',
      },
    );
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout + wrong.stderr).toMatch(/tampered with, or password was incorrect/);
  });

  test.each(JDKS)(
    "%s's default trust manager (trustStoreType left at its default) trusts every entry",
    (jdk) => {
      const store = path.join(dir, 'default-type.jks');
      fs.writeFileSync(store, writeJavaKeyStore(certificates, { password: JAVA_CACERTS_PASSWORD }));
      const check = path.join(dir, 'TrustCheck.java');
      fs.writeFileSync(
        check,
        [
          'import javax.net.ssl.*;',
          'public class TrustCheck { public static void main(String[] a) throws Exception {',
          '  TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());',
          '  f.init((java.security.KeyStore) null);',
          '  X509TrustManager t = (X509TrustManager) f.getTrustManagers()[0];',
          '  System.out.println(t.getAcceptedIssuers().length);',
          '} }',
          '',
        ].join('\n'),
      );
      const out = execFileSync(
        path.join(jdk, 'bin', 'java'),
        [`-Djavax.net.ssl.trustStore=${store}`, check],
        {
          encoding: 'utf8',
        },
      );
      expect(out.trim()).toBe(String(certificates.length));
    },
  );

  test('gives the same bytes for the same certificates in any order, entries sorted by alias', () => {
    const a = writeJavaKeyStore(certificates, { password: 'changeit' });
    const b = writeJavaKeyStore([...certificates].reverse(), { password: 'changeit' });
    expect(a.equals(b)).toBe(true);
    expect(a.subarray(0, 12).toString('hex')).toBe(`feedfeed00000002${'00000003'}`);
    // The first entry is the alias that sorts first.
    expect(a.subarray(18, 18 + a.readUInt16BE(16)).toString()).toBe('debian:alpha_root.pem');
    expect(writeJavaKeyStore(certificates, { password: 'changeit', entryDate: 1 }).equals(a)).toBe(false);
  });

  test('rejects a repeated or upper-case alias and bytes that are no certificate, naming the alias', () => {
    const [one] = certificates;
    expect(() => writeJavaKeyStore([one, one], { password: 'x' })).toThrow(`'${one.alias}' is given twice`);
    expect(() => writeJavaKeyStore([{ ...one, alias: 'Upper' }], { password: 'x' })).toThrow(
      "alias 'Upper' must be non-empty and lower-case",
    );
    expect(() => writeJavaKeyStore([{ alias: 'junk', der: Buffer.from('junk') }], { password: 'x' })).toThrow(
      "the certificate of 'junk' is not X.509 DER",
    );
  });
});

describe("the trust stores of Debian's ca-certificates", () => {
  test('names a certificate as update-ca-certificates links it', () => {
    expect(debianCertificateName('usr/share/ca-certificates/mozilla/Go_Daddy_Class_2_CA.crt')).toBe(
      'Go_Daddy_Class_2_CA.pem',
    );
    expect(debianCertificateName('mozilla/A (b), c.crt')).toBe('A_=b=__c.pem');
  });

  test.each(JDKS.slice(0, 1))(
    'writes the PEM bundle and a Java trust store (%s keytool) of every .crt the package ships',
    async (jdk) => {
      const tree = new FileTree(path.join(dir, 'staged'));
      const zeta = opensslCertificate('zeta');
      const alpha = opensslCertificate('alpha');
      tree.addFile('usr/share/ca-certificates/mozilla/Zeta.crt', zeta);
      tree.addFile('usr/share/ca-certificates/mozilla/Alpha.crt', alpha.trimEnd()); // no final newline
      tree.addFile('usr/share/ca-certificates/README', 'not a certificate');
      expect(addCaTrustStores(tree)).toEqual({ certificates: ['mozilla/Alpha.crt', 'mozilla/Zeta.crt'] });
      expect(tree.read(CA_BUNDLE_PATH).toString()).toBe(`${alpha.trimEnd()}\n${zeta}`);
      expect(tree.get(JAVA_CACERTS_PATH)).toMatchObject({ uid: 0, gid: 0, mode: 0o644 });
      const store = path.join(dir, 'cacerts');
      fs.writeFileSync(store, tree.read(JAVA_CACERTS_PATH));
      const listed = keytoolList(jdk, store, JAVA_CACERTS_PASSWORD);
      expect(Object.fromEntries(listed.entries)).toEqual({
        'debian:alpha.pem': sha256Fingerprint(pemCertificates(alpha, 'alpha')[0]),
        'debian:zeta.pem': sha256Fingerprint(pemCertificates(zeta, 'zeta')[0]),
      });
    },
  );

  test('writes nothing into a layer without the package', () => {
    const tree = new FileTree(path.join(dir, 'staged-empty'));
    tree.addFile('etc/hostname', 'x\n');
    expect(addCaTrustStores(tree)).toBeUndefined();
    expect(tree.has(CA_BUNDLE_PATH)).toBe(false);
    expect(tree.has(JAVA_CACERTS_PATH)).toBe(false);
  });

  test('rejects a .crt without a PEM certificate, naming the file', () => {
    const tree = new FileTree(path.join(dir, 'staged-bad'));
    tree.addFile('usr/share/ca-certificates/local/broken.crt', 'nothing here');
    expect(() => addCaTrustStores(tree)).toThrow(
      'usr/share/ca-certificates/local/broken.crt holds no PEM certificate',
    );
  });
});
