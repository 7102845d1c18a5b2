/**
 * Certificates the real-node TLS tests make themselves, with openssl in a scratch folder: a CA and
 * leaf certificates (ECDSA P-256, PKCS#8 keys as the kubelet writes pod certificates' keys) with
 * the DNS names a test gives, as the four files of keelson's mount contract (lib/tls). The tests
 * deliver them in Secrets at `/keelson/tls/{server,internal}` through podOverrides, proving the
 * product side without the operator's signer.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as k8s from '@kubernetes/client-node';

/** A CA and the leaf certificates it signs. */
export class TestPki {
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-test-pki-'));

  constructor(name: string) {
    this.openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'ca.key');
    this.openssl(
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-subj',
      `/CN=${name}`,
      '-days',
      '2',
      '-out',
      'ca.crt',
    );
  }

  /** The CA's certificate, PEM. */
  get caPem(): string {
    return this.read('ca.crt');
  }

  /** The CA's private key, PEM (PKCS#8): for a Secret of the user's CA (a `secretCa` TlsClass, or cert-manager's CA issuer). */
  get caKeyPem(): string {
    return this.read('ca.key');
  }

  /** The four files of keelson's mount contract, for a leaf `leaf` with `dnsNames` (server and client use). */
  issue(leaf: string, dnsNames: string[]): Record<string, string> {
    this.openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${leaf}.key`);
    this.openssl('req', '-new', '-key', `${leaf}.key`, '-subj', `/CN=${leaf}`, '-out', `${leaf}.csr`);
    fs.writeFileSync(
      path.join(this.dir, `${leaf}.ext`),
      'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n' +
        `subjectAltName=${dnsNames.map((n) => (/^[0-9.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',')}\n`,
    );
    this.openssl(
      'x509', '-req', '-in', `${leaf}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
      '-days', '1', '-extfile', `${leaf}.ext`, '-out', `${leaf}.crt`,
    ); // prettier-ignore
    const key = this.read(`${leaf}.key`);
    const certificate = this.read(`${leaf}.crt`);
    return { 'tls.pem': key + certificate, 'tls.key': key, 'tls.crt': certificate, 'ca.crt': this.caPem };
  }

  /** Removes the scratch folder (keys included). */
  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private read(file: string): string {
    return fs.readFileSync(path.join(this.dir, file), 'utf8');
  }

  private openssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  }
}

/**
 * The DNS names keelson's signer gives a StatefulSet pod: its own under the headless Service, and
 * each Service that selects it in its four forms.
 */
export function podDnsNames(pod: string, headless: string, namespace: string, services: string[]): string[] {
  const names = [
    `${pod}.${headless}.${namespace}.svc.cluster.local`,
    `${pod}.${headless}.${namespace}.svc`,
    `${pod}.${headless}.${namespace}`,
    `${pod}.${headless}`,
  ];
  for (const svc of services) {
    names.push(
      svc,
      `${svc}.${namespace}`,
      `${svc}.${namespace}.svc`,
      `${svc}.${namespace}.svc.cluster.local`,
    );
  }
  return names;
}

/** A Secret holding `files` (as stringData). */
export function fileSecret(name: string, files: Record<string, string>): k8s.V1Secret {
  return { metadata: { name }, stringData: files };
}
