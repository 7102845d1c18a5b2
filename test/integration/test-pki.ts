/**
 * A test's own certificate authority and leaf certificates (openssl in a scratch folder), in the
 * files of keelson's TLS mount contract, for real-node tests that deliver certificates themselves
 * (in Secrets replacing the pod-certificate volumes through podOverrides) to prove a product's side
 * apart from the operator's signer.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A CA and leaf certificates made with openssl in a scratch folder. */
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

  get caPem(): string {
    return this.read('ca.crt');
  }

  /** The four files of keelson's mount contract, for a leaf with `dnsNames`. */
  issue(leaf: string, dnsNames: string[]): Record<string, string> {
    // PKCS#8 ("BEGIN PRIVATE KEY"), as the kubelet writes pod certificates' keys.
    this.openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${leaf}.key`);
    this.openssl('req', '-new', '-key', `${leaf}.key`, '-subj', `/CN=${leaf}`, '-out', `${leaf}.csr`);
    fs.writeFileSync(
      path.join(this.dir, `${leaf}.ext`),
      'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n' +
        `subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}\n`,
    );
    this.openssl(
      'x509', '-req', '-in', `${leaf}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
      '-days', '1', '-extfile', `${leaf}.ext`, '-out', `${leaf}.crt`,
    ); // prettier-ignore
    const key = this.read(`${leaf}.key`);
    const certificate = this.read(`${leaf}.crt`);
    return { 'tls.pem': key + certificate, 'tls.key': key, 'tls.crt': certificate, 'ca.crt': this.caPem };
  }

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
 * The DNS names keelson's signer gives a StatefulSet pod: its own (`<pod>.<headless>.<ns>...`)
 * and those of the Services that select it.
 */
export function podDnsNames(namespace: string, pod: string, headless: string, services: string[]): string[] {
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
