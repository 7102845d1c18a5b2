import { Chart, Testing } from 'cdk8s';
import { PRODUCTS } from '../apps/keelson';
import { OperatorDeployment } from '../lib/operator/deployment';
import { GUARDED_POD_FIELDS, podOverridePolicy } from '../lib/operator/pod-override-policy';
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
    ])
      expect(fields.some((f) => f.includes(wanted))).toBe(true);
    const validations = policy.spec.validations!;
    expect(validations).toHaveLength(2 * GUARDED_POD_FIELDS.length + 1);
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
