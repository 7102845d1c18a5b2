import { Chart, Testing } from 'cdk8s';
import { PRODUCTS } from '../apps/keelson';
import { OperatorDeployment } from '../lib/operator/deployment';
import { GUARDED_POD_FIELDS, podOverridePolicy } from '../lib/operator/pod-override-policy';
import { secretNameFields } from '../lib/operator/secret-name-fields';
import { HIVE, TRINO_CATALOG, ZOOKEEPER } from '../constructs';
import { API_GROUP } from '../lib/stacklet/product';

interface Policy {
  kind: string;
  metadata: { name: string };
  spec: {
    failurePolicy?: string;
    matchConstraints?: {
      resourceRules: { apiGroups: string[]; operations: string[]; resources: string[] }[];
    };
    variables?: { name: string; expression: string }[];
    validations?: { expression: string; message: string; messageExpression: string; reason: string }[];
    policyName?: string;
    validationActions?: string[];
  };
}

describe('the pod-override admission policy', () => {
  const [policy, binding] = podOverridePolicy(PRODUCTS, 'keelson-operator') as unknown as Policy[];

  it('matches creates and updates of every product kind, and no subresource', () => {
    expect(policy.kind).toBe('ValidatingAdmissionPolicy');
    expect(policy.spec.failurePolicy).toBe('Fail');
    expect(policy.spec.matchConstraints!.resourceRules).toEqual([
      {
        apiGroups: [API_GROUP],
        apiVersions: ['*'],
        operations: ['CREATE', 'UPDATE'],
        resources: PRODUCTS.map((p) => p.plural).sort(),
      },
    ]);
  });

  it('is bound to deny, in every namespace', () => {
    expect(binding).toEqual({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: 'keelson-operator-pod-overrides', labels: {} },
      spec: { policyName: 'keelson-operator-pod-overrides', validationActions: ['Deny'] },
    });
  });

  it('refuses each guarded field unless the requester may create pods, naming the field and why', () => {
    const fields = GUARDED_POD_FIELDS.map((f) => f.field);
    for (const wanted of [
      'privileged',
      'capabilities.add',
      'hostNetwork',
      'hostPID',
      'hostIPC',
      'hostPath',
      'runAsUser',
      'serviceAccountName',
      'allowPrivilegeEscalation',
      'hostPort',
      'Unconfined',
      'sysctls',
      'seLinuxOptions',
      'appArmorProfile',
      'procMount',
      'hostProcess',
      'secretKeyRef',
    ])
      expect(fields.some((f) => f.includes(wanted))).toBe(true);
    const validations = policy.spec.validations!;
    const secretFields = PRODUCTS.reduce((n, p) => n + secretNameFields(p.specSchema).length, 0);
    expect(validations).toHaveLength(2 * GUARDED_POD_FIELDS.length + 1 + secretFields);
    const variables = Object.fromEntries(policy.spec.variables!.map((v) => [v.name, v.expression]));
    // Both roads to a pod template: podOverrides, and objectOverrides onto a generated workload.
    for (const [source, prefix] of [
      ['podOverrides', 'podOverrides'],
      ['objectOverrides', 'objectOverrides[].spec.template'],
    ]) {
      for (const f of GUARDED_POD_FIELDS) {
        const validation = validations.find((v) => v.message.startsWith(`${prefix}: ${f.field} `));
        expect(validation).toMatchObject({
          expression: `variables.unchanged || !variables.${source}.exists(ts, ts.exists(t, ${f.set})) || variables.mayCreatePods`,
          message: expect.stringContaining('may be set only by a user who may create pods'),
          reason: 'Forbidden',
        });
        expect(validation!.message).toContain(f.why);
      }
      expect(variables.unchanged).toContain(`variables.${source} == variables.old_${source}`);
    }
    // An objectOverrides item takes the right to create its kind.
    expect(validations[0]).toMatchObject({
      expression: 'variables.objectOverridesUnchanged || size(variables.forbiddenObjectOverrides) == 0',
      reason: 'Forbidden',
    });
    expect(variables.forbiddenObjectOverrides).toContain("'apps/v1/StatefulSet': ['apps', 'statefulsets']");
    expect(variables.forbiddenObjectOverrides).toContain("'v1/Service': ['', 'services']");
    expect(variables.mayCreatePods).toBe(
      "authorizer.group('').resource('pods').namespace(request.namespace).check('create').allowed()",
    );
    // Both the role's and each role group's podOverrides are judged, and objectOverrides' templates.
    expect(variables.podOverrides).toContain('r.podOverrides');
    expect(variables.podOverrides).toContain('r.roleGroups[g].podOverrides');
    expect(variables.objectOverrides).toContain('o.spec.template');
  });

  it("finds the spec's Secret names by keelson's naming rule, past unions, lists and maps", () => {
    const paths = (p: typeof HIVE) => secretNameFields(p.specSchema).map((f) => f.path);
    expect(paths(ZOOKEEPER)).toEqual(['image.pullSecrets[].name']);
    expect(paths(HIVE)).toEqual([
      'clusterConfig.database.credentialsSecretName',
      'clusterConfig.s3.inline.credentials.secretName',
      'image.pullSecrets[].name',
    ]);
    expect(paths(TRINO_CATALOG as typeof HIVE)).toEqual(
      expect.arrayContaining([
        'connector.generic.secretProperties.*.secretName',
        'connector.postgresql.credentialsSecretName',
      ]),
    );
  });

  it('lets a spec name only Secrets the requester may read, unless it named them before or the requester may create pods', () => {
    const hive = policy.spec.validations!.find((v) =>
      v.message.startsWith(
        'clusterConfig.database.credentialsSecretName: a HiveCluster may name only a Secret',
      ),
    );
    expect(hive).toBeDefined();
    expect(hive!.expression).toContain(
      "request.resource.resource != 'hiveclusters' || variables.mayCreatePods",
    );
    // The requester's right is asked of that very Secret, and a name the old object had passes.
    expect(hive!.expression).toContain(
      "authorizer.group('').resource('secrets').namespace(request.namespace).name(string(object.spec.clusterConfig.database.credentialsSecretName)).check('get').allowed()",
    );
    expect(hive!.expression).toContain(
      'oldObject.spec.clusterConfig.database.credentialsSecretName == object.spec.clusterConfig.database.credentialsSecretName',
    );
    expect(hive!.reason).toBe('Forbidden');
  });

  it('is part of the operator deployment unless turned off', () => {
    const kinds = (includePodOverridePolicy?: boolean) => {
      const chart = new Chart(Testing.app(), 'operator');
      new OperatorDeployment(chart, 'keelson', {
        products: PRODUCTS,
        namespace: 'keelson-system',
        includePodOverridePolicy,
      });
      return (Testing.synth(chart) as Policy[]).map((o) => o.kind);
    };
    expect(kinds()).toEqual(
      expect.arrayContaining(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']),
    );
    expect(kinds(false)).not.toContain('ValidatingAdmissionPolicy');
  });
});
