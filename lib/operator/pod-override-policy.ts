/**
 * The admission policy that keeps the operator from being a way around RBAC. The operator creates
 * a stacklet's pods with its own rights, so without this a user who may only create a stacklet
 * could, through `podOverrides` (a role's or a role group's), have it create privileged pods, pods
 * in the node's namespaces, pods mounting the node's filesystem, pods running as root, or pods
 * running as any ServiceAccount of the namespace — things that user's own RBAC may forbid. The
 * same goes for `objectOverrides` that reach a generated workload's pod template.
 *
 * A ValidatingAdmissionPolicy on every stacklet kind lets a create or update set such a field
 * only when the requester may create pods in that namespace themselves (CEL admission's
 * `authorizer` asks the API server's authorizers, the same question a pod create would). An
 * update that leaves every podOverrides as it was is not judged again, so a stacklet an
 * administrator wrote stays editable (labels, replicas) by those who may edit stacklets.
 */
import { API_GROUP, type ProductDefinition } from '../stacklet/product';
import { CHILD_RESOURCES, OPTIONAL_CHILD_RESOURCES } from './resources';
import { anySecretName, secretNameFields } from './secret-name-fields';

/** A field of a pod template that only those who may create pods may set through an override. */
interface GuardedField {
  /** Its path inside a podOverrides (a PodTemplateSpec), as the refusal names it. */
  readonly field: string;
  /** Why it is guarded, for the refusal. */
  readonly why: string;
  /** A CEL predicate on one pod template `t` (a dynamic map) that is true when the field is set so. */
  readonly set: string;
}

/** A CEL predicate true when any container or init container `c` of template `t` satisfies `pred`. */
function anyContainer(pred: string): string {
  return (
    '(has(t.spec) && ' +
    `((has(t.spec.containers) && t.spec.containers.exists(c, ${pred})) || ` +
    `(has(t.spec.initContainers) && t.spec.initContainers.exists(c, ${pred}))))`
  );
}

/**
 * A CEL predicate true when the pod's security context or any container's, as `s`, satisfies
 * `pred` (the fields both levels share).
 */
function podOrContainerSecurity(pred: string): string {
  return (
    `((has(t.spec) && has(t.spec.securityContext) && [t.spec.securityContext].exists(s, ${pred})) || ` +
    anyContainer(`has(c.securityContext) && [c.securityContext].exists(s, ${pred})`) +
    ')'
  );
}

/** A CEL predicate true when `t.spec.<name>` is `true`. */
function podFlag(name: string): string {
  return `(has(t.spec) && has(t.spec.${name}) && t.spec.${name} == true)`;
}

/** Each guarded field, with the predicate that finds it and the reason the refusal gives. */
export const GUARDED_POD_FIELDS: readonly GuardedField[] = [
  {
    field: 'spec.containers[].securityContext.privileged',
    why: 'a privileged container has the node',
    set: anyContainer(
      'has(c.securityContext) && has(c.securityContext.privileged) && c.securityContext.privileged == true',
    ),
  },
  {
    field: 'spec.containers[].securityContext.capabilities.add',
    why: 'added capabilities reach past the container',
    set: anyContainer(
      'has(c.securityContext) && has(c.securityContext.capabilities) && ' +
        'has(c.securityContext.capabilities.add) && size(c.securityContext.capabilities.add) > 0',
    ),
  },
  {
    field: 'spec.hostNetwork',
    why: "the pod would share the node's network",
    set: podFlag('hostNetwork'),
  },
  { field: 'spec.hostPID', why: "the pod would see the node's processes", set: podFlag('hostPID') },
  { field: 'spec.hostIPC', why: "the pod would share the node's IPC", set: podFlag('hostIPC') },
  {
    field: 'spec.volumes[].hostPath',
    why: "a hostPath volume mounts the node's filesystem",
    set: '(has(t.spec) && has(t.spec.volumes) && t.spec.volumes.exists(v, has(v.hostPath)))',
  },
  {
    field: 'spec.securityContext.runAsUser / spec.containers[].securityContext.runAsUser',
    why: 'user 0 is root',
    set: podOrContainerSecurity('has(s.runAsUser) && s.runAsUser == 0'),
  },
  {
    field: 'spec.containers[].securityContext.allowPrivilegeEscalation',
    why: 'a process could gain more privileges than its parent',
    set: anyContainer(
      'has(c.securityContext) && has(c.securityContext.allowPrivilegeEscalation) && ' +
        'c.securityContext.allowPrivilegeEscalation == true',
    ),
  },
  {
    field: 'spec.containers[].ports[].hostPort',
    why: "a host port takes the node's address",
    set: anyContainer('has(c.ports) && c.ports.exists(p, has(p.hostPort) && p.hostPort != 0)'),
  },
  {
    field: 'securityContext.seccompProfile.type: Unconfined',
    why: 'an unconfined container may make any system call',
    set: podOrContainerSecurity(
      "has(s.seccompProfile) && has(s.seccompProfile.type) && s.seccompProfile.type == 'Unconfined'",
    ),
  },
  {
    field: 'spec.securityContext.sysctls',
    why: "sysctls change the kernel's settings, and some reach past the pod",
    set: '(has(t.spec) && has(t.spec.securityContext) && has(t.spec.securityContext.sysctls) && size(t.spec.securityContext.sysctls) > 0)',
  },
  {
    field: 'securityContext.seLinuxOptions',
    why: 'an SELinux label decides what the processes may touch on the node',
    set: podOrContainerSecurity('has(s.seLinuxOptions)'),
  },
  {
    field: 'securityContext.appArmorProfile.type: Unconfined',
    why: 'an unconfined container runs without the AppArmor profile that confines it',
    set:
      '(' +
      podOrContainerSecurity(
        "has(s.appArmorProfile) && has(s.appArmorProfile.type) && s.appArmorProfile.type == 'Unconfined'",
      ) +
      " || (has(t.metadata) && has(t.metadata.annotations) && t.metadata.annotations.exists(k, k.startsWith('container.apparmor.security.beta.kubernetes.io/') && t.metadata.annotations[k] == 'unconfined')))",
  },
  {
    field: 'spec.containers[].securityContext.procMount: Unmasked',
    why: "an unmasked /proc shows the node's kernel interfaces",
    set: anyContainer(
      "has(c.securityContext) && has(c.securityContext.procMount) && c.securityContext.procMount == 'Unmasked'",
    ),
  },
  {
    field: 'securityContext.windowsOptions.hostProcess',
    why: 'a host process container runs on the node itself',
    set: podOrContainerSecurity(
      'has(s.windowsOptions) && has(s.windowsOptions.hostProcess) && s.windowsOptions.hostProcess == true',
    ),
  },
  {
    // Anyone who may create pods may mount any Secret of the namespace; someone who may only
    // create stacklets must not gain that through the operator.
    field: 'a Secret (spec.volumes[].secret, projected secret sources, env secretKeyRef, envFrom secretRef)',
    why: 'the pods would read a Secret the requester may not read',
    set:
      '((has(t.spec) && has(t.spec.volumes) && t.spec.volumes.exists(v, has(v.secret) || ' +
      '(has(v.projected) && has(v.projected.sources) && v.projected.sources.exists(p, has(p.secret))))) || ' +
      anyContainer(
        '(has(c.env) && c.env.exists(e, has(e.valueFrom) && has(e.valueFrom.secretKeyRef))) || ' +
          '(has(c.envFrom) && c.envFrom.exists(e, has(e.secretRef)))',
      ) +
      ')',
  },
  {
    field: 'spec.serviceAccountName',
    why: "the pods would run with that ServiceAccount's rights",
    set: '(has(t.spec) && (has(t.spec.serviceAccountName) || has(t.spec.serviceAccount)))',
  },
];

/**
 * The podOverrides of a stacklet's spec, as a list of lists: for each role, its own podOverrides
 * and each role group's. The spec's roles differ per product, so every map-valued field of the
 * spec is looked at; only roles have podOverrides or roleGroups.
 */
function podOverrides(root: 'object' | 'oldObject'): string {
  const roles = `${root}.spec.filter(k, type(${root}.spec[k]) == map).map(k, ${root}.spec[k])`;
  return (
    `${root} == null || !has(${root}.spec) ? [] : ${roles}.map(r, ` +
    '(has(r.podOverrides) ? [r.podOverrides] : []) + ' +
    '(has(r.roleGroups) && type(r.roleGroups) == map ? ' +
    'r.roleGroups.filter(g, type(r.roleGroups[g]) == map && has(r.roleGroups[g].podOverrides))' +
    '.map(g, r.roleGroups[g].podOverrides) : []))'
  );
}

/**
 * The pod templates the spec's objectOverrides merge onto generated workloads (StatefulSets,
 * Deployments, DaemonSets: `spec.template`), as a list of one list: the same pod, another road.
 */
function objectOverrideTemplates(root: 'object' | 'oldObject'): string {
  return (
    `${root} == null || !has(${root}.spec) || !has(${root}.spec.objectOverrides) ? [] : ` +
    `[${root}.spec.objectOverrides.filter(o, type(o) == map && has(o.spec) && type(o.spec) == map && ` +
    'has(o.spec.template)).map(o, o.spec.template)]'
  );
}

/** Where a guarded field may be set, as the refusal names it, and the CEL that lists those templates. */
const SOURCES = [
  { name: 'podOverrides', prefix: 'podOverrides', templates: podOverrides },
  {
    name: 'objectOverrides',
    prefix: 'objectOverrides[].spec.template',
    templates: objectOverrideTemplates,
  },
] as const;

/**
 * The kinds an objectOverrides item may name, as a CEL map from `<apiVersion>/<kind>` to the
 * [group, resource] the authorizer is asked about.
 */
function childKinds(): string {
  const entries = [...CHILD_RESOURCES, ...OPTIONAL_CHILD_RESOURCES].map((r) => {
    const group = r.apiVersion.includes('/') ? r.apiVersion.split('/')[0] : '';
    return `'${r.apiVersion}/${r.kind}': ['${group}', '${r.plural}']`;
  });
  return `{${entries.join(', ')}}`;
}

/**
 * The objectOverrides items whose kind the requester may not create in the namespace, as
 * `<kind>/<name>`: an override edits an object the operator writes with its own rights (a
 * Service's externalIPs, a NetworkPolicy's ingress), so it takes the right to write that kind.
 * Items naming no kind keelson generates are left to the operator, which refuses them.
 */
const FORBIDDEN_OBJECT_OVERRIDES =
  '!has(object.spec) || !has(object.spec.objectOverrides) ? [] : ' +
  `object.spec.objectOverrides.filter(o, type(o) == map && has(o.apiVersion) && has(o.kind) && ` +
  `string(o.apiVersion) + '/' + string(o.kind) in ${childKinds()} && ` +
  `!authorizer.group(${childKinds()}[string(o.apiVersion) + '/' + string(o.kind)][0])` +
  `.resource(${childKinds()}[string(o.apiVersion) + '/' + string(o.kind)][1])` +
  ".namespace(request.namespace).check('create').allowed())" +
  ".map(o, string(o.kind) + '/' + (has(o.metadata) && has(o.metadata.name) ? string(o.metadata.name) : '?'))";

/** Whether an update leaves the spec's objectOverrides as they were. */
const OBJECT_OVERRIDES_UNCHANGED =
  "request.operation == 'UPDATE' && " +
  '(has(object.spec) && has(object.spec.objectOverrides) ? object.spec.objectOverrides : []) == ' +
  '(oldObject != null && has(oldObject.spec) && has(oldObject.spec.objectOverrides) ? oldObject.spec.objectOverrides : [])';

/**
 * One validation per field of a product's spec that names a Secret: a create or update may name
 * there only Secrets the requester may read, or that the stacklet named before (so an
 * administrator's stacklet stays editable), unless the requester may create pods.
 */
function secretNameValidations(products: readonly ProductDefinition[]): Record<string, string>[] {
  return products.flatMap((product) =>
    secretNameFields(product.specSchema).map((field) => {
      const namedBefore = (n: string) =>
        `(oldObject != null && has(oldObject.spec) && ${anySecretName(field, 'oldObject.spec', (m) => `${m} == ${n}`, 1)})`;
      const mayRead = (n: string) =>
        `authorizer.group('').resource('secrets').namespace(request.namespace).name(string(${n})).check('get').allowed()`;
      const rule = `${field.path}: a ${product.kind} may name only a Secret the requester may read (get) in this namespace (its pods would read it with the operator's rights)`;
      return {
        expression:
          `request.resource.resource != '${product.plural}' || variables.mayCreatePods || !has(object.spec) || ` +
          `!${anySecretName(field, 'object.spec', (n) => `!${namedBefore(n)} && !${mayRead(n)}`)}`,
        message: rule,
        messageExpression: `${JSON.stringify(`${rule}: `)} + request.userInfo.username + ' may not read every Secret named there in namespace ' + request.namespace`,
        reason: 'Forbidden',
      };
    }),
  );
}

/** Names a policy's objects after the operator's own name (`keelson-operator` unless told). */
export function podOverridePolicyName(operatorName: string): string {
  return `${operatorName}-pod-overrides`;
}

/**
 * The ValidatingAdmissionPolicy and its binding (cluster-scoped, every namespace) for the kinds of
 * `products`.
 */
export function podOverridePolicy(
  products: readonly ProductDefinition[],
  operatorName: string,
  labels: Record<string, string> = {},
): Record<string, unknown>[] {
  const name = podOverridePolicyName(operatorName);
  const group = 'admissionregistration.k8s.io';
  const policy = {
    apiVersion: `${group}/v1`,
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name, labels },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: [API_GROUP],
            apiVersions: ['*'],
            operations: ['CREATE', 'UPDATE'],
            resources: products.map((p) => p.plural).sort(),
          },
        ],
      },
      variables: [
        ...SOURCES.flatMap((source) => [
          { name: source.name, expression: source.templates('object') },
          { name: `old_${source.name}`, expression: source.templates('oldObject') },
        ]),
        {
          // An update that leaves every pod template override as it was is not judged again.
          name: 'unchanged',
          expression:
            "request.operation == 'UPDATE' && " +
            SOURCES.map((source) => `variables.${source.name} == variables.old_${source.name}`).join(' && '),
        },
        { name: 'objectOverridesUnchanged', expression: OBJECT_OVERRIDES_UNCHANGED },
        { name: 'forbiddenObjectOverrides', expression: FORBIDDEN_OBJECT_OVERRIDES },
        {
          name: 'mayCreatePods',
          expression:
            "authorizer.group('').resource('pods').namespace(request.namespace).check('create').allowed()",
        },
      ],
      validations: [
        {
          // A messageExpression has no authorizer (nor variables that use it): it names every item.
          expression: 'variables.objectOverridesUnchanged || size(variables.forbiddenObjectOverrides) == 0',
          message:
            'objectOverrides: an override of a kind may be set only by a user who may create that kind in this namespace (the operator would write it with its own rights)',
          messageExpression:
            "'objectOverrides: an override of a kind may be set only by a user who may create that kind in this namespace (the operator would write it with its own rights): ' + " +
            "request.userInfo.username + ' may not create all of ' + object.spec.objectOverrides.map(o, string(o.kind) + '/' + (has(o.metadata) && has(o.metadata.name) ? string(o.metadata.name) : '?')).join(', ') + ' in namespace ' + request.namespace",
          reason: 'Forbidden',
        },
        ...SOURCES.flatMap((source) =>
          GUARDED_POD_FIELDS.map((f) => {
            const rule = `${source.prefix}: ${f.field} may be set only by a user who may create pods in this namespace (${f.why}; the operator would create them with its own rights)`;
            return {
              expression:
                `variables.unchanged || !variables.${source.name}.exists(ts, ts.exists(t, ${f.set})) || ` +
                'variables.mayCreatePods',
              message: rule,
              messageExpression: `${JSON.stringify(`${rule}: `)} + request.userInfo.username + ' may not create pods in namespace ' + request.namespace`,
              reason: 'Forbidden',
            };
          }),
        ),
        ...secretNameValidations(products),
      ],
    },
  };
  const binding = {
    apiVersion: `${group}/v1`,
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name, labels },
    spec: { policyName: name, validationActions: ['Deny'] },
  };
  return [policy, binding];
}
