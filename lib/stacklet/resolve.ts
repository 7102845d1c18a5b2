/**
 * The pure steps before building: resolve the image, merge each role group's config
 * (product defaults ← role ← role group; the more specific wins), validate the merged result, and
 * check every generated name against Kubernetes' rules. The result is a `StackletContext`, which
 * the build step turns into objects.
 *
 * Merge rules:
 * - `config`: deep merge; objects merge key by key, lists and scalars are replaced.
 * - `configOverrides`: per file, key by key (group keys win over role keys).
 * - `envOverrides`: by variable name (group wins).
 * - `cliOverrides`: role arguments, then group arguments.
 * - `podOverrides`: role then group, each merged onto the generated pod template with Kubernetes'
 *   list-merge keys (see lib/merge.ts).
 * - `jvmArgumentOverrides`: the role's applied first, then the group's.
 */
import { logAggregatorEndpoint } from '../logging/agent';
import { deepMerge } from '../merge';
import { parseDurationSeconds } from '../duration';
import { applyJvmArgumentOverrides, jvmArgumentOverridesProblems } from '../jvm';
import { jvmHeapFromMemory, jvmHeapProblems } from '../resources';
import { headlessServiceName, nameProblems, roleGroupName } from '../naming';
import type {
  AnyRoleGroupSpec,
  AnyRoleSpec,
  AnyStackletSpec,
  CommonClusterConfigSpec,
} from '../spec/stacklet-spec';
import { specProblems, SpecValidationError } from '../spec/validate';
import { Type } from '@sinclair/typebox';
import {
  resolveReferences,
  type ReferencedObject,
  type ReferencesHook,
  type ResolvedReferences,
} from './references';
import { CLOSED, CommonConfigProperties } from '../spec/common';
import { findListenerClass, type ListenerClassInfo, DEFAULT_LISTENER_CLASS } from '../listener/class';
import { roleGroupListener } from '../listener/pod-listener';
import { resolveStackletTls, roleGroupTls, type StackletTls, type TlsClassInfo } from '../tls/pod-tls';
import type { AuthenticationClassInfo } from '../authentication/class';
import { resolveStackletAuthentication } from '../authentication/stacklet-authentication';
import type {
  OperatorPods,
  ProductDefinition,
  ProductImages,
  ResolvedCommonConfig,
  ResolvedImage,
  ResolvedRoleGroup,
  RoleDefinition,
  StackletContext,
} from './product';

/** The name of the role group a role gets when the spec names none. */
export const DEFAULT_ROLE_GROUP = 'default';

/** Picks the image from the product's versions table, or the user's custom image. */
export function resolveImage(
  images: ProductImages,
  spec: AnyStackletSpec['image'] = {},
): ResolvedImage | string {
  const productVersion = spec.productVersion ?? images.defaultVersion;
  const tag = images.versions[productVersion];
  if (!spec.custom && tag === undefined) {
    return (
      `spec.image.productVersion: version "${productVersion}" is not supported; supported versions: ` +
      `${Object.keys(images.versions).join(', ')} (or set spec.image.custom to run an image of your own)`
    );
  }
  return {
    image: spec.custom ?? `${spec.repository ?? images.repository}:${tag}`,
    productVersion,
    pullPolicy: spec.pullPolicy ?? 'IfNotPresent',
    pullSecrets: spec.pullSecrets ?? [],
  };
}

// Merged configs are checked against the role's config schema once more: a role may set cpu.min and
// a group cpu.max, and only the merge shows whether they agree.
const mergedConfigSchemas = new WeakMap<RoleDefinition, ReturnType<typeof Type.Object>>();
function mergedConfigSchema(role: RoleDefinition) {
  let schema = mergedConfigSchemas.get(role);
  if (!schema) {
    schema = Type.Object({ ...CommonConfigProperties, ...role.config }, CLOSED);
    mergedConfigSchemas.set(role, schema);
  }
  return schema;
}

interface NamingInput {
  readonly name: string;
  readonly namespace?: string;
  readonly clusterDomain: string;
}

function resolveRoleGroup(
  stacklet: NamingInput,
  role: RoleDefinition,
  defaults: ResolvedCommonConfig,
  roleSpec: AnyRoleSpec,
  group: string,
  groupSpec: AnyRoleGroupSpec,
  tls: StackletTls,
  listenerClass: ListenerClassInfo | undefined,
  problems: string[],
): ResolvedRoleGroup {
  const path = `spec.${role.name}.roleGroups.${group}`;
  const config = deepMerge(
    defaults as object,
    roleSpec.config ?? {},
    groupSpec.config ?? {},
  ) as ResolvedCommonConfig;
  for (const p of specProblems(
    mergedConfigSchema(role),
    config,
    `${path}.config (merged with role and defaults)`,
  )) {
    problems.push(p);
  }
  const workloadKind = role.workload ?? 'StatefulSet';
  if (workloadKind !== 'StatefulSet' && Object.keys(config.resources.storage ?? {}).length > 0) {
    problems.push(
      `${path}.config.resources.storage: the ${role.name} role runs a ${workloadKind}, whose pods have no ` +
        'persistent volumes; remove the storage (only StatefulSet roles take it)',
    );
  }
  if (parseDurationSeconds(config.gracefulShutdownTimeout) === undefined) {
    problems.push(`${path}.config.gracefulShutdownTimeout: not a duration`);
  }

  const files = new Set([
    ...Object.keys(roleSpec.configOverrides ?? {}),
    ...Object.keys(groupSpec.configOverrides ?? {}),
  ]);
  const configOverrides = Object.fromEntries(
    [...files].map((f) => [
      f,
      { ...(roleSpec.configOverrides?.[f] ?? {}), ...(groupSpec.configOverrides?.[f] ?? {}) },
    ]),
  );

  const workload = roleGroupName(stacklet.name, role.name, group);
  const headless = headlessServiceName(stacklet.name, role.name, group);
  problems.push(
    ...nameProblems(workload, 'statefulset', `${path}: the workload name`),
    ...nameProblems(headless, 'dns-label', `${path}: the headless Service name`),
  );

  const replicas = groupSpec.replicas ?? role.defaultReplicas ?? 1;
  const namespace = stacklet.namespace ?? 'default';
  const podAddresses = Array.from(
    { length: replicas },
    (_, i) => `${workload}-${i}.${headless}.${namespace}.svc.${stacklet.clusterDomain}`,
  );

  let jvmArguments: string[] = [];
  const jvmProblems = role.jvm
    ? [
        ...jvmHeapProblems(config.resources.memory.limit, `${path}.config.resources.memory.limit`, {
          fraction: role.jvm.heapFraction,
        }),
        ...jvmArgumentOverridesProblems(
          roleSpec.jvmArgumentOverrides,
          `spec.${role.name}.jvmArgumentOverrides`,
        ),
        ...jvmArgumentOverridesProblems(groupSpec.jvmArgumentOverrides, `${path}.jvmArgumentOverrides`),
      ]
    : [];
  problems.push(...jvmProblems);
  if (role.jvm && jvmProblems.length === 0) {
    const heap = jvmHeapFromMemory(config.resources.memory.limit, { fraction: role.jvm.heapFraction });
    const base = [...heap, ...role.jvm.arguments];
    jvmArguments = applyJvmArgumentOverrides(
      applyJvmArgumentOverrides(base, roleSpec.jvmArgumentOverrides),
      groupSpec.jvmArgumentOverrides,
    );
  }

  return {
    role: role.name,
    roleGroup: group,
    replicas,
    config,
    configOverrides,
    envOverrides: { ...(roleSpec.envOverrides ?? {}), ...(groupSpec.envOverrides ?? {}) },
    cliOverrides: [...(roleSpec.cliOverrides ?? []), ...(groupSpec.cliOverrides ?? [])],
    podOverrides: [roleSpec.podOverrides, groupSpec.podOverrides].filter((o): o is object => o !== undefined),
    jvmArguments,
    names: { workload, headlessService: headless, configMap: workload },
    podAddresses,
    tls: roleGroupTls(role.tls ?? [], tls),
    listener: roleGroupListener(
      role.podListener?.ports,
      listenerClass,
      workload,
      role.podListener?.bindsAdvertisedPort,
    ),
  };
}

/** The spec field that names the log aggregator's discovery ConfigMap. */
export const LOG_AGGREGATOR_PATH = 'spec.clusterConfig.logging.aggregatorConfigMapName';

function logAggregatorConfigMapName(spec: AnyStackletSpec): string | undefined {
  return (spec.clusterConfig as CommonClusterConfigSpec | undefined)?.logging?.aggregatorConfigMapName;
}

/**
 * Every discovery ConfigMap `spec` depends on, by the spec path that names it: the product's own
 * (`ProductDefinition.dependencies`) and the log aggregator's, which every product may name.
 * Synth mode looks them up in what it was given; the operator reads them and waits for them.
 */
export function stackletDependencies(
  product: ProductDefinition,
  spec: AnyStackletSpec,
  references: ResolvedReferences,
): Readonly<Record<string, string>> {
  const aggregator = logAggregatorConfigMapName(spec);
  return {
    ...(product.dependencies?.(spec as never, references) ?? {}),
    ...(aggregator ? { [LOG_AGGREGATOR_PATH]: aggregator } : {}),
  };
}

/** Inputs of the resolve step beside the spec. */
export interface ResolveInput {
  readonly name: string;
  readonly namespace?: string;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
  /** Contents of the discovery ConfigMaps the spec depends on, by name. @default - none */
  readonly dependencies?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** The keelson objects the spec may refer to (see `ProductDefinition.references`). @default - none */
  readonly objects?: readonly ReferencedObject[];
  /** Problems found outside the spec (see `StackletOptions.problems`). @default - none */
  readonly problems?: readonly string[];
  /** The TlsClasses that exist (see `StackletOptions.tlsClasses`). @default - none: TLS is off */
  readonly tlsClasses?: readonly TlsClassInfo[];
  /**
   * The ListenerClasses that exist beside the built-in three (see `StackletOptions.listenerClasses`).
   * @default - none: only the built-in classes
   */
  readonly listenerClasses?: readonly ListenerClassInfo[];
  /**
   * The AuthenticationClasses that exist (see `StackletOptions.authenticationClasses`).
   * @default - none
   */
  readonly authenticationClasses?: readonly AuthenticationClassInfo[];
  /**
   * The keelson operator builds the stacklet and writes its pods' per-pod listener addresses. In
   * synth mode nobody does, so a role with a per-pod listener may only name a ClusterIP class.
   * @default false
   */
  readonly builtByOperator?: boolean;
  /** The keelson operator's pods (see `StackletOptions.operatorPods`). @default - none */
  readonly operatorPods?: OperatorPods;
}

/**
 * Validates `spec` and resolves it into a StackletContext, or throws a SpecValidationError
 * listing every problem.
 */
export function resolveStacklet<Spec extends AnyStackletSpec>(
  product: ProductDefinition<Spec>,
  spec: Spec,
  input: ResolveInput,
): StackletContext<Spec> {
  const subject = `${product.kind} "${input.name}"`;
  const problems = [
    ...nameProblems(input.name, 'dns-label', 'metadata.name: the stacklet name'),
    ...specProblems(product.specSchema, spec),
    ...(input.problems ?? []),
  ];
  const roles = activeRoles(product, spec);
  if (!product.images && roles.length > 0) {
    throw new Error(
      `${product.kind} runs roles (${roles.map((r) => r.name).join(', ')}) but declares no images`,
    );
  }
  const image = product.images ? resolveImage(product.images, spec.image) : NO_IMAGE;
  if (typeof image === 'string') problems.push(image);
  const tls = resolveStackletTls(
    (spec.clusterConfig as CommonClusterConfigSpec | undefined)?.tls,
    input.tlsClasses ?? [],
  );
  if (roles.some((r) => (r.tls ?? []).length > 0)) problems.push(...tls.problems);
  const listenerClasses = resolveListenerClasses(roles, spec, input, problems);
  const authentication = resolveStackletAuthentication(
    (spec.clusterConfig as CommonClusterConfigSpec | undefined)?.authentication,
    input.authenticationClasses ?? [],
    product,
  );
  problems.push(...authentication.problems);
  let references: ResolvedReferences = {};
  if (problems.length === 0) {
    const resolution = resolveReferences(
      product.references?.bind(product) as ReferencesHook | undefined,
      spec,
      (kind) => (input.objects ?? []).filter((o) => o.kind === kind),
    );
    references = resolution.references;
    problems.push(
      ...resolution.missing.map(
        (m) => `${m}; pass it as a reference (synth mode) or create it (operator mode)`,
      ),
    );
  }
  if (problems.length === 0) {
    for (const [path, configMap] of Object.entries(stackletDependencies(product, spec, references))) {
      if (!input.dependencies?.[configMap]) {
        problems.push(
          `${path}: the discovery ConfigMap "${configMap}" is not known; pass the stacklet it belongs to as a ` +
            'reference (synth mode) or create it (operator mode)',
        );
      }
    }
  }
  let logAggregator: string | undefined;
  const aggregatorConfigMap = logAggregatorConfigMapName(spec);
  if (problems.length === 0 && aggregatorConfigMap) {
    const found = logAggregatorEndpoint(
      LOG_AGGREGATOR_PATH,
      aggregatorConfigMap,
      input.dependencies?.[aggregatorConfigMap],
    );
    if ('problem' in found) problems.push(found.problem);
    else logAggregator = found.endpoint;
  }
  if (problems.length > 0) throw new SpecValidationError(subject, problems);

  const naming = {
    name: input.name,
    namespace: input.namespace,
    clusterDomain: input.clusterDomain ?? 'cluster.local',
  };
  const partial = {
    ...naming,
    spec,
    image: image as ResolvedImage,
    dependencies: input.dependencies ?? {},
    references,
    roleGroups: [] as ResolvedRoleGroup[],
    tls: tls.tls,
    listenerClasses,
    authentication: authentication.authentication,
    authenticationClasses: input.authenticationClasses ?? [],
    logAggregator,
    builtByOperator: input.builtByOperator === true,
    operatorPods: input.operatorPods,
  };
  for (const role of roles) {
    const roleSpec = ((spec as Record<string, unknown>)[role.name] ?? {}) as AnyRoleSpec;
    const groups = roleSpec.roleGroups ?? { [DEFAULT_ROLE_GROUP]: {} };
    for (const [group, groupSpec] of Object.entries(groups)) {
      const defaults = role.defaults(partial, group);
      partial.roleGroups.push(
        resolveRoleGroup(
          naming,
          role,
          defaults,
          roleSpec,
          group,
          groupSpec,
          tls.tls,
          listenerClasses[role.name],
          problems,
        ),
      );
    }
  }
  if (problems.length === 0) problems.push(...(product.validate?.(partial) ?? []));
  // A role's problem shows once, not once per role group.
  if (problems.length > 0) throw new SpecValidationError(subject, [...new Set(problems)]);
  return partial;
}

/**
 * The ListenerClass of each role (`roleConfig.listenerClass`, `cluster-internal` where unnamed). A
 * class the spec names that does not exist is a problem at that field (a typo must not quietly mean
 * ClusterIP); so is an external class for a role with per-pod listeners in synth mode, where no
 * operator finds and hands out the pods' addresses.
 */
function resolveListenerClasses(
  roles: readonly RoleDefinition[],
  spec: AnyStackletSpec,
  input: ResolveInput,
  problems: string[],
): Record<string, ListenerClassInfo> {
  const classes: Record<string, ListenerClassInfo> = {};
  for (const role of roles) {
    const roleSpec = ((spec as Record<string, unknown>)[role.name] ?? {}) as AnyRoleSpec;
    const named = (roleSpec.roleConfig as { listenerClass?: string } | undefined)?.listenerClass;
    const path = `spec.${role.name}.roleConfig.listenerClass`;
    const found = findListenerClass(named ?? DEFAULT_LISTENER_CLASS, input.listenerClasses ?? []);
    if (!found) {
      problems.push(
        `${path}: the ListenerClass "${named}" does not exist; create it (operator mode), define a ` +
          'ListenerClass construct of that name before this stacklet (synth mode), or name one of ' +
          'cluster-internal, external-unstable, external-stable',
      );
      continue;
    }
    if (role.podListener && found.spec.serviceType !== 'ClusterIP' && !input.builtByOperator) {
      problems.push(
        `${path}: the ListenerClass "${found.name}" (${found.spec.serviceType}) gives each ${role.name} pod an ` +
          'address of its own, which the keelson operator finds and hands to the pod at start; synth mode has ' +
          'no operator: name a ClusterIP class, or let the operator reconcile the stacklet (write its custom resource)',
      );
    }
    classes[role.name] = found;
  }
  return classes;
}

/** The image of a product without roles: it runs nothing. */
const NO_IMAGE: ResolvedImage = {
  image: '',
  productVersion: '',
  pullPolicy: 'IfNotPresent',
  pullSecrets: [],
};

/** The roles `spec` runs (see `RoleDefinition.enabled`). */
export function activeRoles(product: ProductDefinition, spec: AnyStackletSpec): readonly RoleDefinition[] {
  return product.roles.filter((r) => r.enabled?.(spec) ?? true);
}
