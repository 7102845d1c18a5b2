import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { inClusterAccess, kubeconfigAccess, loadApiAccess } from '../lib/operator/api-access';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-access-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeKubeconfig(name: string, config: Record<string, unknown>): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, stringify(config));
  return file;
}

function config(
  user: Record<string, unknown>,
  cluster: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'main',
    contexts: [{ name: 'main', context: { cluster: 'c', user: 'u' } }],
    clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443', ...cluster } }],
    users: [{ name: 'u', user }],
  };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('kubeconfigAccess', () => {
  it('reads a token and inline certificate data', async () => {
    const file = writeKubeconfig(
      'kc',
      config(
        { token: 'tok', 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') },
        { 'certificate-authority-data': b64('CA'), 'tls-server-name': 'api.local' },
      ),
    );
    const access = kubeconfigAccess([file]);
    expect(access.server).toBe('https://127.0.0.1:6443');
    const { tls, headers } = await access.credentials();
    expect(headers.authorization).toBe('Bearer tok');
    expect(String(tls.ca)).toBe('CA');
    expect(String(tls.cert)).toBe('CERT');
    expect(String(tls.key)).toBe('KEY');
    expect(tls.rejectUnauthorized).toBe(true);
    expect(tls.servername).toBe('api.local');
  });

  it('reads certificate and token files relative to the kubeconfig, again on every refresh', async () => {
    fs.mkdirSync(path.join(dir, 'pki'));
    fs.writeFileSync(path.join(dir, 'pki', 'ca.crt'), 'CA-FILE');
    fs.writeFileSync(path.join(dir, 'token'), 'first\n');
    const file = writeKubeconfig(
      'kc',
      config(
        { tokenFile: 'token' },
        { 'certificate-authority': 'pki/ca.crt', 'insecure-skip-tls-verify': true },
      ),
    );
    const access = kubeconfigAccess([file]);
    const first = await access.credentials();
    expect(String(first.tls.ca)).toBe('CA-FILE');
    expect(first.tls.rejectUnauthorized).toBe(false);
    expect(first.headers.authorization).toBe('Bearer first');
    fs.writeFileSync(path.join(dir, 'token'), 'rotated');
    expect((await access.credentials()).headers.authorization).toBe('Bearer rotated');
  });

  it('sends basic auth for a username and password', async () => {
    const access = kubeconfigAccess([writeKubeconfig('kc', config({ username: 'ann', password: 'pw' }))]);
    expect((await access.credentials()).headers.authorization).toBe(`Basic ${b64('ann:pw')}`);
  });

  it('merges a KUBECONFIG list with the first definition winning', async () => {
    const first = writeKubeconfig('a', {
      'current-context': 'main',
      users: [{ name: 'u', user: { token: 'from-a' } }],
    });
    const second = writeKubeconfig('b', config({ token: 'from-b' }));
    const access = loadApiAccess({ KUBECONFIG: [first, second].join(path.delimiter) });
    expect(access.server).toBe('https://127.0.0.1:6443');
    expect((await access.credentials()).headers.authorization).toBe('Bearer from-a');
  });

  it('names what is missing', () => {
    const noContext = writeKubeconfig('none', { ...config({}), 'current-context': undefined });
    expect(() => kubeconfigAccess([noContext])).toThrow(/has no current-context/);
    const unknown = writeKubeconfig('unknown', { ...config({}), 'current-context': 'other' });
    expect(() => kubeconfigAccess([unknown])).toThrow(/current-context "other" is not defined/);
    const noServer = writeKubeconfig('noserver', { ...config({}), clusters: [] });
    expect(() => kubeconfigAccess([noServer])).toThrow(/context "main" names no cluster with a server/);
    expect(() => kubeconfigAccess([path.join(dir, 'missing')])).toThrow(/cannot read kubeconfig .*missing/);
  });

  it('hands a plugin user to client-node with the merged context and absolute file paths', async () => {
    fs.mkdirSync(path.join(dir, 'pki'));
    fs.writeFileSync(path.join(dir, 'pki', 'ca.crt'), 'CA-FILE');
    const clusters = writeKubeconfig('clusters', {
      clusters: [
        { name: 'c', cluster: { server: 'https://10.1.2.3:6443', 'certificate-authority': 'pki/ca.crt' } },
      ],
    });
    const credential = JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: 'second-file' },
    });
    const withPlugin = writeKubeconfig('plugin', {
      'current-context': 'main',
      contexts: [{ name: 'main', context: { cluster: 'c', user: 'u' } }],
      clusters: [{ name: 'c', cluster: { server: 'https://shadowed:1' } }],
      users: [
        {
          name: 'u',
          user: {
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1',
              command: process.execPath,
              args: ['-e', `process.stdout.write(${JSON.stringify(credential)})`],
              interactiveMode: 'Never',
            },
          },
        },
      ],
    });
    const access = loadApiAccess({ KUBECONFIG: [clusters, withPlugin].join(path.delimiter) });
    expect(access.server).toBe('https://10.1.2.3:6443');
    const { tls, headers } = await access.credentials();
    expect(headers.authorization).toBe('Bearer second-file');
    expect(String(tls.ca)).toBe('CA-FILE');
  }, 60_000); // the first require of client-node (every generated model) takes seconds on a busy machine

  it('runs an exec credential plugin through client-node', async () => {
    const credential = JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: 'from-plugin' },
    });
    const file = writeKubeconfig(
      'kc',
      config({
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: process.execPath,
          args: ['-e', `process.stdout.write(${JSON.stringify(credential)})`],
          interactiveMode: 'Never',
        },
      }),
    );
    const access = kubeconfigAccess([file]);
    expect(access.server).toBe('https://127.0.0.1:6443');
    expect((await access.credentials()).headers.authorization).toBe('Bearer from-plugin');
  });
});

describe("loadApiAccess, in kubectl's order", () => {
  const inCluster = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };
  const home = () => {
    fs.mkdirSync(path.join(dir, '.kube'));
    const file = writeKubeconfig('.kube/config', config({ token: 'from-home' }));
    return file;
  };

  it('reads ~/.kube/config when KUBECONFIG is unset, even in a cluster', async () => {
    home();
    const access = loadApiAccess({ HOME: dir, ...inCluster });
    expect(access.server).toBe('https://127.0.0.1:6443');
    expect((await access.credentials()).headers.authorization).toBe('Bearer from-home');
  });

  it('prefers KUBECONFIG to ~/.kube/config', async () => {
    home();
    const other = writeKubeconfig('other', config({ token: 'from-env' }));
    const access = loadApiAccess({ HOME: dir, KUBECONFIG: other });
    expect((await access.credentials()).headers.authorization).toBe('Bearer from-env');
  });

  it("runs as the pod's ServiceAccount when there is no kubeconfig", () => {
    expect(loadApiAccess({ HOME: dir, ...inCluster }).server).toBe('https://10.0.0.1:443');
  });
});

describe('inClusterAccess', () => {
  it('uses the service host and re-reads the ServiceAccount token', async () => {
    fs.writeFileSync(path.join(dir, 'ca.crt'), 'SA-CA');
    fs.writeFileSync(path.join(dir, 'token'), 'sa-1');
    const access = inClusterAccess(
      { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
      dir,
    );
    expect(access.server).toBe('https://[fd00::1]:443');
    const first = await access.credentials();
    expect(String(first.tls.ca)).toBe('SA-CA');
    expect(first.headers.authorization).toBe('Bearer sa-1');
    fs.writeFileSync(path.join(dir, 'token'), 'sa-2');
    expect((await access.credentials()).headers.authorization).toBe('Bearer sa-2');
  });

  it('says why it cannot connect outside a cluster', () => {
    expect(() => loadApiAccess({ HOME: dir })).toThrow(
      `no cluster to connect to: KUBECONFIG is not set, ${dir}/.kube/config does not exist, and this is not running in a cluster (KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT unset)`,
    );
    expect(() => loadApiAccess({})).toThrow(/HOME is not set \(so no ~\/.kube\/config\)/);
  });

  it('names the token file it cannot read', async () => {
    const access = inClusterAccess(
      { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
      dir,
    );
    await expect(access.credentials()).rejects.toThrow(/cannot read the ServiceAccount token/);
  });
});
