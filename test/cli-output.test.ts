import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { keelsonCli } from '../lib/cli';
import { productCrd } from '../lib/stacklet/crd';
import { tlsClassCrd } from '../lib/tls';
import { DEFAULT_LISTENER_CLASSES, listenerClassCrd } from '../lib/listener';
import { authenticationClassCrd } from '../lib/authentication';
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
      'authenticationclasses.keelson.dev.yaml',
      `${BEACON.plural}.keelson.dev.yaml`,
      'listenerclasses.keelson.dev.yaml',
      'tlsclasses.keelson.dev.yaml',
    ]);
    expect(documents(path.join(out, 'tlsclasses.keelson.dev.yaml'))).toEqual([tlsClassCrd()]);
    expect(documents(path.join(out, 'listenerclasses.keelson.dev.yaml'))).toEqual([listenerClassCrd()]);
    expect(documents(path.join(out, 'authenticationclasses.keelson.dev.yaml'))).toEqual([
      authenticationClassCrd(),
    ]);
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
      '--prometheus-rules',
      '--grafana-dashboards',
    ]);
    const objects = documents(path.join(out, 'keelson-operator.yaml')) as { kind: string }[];
    expect(objects.map((o) => o.kind)).toEqual([
      'CustomResourceDefinition',
      'CustomResourceDefinition',
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
      // the guard that keeps podOverrides from being a way around RBAC
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
      // its metrics, for keelson's scrape job; its rules and dashboard, as asked
      'Service',
      'PrometheusRule',
      'ConfigMap',
    ]);
    expect(JSON.stringify(objects.find((o) => o.kind === 'Deployment'))).toContain(
      '--max-old-space-size=384',
    );
    // The default ListenerClasses, in a file of their own (applied once their CRD is served).
    expect(documents(path.join(out, 'keelson-listener-classes.yaml'))).toEqual(
      Object.entries(DEFAULT_LISTENER_CLASSES).map(([name, spec]) => ({
        apiVersion: 'keelson.dev/v1alpha1',
        kind: 'ListenerClass',
        metadata: { name },
        spec,
      })),
    );
    expect(DEFAULT_LISTENER_CLASSES).toEqual({
      'cluster-internal': { serviceType: 'ClusterIP' },
      'external-unstable': { serviceType: 'NodePort' },
      'external-stable': { serviceType: 'LoadBalancer' },
    });
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
      'CustomResourceDefinition listenerclasses.keelson.dev',
      'CustomResourceDefinition authenticationclasses.keelson.dev',
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
      'ValidatingAdmissionPolicy keelson-operator-pod-overrides',
      'ValidatingAdmissionPolicyBinding keelson-operator-pod-overrides',
      'Service platform-operators keelson-operator-metrics',
    ]);
    expect(JSON.stringify(objects.find((o) => o.kind === 'Deployment'))).toContain(
      '"--watch-namespaces","data,streaming"',
    );
  });
});
