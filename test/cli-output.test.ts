import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { keelsonCli } from '../lib/cli';
import { productCrd } from '../lib/stacklet/crd';
import { tlsClassCrd } from '../lib/tls';
import { BEACON } from './example-product/beacon';

let out: string;
beforeEach(() => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-cli-'));
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
});
afterEach(() => {
  jest.restoreAllMocks();
  fs.rmSync(out, { recursive: true, force: true });
});

const documents = (file: string) => parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJS());

describe('keelson crds and deploy', () => {
  it('write each CRD as the JSON the API server is given, CEL rules included', async () => {
    await keelsonCli([BEACON]).parseAsync(['node', 'keelson', 'crds', '--out', out]);
    const [crd] = documents(path.join(out, `${BEACON.plural}.keelson.dev.yaml`));
    expect(crd).toEqual(productCrd(BEACON));
    expect(JSON.stringify(crd)).toContain('x-kubernetes-validations');
    expect(fs.readdirSync(out).sort()).toEqual([
      `${BEACON.plural}.keelson.dev.yaml`,
      'tlsclasses.keelson.dev.yaml',
    ]);
    expect(documents(path.join(out, 'tlsclasses.keelson.dev.yaml'))).toEqual([tlsClassCrd()]);
  });

  it("write the operator's manifests in one multi-document file", async () => {
    await keelsonCli([BEACON]).parseAsync([
      'node',
      'keelson',
      'deploy',
      '--out',
      out,
      '--memory-limit',
      '512',
    ]);
    const objects = documents(path.join(out, 'keelson-operator.yaml')) as { kind: string }[];
    expect(objects.map((o) => o.kind)).toEqual([
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'Namespace',
      'ServiceAccount',
      'ClusterRole',
      'ClusterRoleBinding',
      // the CAs' Secrets, in the operator's namespace
      'Role',
      'RoleBinding',
      'Deployment',
    ]);
    expect(JSON.stringify(objects.at(-1))).toContain('--max-old-space-size=384');
  });

  it('write Roles in the watched namespaces with --watch-namespaces, and a ClusterRole only for what is cluster-scoped', async () => {
    await keelsonCli([BEACON]).parseAsync([
      'node',
      'keelson',
      'deploy',
      '--out',
      out,
      '--namespace',
      'platform-operators',
      '--watch-namespaces',
      'data, streaming',
    ]);
    const objects = documents(path.join(out, 'keelson-operator.yaml')) as {
      kind: string;
      metadata: { name: string; namespace?: string };
    }[];
    expect(
      objects.map((o) => [o.kind, o.metadata.namespace, o.metadata.name].filter(Boolean).join(' ')),
    ).toEqual([
      `CustomResourceDefinition ${BEACON.plural}.keelson.dev`,
      'CustomResourceDefinition tlsclasses.keelson.dev',
      'Namespace platform-operators',
      'ServiceAccount platform-operators keelson-operator',
      'ClusterRole keelson-operator',
      'ClusterRoleBinding keelson-operator',
      'Role data keelson-operator',
      'RoleBinding data keelson-operator',
      'Role streaming keelson-operator',
      'RoleBinding streaming keelson-operator',
      'Role platform-operators keelson-operator-leader-election',
      'RoleBinding platform-operators keelson-operator-leader-election',
      'Role platform-operators keelson-operator-tls-ca',
      'RoleBinding platform-operators keelson-operator-tls-ca',
      'Deployment platform-operators keelson-operator',
    ]);
    expect(JSON.stringify(objects.at(-1))).toContain('"--watch-namespaces","data,streaming"');
  });
});
