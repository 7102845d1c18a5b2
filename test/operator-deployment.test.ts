import { Chart, Testing } from 'cdk8s';
import { operatorNodeOptions, OperatorDeployment } from '../lib/operator/deployment';
import { BEACON } from './example-product/beacon';

interface Rule {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
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
    metadata: { name: string; namespace?: string };
    spec?: Record<string, any>;
    rules?: Rule[];
    roleRef?: { kind: string; name: string };
    subjects?: { kind: string; name: string; namespace: string }[];
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
      expect.arrayContaining(['operator', '--leader-election', '--watch-namespaces', 'data,streaming']),
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

  it("includes the products' CRDs, TlsClass's, ListenerClass's and AuthenticationClass's unless told not to", () => {
    expect(
      synth()
        .byKind('CustomResourceDefinition')
        .map((c) => c.metadata.name),
    ).toEqual([
      `${BEACON.plural}.keelson.dev`,
      'tlsclasses.keelson.dev',
      'listenerclasses.keelson.dev',
      'authenticationclasses.keelson.dev',
    ]);
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

  it('writes its own Namespace, unless told not to', () => {
    const { byKind } = synth();
    expect(byKind('Namespace').map((n) => n.metadata.name)).toEqual(['keelson-system']);
    expect(synth({ includeNamespace: false }).byKind('Namespace')).toEqual([]);
  });

  it('watching every namespace, binds a ClusterRole to its ServiceAccount', () => {
    const { byKind } = synth();
    expect(byKind('ClusterRole').map((r) => r.metadata.name)).toEqual(['keelson-operator']);
    const [binding] = byKind('ClusterRoleBinding');
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'keelson-operator', namespace: 'keelson-system' },
    ]);
    // Its own namespace's Role holds only the CAs' Secrets.
    expect(byKind('Role').map((r) => `${r.metadata.namespace}/${r.metadata.name}`)).toEqual([
      'keelson-system/keelson-operator-tls-ca',
    ]);
    const [container] = byKind('Deployment')[0].spec!.template.spec.containers;
    expect(container.args).not.toContain('--watch-namespaces');
  });

  it('watching some namespaces, grants a Role in each of them and across the cluster only StorageClasses, TlsClasses, ListenerClasses, AuthenticationClasses, Nodes (read) and the signer kinds', () => {
    const { byKind } = synth({ watchNamespaces: ['data', 'streaming', 'data'] });
    expect(byKind('ClusterRole').map((r) => r.rules)).toEqual([
      [
        { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get'] },
        {
          apiGroups: ['keelson.dev'],
          resources: ['authenticationclasses', 'listenerclasses', 'tlsclasses'],
          verbs: ['get', 'list', 'watch'],
        },
        // Nodes' addresses, for per-pod listeners of NodePort classes: read only.
        { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
        {
          apiGroups: ['certificates.k8s.io'],
          resources: ['signers'],
          resourceNames: ['keelson.dev/*'],
          verbs: ['sign', 'attest'],
        },
        {
          apiGroups: ['certificates.k8s.io'],
          resources: ['clustertrustbundles'],
          verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
        },
      ],
    ]);
    expect(byKind('ClusterRoleBinding').map((b) => b.roleRef)).toEqual([
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'keelson-operator' },
    ]);
    const where = (kind: string) => byKind(kind).map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
    expect(where('Role')).toEqual([
      'data/keelson-operator',
      'streaming/keelson-operator',
      'keelson-system/keelson-operator-leader-election',
      'keelson-system/keelson-operator-tls-ca',
    ]);
    expect(where('RoleBinding')).toEqual(where('Role'));
    for (const binding of byKind('RoleBinding')) {
      expect(binding.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: binding.metadata.name,
      });
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: 'keelson-operator', namespace: 'keelson-system' },
      ]);
    }
    const [data, , leader] = byKind('Role');
    // The Lease only in its own namespace; the stacklets, children, Secrets and Events only where it watches.
    expect(leader.rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
    ]);
    expect(data.rules!.flatMap((r) => r.resources)).not.toContain('leases');
    expect(data.rules!.flatMap((r) => r.resources)).toEqual(
      expect.arrayContaining([BEACON.plural, `${BEACON.plural}/status`, 'statefulsets', 'secrets', 'events']),
    );
  });

  it('signs Pod Certificates for keelson.dev signers only, and reads and creates Secrets only in its own namespace', () => {
    for (const watchNamespaces of [undefined, ['data']]) {
      const { byKind } = synth({ watchNamespaces });
      const clusterRules = byKind('ClusterRole').flatMap((r) => r.rules!);
      const signers = clusterRules.filter((r) => r.resources.includes('signers'));
      expect(signers).toEqual([
        {
          apiGroups: ['certificates.k8s.io'],
          resources: ['signers'],
          resourceNames: ['keelson.dev/*'],
          verbs: ['sign', 'attest'],
        },
      ]);
      const roles = byKind('Role');
      const requests = [...clusterRules, ...roles.flatMap((r) => r.rules!)].filter((r) =>
        r.resources.some((resource) => resource.startsWith('podcertificaterequests')),
      );
      expect(requests.map((r) => [r.resources, r.verbs])).toEqual([
        [['podcertificaterequests'], ['get', 'list', 'watch']],
        [['podcertificaterequests/status'], ['update']],
      ]);
      // Secrets beyond list/watch (the metadata cache) only in the operator's namespace, by a Role.
      const secretWriters = [
        ...byKind('ClusterRole').map((r) => ({ where: 'cluster', rules: r.rules! })),
        ...roles.map((r) => ({ where: r.metadata.namespace, rules: r.rules! })),
      ].flatMap(({ where, rules }) =>
        rules
          .filter(
            (r) => r.resources.includes('secrets') && r.verbs.some((v) => v !== 'list' && v !== 'watch'),
          )
          .map((r) => ({ where, verbs: r.verbs })),
      );
      expect(secretWriters).toEqual([{ where: 'keelson-system', verbs: ['get', 'create', 'update'] }]);
    }
  });

  it("may read the Secrets of the user's CAs it is told of, by name, in their namespaces, and nothing else there", () => {
    const caSecrets = [
      { namespace: 'security', name: 'corp-ca' },
      { namespace: 'security', name: 'team-ca' },
      { namespace: 'data', name: 'data-ca' },
    ];
    for (const watchNamespaces of [undefined, ['data']]) {
      const { byKind } = synth({ watchNamespaces, caSecrets });
      const caRoles = byKind('Role').filter((r) => r.metadata.name === 'keelson-operator-ca-secrets');
      expect(caRoles.map((r) => [r.metadata.namespace, r.rules])).toEqual([
        ['data', [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['data-ca'], verbs: ['get'] }]],
        [
          'security',
          [
            {
              apiGroups: [''],
              resources: ['secrets'],
              resourceNames: ['corp-ca', 'team-ca'],
              verbs: ['get'],
            },
          ],
        ],
      ]);
      const bindings = byKind('RoleBinding').filter((r) => r.metadata.name === 'keelson-operator-ca-secrets');
      expect(bindings.map((b) => [b.metadata.namespace, b.roleRef, b.subjects])).toEqual(
        ['data', 'security'].map((ns) => [
          ns,
          { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'keelson-operator-ca-secrets' },
          [{ kind: 'ServiceAccount', name: 'keelson-operator', namespace: 'keelson-system' }],
        ]),
      );
      // Never cluster-wide.
      for (const role of byKind('ClusterRole'))
        expect(role.rules!.filter((r) => r.resources.includes('secrets') && r.verbs.includes('get'))).toEqual(
          [],
        );
    }
    expect(() => synth({ caSecrets: [{ namespace: 'Security', name: 'corp_ca' }] })).toThrow(
      /caSecrets: namespace "Security" must consist[\s\S]*caSecrets: Secret name "corp_ca" must consist/,
    );
  });

  it('rejects namespace names Kubernetes would refuse, naming the setting and the rule', () => {
    expect(() => synth({ namespace: 'Keelson_System', watchNamespaces: ['data', 'x'.repeat(64)] })).toThrow(
      [
        'OperatorDeployment "keelson" is invalid:',
        `  - namespace: namespace "Keelson_System" must consist of lower case letters, digits and '-', and start and end with a letter or digit.`,
        `  - watchNamespaces: namespace "${'x'.repeat(64)}" is 64 characters long; the limit is 63. Use a shorter stacklet, role group or object name.`,
      ].join('\n'),
    );
  });
});
