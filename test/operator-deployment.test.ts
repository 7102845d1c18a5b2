import { Chart, Testing } from 'cdk8s';
import { operatorNodeOptions, OperatorDeployment } from '../lib/operator/deployment';
import { BEACON } from './example-product/beacon';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

function synth(props: Partial<ConstructorParameters<typeof OperatorDeployment>[2]> = {}) {
  const chart = new Chart(Testing.app(), 'operator');
  new OperatorDeployment(chart, 'keelson', {
    products: [BEACON],
    image: 'registry.example/keelson:1',
    namespace: 'keelson-system',
    ...props,
  });
  const objects = Testing.synth(chart) as {
    kind: string;
    metadata: { name: string };
    spec?: Record<string, any>;
    rules?: Rule[];
  }[];
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  return { objects, byKind };
}

describe('OperatorDeployment', () => {
  it('runs the operator as a restricted, non-root pod with its memory settings', () => {
    const { byKind } = synth({ watchNamespaces: ['data', 'streaming'] });
    const [deployment] = byKind('Deployment');
    const pod = deployment.spec!.template.spec;
    const [container] = pod.containers;
    expect(pod.serviceAccountName).toBe('keelson-operator');
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.args).toEqual(
      expect.arrayContaining(['operator', '--leader-election', '--namespaces', 'data,streaming']),
    );
    expect(container.env).toContainEqual({
      name: 'NODE_OPTIONS',
      value: '--max-semi-space-size=1 --max-old-space-size=192',
    });
    expect(container.resources.limits.memory).toBe('256Mi');
  });

  it('keeps the V8 heap limit under the container memory limit', () => {
    const [deployment] = synth({ memoryLimitMiB: 1024 }).byKind('Deployment');
    const [container] = deployment.spec!.template.spec.containers;
    expect(container.resources.limits.memory).toBe('1024Mi');
    expect(container.env).toContainEqual({ name: 'NODE_OPTIONS', value: operatorNodeOptions(1024) });
    expect(operatorNodeOptions(1024)).toContain('--max-old-space-size=768');
    expect(() => synth({ memoryLimitMiB: 64 })).toThrow(
      'memoryLimitMiB: must be a whole number of MiB >= 128, got 64',
    );
  });

  it('includes the CRDs unless told not to', () => {
    expect(
      synth()
        .byKind('CustomResourceDefinition')
        .map((c) => c.metadata.name),
    ).toEqual([`${BEACON.plural}.keelson.dev`]);
    expect(synth({ includeCrds: false }).byKind('CustomResourceDefinition')).toEqual([]);
  });

  it('never lets the operator write Secrets, create or delete PersistentVolumeClaims, or touch other API groups', () => {
    const [role] = synth().byKind('ClusterRole');
    const rules = role.rules!;
    for (const rule of rules) {
      if (rule.resources.includes('secrets')) expect(rule.verbs.sort()).toEqual(['list', 'watch']);
      if (rule.resources.includes('persistentvolumeclaims'))
        expect(rule.verbs.sort()).toEqual(['list', 'patch']);
      expect(rule.verbs).not.toContain('*');
      expect(rule.resources).not.toContain('*');
    }
    expect(rules.flatMap((r) => r.apiGroups).sort()).toEqual(
      expect.not.arrayContaining(['*', 'rbac.authorization.k8s.io', 'apiextensions.k8s.io']),
    );
  });
});
