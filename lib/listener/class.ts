/**
 * `ListenerClass`: a cluster-scoped kind that says how the pods of a role are reached — through
 * which type of Service, with which annotations and traffic policy, and (for NodePort) which node
 * address a pod advertises. Stacklets name a class in `spec.<role>.roleConfig.listenerClass`. One
 * TypeBox schema gives the TypeScript interface (`spec.generated.ts`), the CRD's schema and CEL
 * rules and the synth-time validation, as for `TlsClass` (lib/tls/class.ts).
 */
import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import { Construct } from 'constructs';
import { Type } from '@sinclair/typebox';
import { CLOSED, LISTENER_CLASS_NAME, StringEnum, StringMap } from '../spec/common';
import { customResourceDefinition } from '../spec/crd';
import { defineRule, withRules, type SchemaValidation } from '../spec/rules';
import { specProblems, SpecValidationError } from '../spec/validate';
import { API_GROUP, API_VERSION } from '../stacklet/product';
import type { ListenerClassSpec } from './spec.generated';
import type { IConstruct } from 'constructs';

export type { ListenerClassSpec } from './spec.generated';

/** The custom resource kind of a listener class. */
export const LISTENER_CLASS_KIND = 'ListenerClass';
/** Its plural, the CRD's name being `listenerclasses.keelson.dev`. */
export const LISTENER_CLASS_PLURAL = 'listenerclasses';

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

/** The node address types a NodePort class may prefer (the other is the fallback). */
export const NODE_ADDRESS_TYPES = ['ExternalIP', 'InternalIP'] as const;
export type NodeAddressType = (typeof NODE_ADDRESS_TYPES)[number];

interface RuleView {
  serviceType?: string;
  externalTrafficPolicy?: string;
  loadBalancerClass?: string;
  preferredNodeAddressType?: string;
}

const trafficPolicyNeedsExternal = defineRule<RuleView>({
  cel: "!has(self.externalTrafficPolicy) || self.serviceType != 'ClusterIP'",
  message: 'applies only to NodePort and LoadBalancer classes: remove it, or change serviceType',
  fieldPath: '.externalTrafficPolicy',
  reason: 'FieldValueForbidden',
  check: (self) => self.externalTrafficPolicy === undefined || self.serviceType !== 'ClusterIP',
});

const loadBalancerClassNeedsLoadBalancer = defineRule<RuleView>({
  cel: "!has(self.loadBalancerClass) || self.serviceType == 'LoadBalancer'",
  message: 'applies only to LoadBalancer classes: remove it, or set serviceType to LoadBalancer',
  fieldPath: '.loadBalancerClass',
  reason: 'FieldValueForbidden',
  check: (self) => self.loadBalancerClass === undefined || self.serviceType === 'LoadBalancer',
});

const nodeAddressNeedsNodePort = defineRule<RuleView>({
  cel: "!has(self.preferredNodeAddressType) || self.serviceType == 'NodePort'",
  message:
    'applies only to NodePort classes (pods are reached at their node): remove it, or set serviceType to NodePort',
  fieldPath: '.preferredNodeAddressType',
  reason: 'FieldValueForbidden',
  check: (self) => self.preferredNodeAddressType === undefined || self.serviceType === 'NodePort',
});

export const ListenerClassSpecSchema = Type.Object(
  {
    serviceType: StringEnum(SERVICE_TYPES, {
      description:
        'The type of the Services of the roles that name this class: ClusterIP (inside the cluster only), ' +
        "NodePort (at a port of every node; a pod's own address is its node's), LoadBalancer (at an address " +
        "the cluster's load balancer gives each Service).",
    }),
    serviceAnnotations: Type.Optional(
      StringMap(
        "Annotations on every Service of this class (a cloud load balancer's settings, say). @default - none",
      ),
    ),
    externalTrafficPolicy: Type.Optional(
      StringEnum(['Cluster', 'Local'] as const, {
        description:
          "The Services' externalTrafficPolicy (NodePort and LoadBalancer only). Local keeps the client's " +
          'address and answers only on nodes running a selected pod. ' +
          "@default - Local on a pod's own Service (its address is its node's), Cluster on a role's Service",
      }),
    ),
    loadBalancerClass: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description:
          "The Services' loadBalancerClass (LoadBalancer only). @default - the cluster's default load balancer",
      }),
    ),
    preferredNodeAddressType: Type.Optional(
      StringEnum(NODE_ADDRESS_TYPES, {
        description:
          "NodePort only: the type of the node's address a pod advertises; the other type serves when the node " +
          'has none of this one. @default "ExternalIP"',
      }),
    ),
  },
  {
    ...CLOSED,
    ...withRules(trafficPolicyNeedsExternal, loadBalancerClassNeedsLoadBalancer, nodeAddressNeedsNodePort),
    description: 'How the pods of roles naming this class are reached.',
  },
);

/** The CRD's rule on the whole resource: its name is what stacklets name. */
export const LISTENER_CLASS_NAME_RULE: SchemaValidation = {
  rule: `self.metadata.name.matches('${LISTENER_CLASS_NAME.pattern}')`,
  message:
    'metadata.name must be a DNS label (at most 63 lower case letters, digits and "-"): stacklets name it in ' +
    'roleConfig.listenerClass',
};

/** The `ListenerClass` CRD (`listenerclasses.keelson.dev`, cluster-scoped). */
export function listenerClassCrd(): Record<string, unknown> {
  return customResourceDefinition({
    group: API_GROUP,
    version: API_VERSION,
    kind: LISTENER_CLASS_KIND,
    plural: LISTENER_CLASS_PLURAL,
    scope: 'Cluster',
    description:
      'How the pods of keelson roles naming this class are reached (the type and settings of their Services).',
    specSchema: ListenerClassSpecSchema,
    specRequired: true,
    resourceRules: [LISTENER_CLASS_NAME_RULE],
    printerColumns: [{ name: 'Service Type', type: 'string', jsonPath: '.spec.serviceType' }],
  });
}

/** What a stacklet needs to know of a listener class: its name and spec. */
export interface ListenerClassInfo {
  readonly name: string;
  readonly spec: ListenerClassSpec;
}

/** The class a role is reached through when its spec names none. */
export const DEFAULT_LISTENER_CLASS = 'cluster-internal';

/**
 * The three classes keelson ships. `keelson deploy` writes them into the cluster, and they are
 * also built in: a name among them means this definition wherever no ListenerClass of that name
 * exists (in the cluster, or in the app in synth mode), so specs written before the kind existed
 * keep their meaning without a class object. A class of the same name replaces the built-in one.
 */
export const DEFAULT_LISTENER_CLASSES: Readonly<Record<string, ListenerClassSpec>> = {
  'cluster-internal': { serviceType: 'ClusterIP' },
  'external-unstable': { serviceType: 'NodePort' },
  'external-stable': { serviceType: 'LoadBalancer' },
};

/** True when `name` may name a ListenerClass. */
export function isListenerClassName(name: string): boolean {
  return name.length <= LISTENER_CLASS_NAME.maxLength && new RegExp(LISTENER_CLASS_NAME.pattern).test(name);
}

/** Every problem of a class named `name` with `spec`, each starting with its path. */
export function listenerClassProblems(name: string, spec: unknown): string[] {
  return [
    ...(isListenerClassName(name)
      ? []
      : [`metadata.name: ${JSON.stringify(name)}: ${LISTENER_CLASS_NAME_RULE.message}`]),
    ...specProblems(ListenerClassSpecSchema, spec),
  ];
}

/** A ListenerClass resource as stacklets see it, or undefined for one that is not valid. */
export function listenerClassInfoOf(name: string, spec: unknown): ListenerClassInfo | undefined {
  if (listenerClassProblems(name, spec).length > 0) return undefined;
  return { name, spec: spec as ListenerClassSpec };
}

/**
 * The class `name` means given the classes that exist: one of them, else a built-in default of that
 * name, else undefined.
 */
export function findListenerClass(
  name: string,
  classes: readonly ListenerClassInfo[],
): ListenerClassInfo | undefined {
  const found = classes.find((c) => c.name === name);
  if (found) return found;
  const builtIn = DEFAULT_LISTENER_CLASSES[name];
  return builtIn ? { name, spec: builtIn } : undefined;
}

// The ListenerClasses of each app, by its root construct (as for TlsClasses: a stacklet looks its
// classes up here rather than walking the whole tree).
const classesByApp = new WeakMap<IConstruct, ListenerClassInfo[]>();

/** Called by a ListenerClass construct: stacklets defined after it in the same app see the class. */
export function registerListenerClass(scope: IConstruct, info: ListenerClassInfo): void {
  const root = scope.node.root;
  classesByApp.set(root, [...(classesByApp.get(root) ?? []), info]);
}

/** The ListenerClasses registered in the app `scope` belongs to. */
export function listenerClassesIn(scope: IConstruct): readonly ListenerClassInfo[] {
  return classesByApp.get(scope.node.root) ?? [];
}

const LISTENER_CLASS_SYMBOL = Symbol.for('keelson.ListenerClass');

/**
 * A listener class in synth mode: it writes the `ListenerClass` custom resource (named by `id`);
 * stacklets defined after it in the same app that name it get their Services from it. An invalid
 * spec writes nothing and is reported at synth with every other problem.
 */
export class ListenerClass extends Construct {
  /** True for a ListenerClass from any copy of this package. */
  public static isListenerClass(x: unknown): x is ListenerClass {
    return x !== null && typeof x === 'object' && LISTENER_CLASS_SYMBOL in x;
  }

  /** Adds the three classes keelson ships (`DEFAULT_LISTENER_CLASSES`) to `scope`, by their names. */
  public static addDefaults(scope: Construct): ListenerClass[] {
    return Object.entries(DEFAULT_LISTENER_CLASSES).map(
      ([name, spec]) => new ListenerClass(scope, name, spec),
    );
  }

  /** The class's name: `metadata.name` of the custom resource. */
  public readonly name: string;
  /** The spec as given. */
  public readonly spec: ListenerClassSpec;
  /** Why the spec was rejected, one line each; empty for a valid class. */
  public readonly problems: readonly string[];
  /** The custom resource, unless the spec was rejected. */
  public readonly apiObject?: ApiObject;

  constructor(scope: Construct, id: string, props: ListenerClassSpec) {
    super(scope, id);
    Object.defineProperty(this, LISTENER_CLASS_SYMBOL, { value: true });
    this.name = id;
    this.spec = props;
    const problems = listenerClassProblems(id, props);
    if (listenerClassesIn(this).some((c) => c.name === id)) {
      problems.push(
        `metadata.name: another ListenerClass is named "${id}" in this app; a class is cluster-wide`,
      );
    }
    this.problems = problems;
    if (problems.length > 0) {
      const error = new SpecValidationError(`${LISTENER_CLASS_KIND} "${id}"`, problems);
      this.node.addValidation({
        validate: () => error.problems.map((p) => `${LISTENER_CLASS_KIND} "${id}": ${p}`),
      });
      return;
    }
    registerListenerClass(this, { name: id, spec: props });
    this.apiObject = new ApiObject(this, 'resource', {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: LISTENER_CLASS_KIND,
      metadata: { name: id },
      spec: props,
    });
    // Cluster-scoped: a chart's namespace, which cdk8s gives every object, does not apply.
    if (Chart.of(this).namespace) this.apiObject.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  }
}
