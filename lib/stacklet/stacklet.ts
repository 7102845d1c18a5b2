/**
 * The stacklet construct: one product instance. It runs the pipeline
 * resolve → validate → build as pure steps and adds the resulting objects to its chart, so the
 * operator (which builds the same construct in an in-memory App) and synth mode produce the same
 * objects.
 */
import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import { Construct } from 'constructs';
import type { NetworkPolicyPeer } from '../../imports/k8s-wire';
import { mergeObjectOverride } from '../merge';
import type { AnyStackletSpec } from '../spec/stacklet-spec';
import { SpecValidationError } from '../spec/validate';
import { LABEL_PART_OF, selectorLabels } from './labels';
import { roleGroupManifests, roleManifests, stackletManifests, type Manifest } from './manifests';
import type { OperatorPods, ProductDefinition, StackletContext } from './product';
import type { ReferencedObject } from './references';
import { activeRoles, resolveStacklet } from './resolve';
import { tlsClassesIn, type TlsClassInfo } from '../tls/pod-tls';
import { listenerClassesIn, type ListenerClassInfo } from '../listener/class';
import { authenticationClassesIn, type AuthenticationClassInfo } from '../authentication/class';

const STACKLET_SYMBOL = Symbol.for('keelson.Stacklet');

/** The label the API server puts on every namespace, holding its name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** What other constructs may know of a stacklet. */
export interface IStacklet {
  /** The stacklet's name (`metadata.name` of its custom resource). */
  readonly name: string;
  /** The product it runs (`app.kubernetes.io/name`). */
  readonly productName: string;
  /** The namespace its objects live in. */
  readonly namespace: string;
  /** The ConfigMap its connection details are published in. */
  readonly discoveryConfigMapName: string;
  /** Labels selecting all of its pods. */
  readonly podSelectorLabels: Readonly<Record<string, string>>;
  /** The content of its discovery ConfigMap. */
  readonly discoveryData: Readonly<Record<string, string>>;
  /**
   * Admits `peer`'s pods to its client ports. A stacklet in another namespace is admitted by its
   * pods' labels and its namespace's name (`kubernetes.io/metadata.name`).
   */
  addAllowedClient(peer: NetworkPolicyPeer | IStacklet): void;
}

/** Options of the build that a custom resource does not hold. */
export interface StackletOptions {
  /**
   * Contents of the discovery ConfigMaps the spec names, by ConfigMap name. Synth mode fills this
   * from typed references; the operator reads the ConfigMaps from the cluster.
   * @default - none
   */
  readonly dependencies?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
  /**
   * The keelson objects the spec may refer to by name or label (see
   * `ProductDefinition.references`). Synth mode fills this from typed references; the operator
   * from its caches.
   * @default - none
   */
  readonly objects?: readonly ReferencedObject[];
  /**
   * Labels of the stacklet itself (`metadata.labels` of its custom resource), which other
   * stacklets' label selectors match.
   * @default - none
   */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Problems a product's construct found in what it was given besides the spec (the typed
   * references of synth mode), each starting with the spec path it concerns; they are reported
   * with the spec's own problems.
   * @default - none
   */
  readonly problems?: readonly string[];
  /**
   * The TlsClasses that exist: TLS is on where the class the spec names (by default `tls`) is one
   * of them. The operator passes the cluster's.
   * @default - the TlsClass constructs defined in this app before the stacklet
   */
  readonly tlsClasses?: readonly TlsClassInfo[];
  /**
   * The ListenerClasses that exist beside the built-in `cluster-internal`, `external-unstable` and
   * `external-stable` (a class of one of those names replaces the built-in one). The operator passes
   * the cluster's.
   * @default - the ListenerClass constructs defined in this app before the stacklet
   */
  readonly listenerClasses?: readonly ListenerClassInfo[];
  /**
   * The AuthenticationClasses that exist, which `clusterConfig.authentication` may name. The
   * operator passes the cluster's.
   * @default - the AuthenticationClass constructs defined in this app before the stacklet
   */
  readonly authenticationClasses?: readonly AuthenticationClassInfo[];
  /**
   * Set by the keelson operator, which writes the pods' per-pod listener addresses
   * (lib/listener/pod-listener.ts); synth mode has nobody who does.
   * @default false
   */
  readonly builtByOperator?: boolean;
  /**
   * Set by the keelson operator: its pods, admitted to the ports it reads (`PortDefinition.readByOperator`).
   * @default - none
   */
  readonly operatorPods?: OperatorPods;
}

/** The key of an object in the stacklet: `apiVersion/kind/name`. */
function objectKey(m: { apiVersion: string; kind: string; metadata: { name: string } }): string {
  return `${m.apiVersion}/${m.kind}/${m.metadata.name}`;
}

/**
 * One product instance. Products subclass it with their definition; the operator instantiates it
 * directly for any registered product.
 */
export class Stacklet<Spec extends AnyStackletSpec = AnyStackletSpec> extends Construct implements IStacklet {
  /** True for a Stacklet from any copy of this package. */
  public static isStacklet(x: unknown): x is Stacklet {
    return x !== null && typeof x === 'object' && STACKLET_SYMBOL in x;
  }

  public readonly name: string;
  public readonly productName: string;
  public readonly namespace: string;
  public readonly discoveryConfigMapName: string;
  public readonly podSelectorLabels: Readonly<Record<string, string>>;
  public readonly discoveryData: Readonly<Record<string, string>>;
  /** The stacklet as other stacklets refer to it: its kind, name, labels and spec. */
  public readonly reference: ReferencedObject;
  /**
   * What a stacklet referring to this one must know to resolve it in synth mode: this stacklet and
   * the objects and discovery data it was built with itself (a catalog's S3Connection, its Hive).
   */
  public readonly knownObjects: readonly ReferencedObject[];
  public readonly knownDependencies: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /**
   * Why the spec was rejected, when it was: every problem, one line each. An invalid stacklet
   * builds no objects; its problems are reported at synth with every other construct's (cdk8s
   * validations), so one run shows what is wrong with every stacklet.
   */
  public readonly problems: readonly string[] = [];
  /** The same problems as an error, for a caller that builds one stacklet (the operator). */
  public readonly validationError?: SpecValidationError;
  private readonly resolved?: StackletContext<Spec>;
  /** Every object, keyed by `apiVersion/kind/name`. */
  private readonly objects = new Map<string, ApiObject>();
  private readonly networkPolicyKey?: string;
  private readonly clientPorts: readonly { port: number; protocol: string }[];

  constructor(
    scope: Construct,
    id: string,
    product: ProductDefinition<Spec>,
    spec: Spec,
    options: StackletOptions = {},
  ) {
    super(scope, id);
    Object.defineProperty(this, STACKLET_SYMBOL, { value: true });
    const chart = Chart.of(this);
    this.namespace = chart.namespace ?? '';
    this.name = id;
    this.productName = product.name;
    this.discoveryConfigMapName = id;
    this.podSelectorLabels = selectorLabels({ product: product.name, instance: id });
    const roles = activeRoles(product as unknown as ProductDefinition, spec);
    this.clientPorts = roles.flatMap((r) =>
      r.ports.filter((p) => p.client).map((p) => ({ port: p.port, protocol: p.protocol ?? 'TCP' })),
    );
    this.reference = { kind: product.kind, name: id, labels: { ...(options.labels ?? {}) }, spec };
    this.knownObjects = [this.reference, ...(options.objects ?? [])];
    this.knownDependencies = { ...(options.dependencies ?? {}) };
    this.discoveryData = {};

    let manifests: Manifest[];
    try {
      if (!chart.namespace) {
        // Names of Services and pods in discovery data, quorum lists and advertised addresses are
        // read by clients in other namespaces too, so they must be fully qualified; a chart without
        // a namespace would write "default" into them whatever namespace the files are applied to.
        throw new SpecValidationError(`${product.kind} "${id}"`, [
          `metadata.namespace: chart "${chart.node.id}" has no namespace, and keelson writes the ` +
            `namespace into DNS names (<service>.<namespace>.svc...), the NetworkPolicy and ids derived ` +
            `from it; give the chart one: new Chart(app, '${chart.node.id}', { namespace: 'data' })`,
        ]);
      }
      this.resolved = resolveStacklet(product, spec, {
        name: id,
        namespace: chart.namespace,
        clusterDomain: options.clusterDomain,
        dependencies: options.dependencies,
        objects: options.objects,
        problems: options.problems,
        tlsClasses: options.tlsClasses ?? tlsClassesIn(this),
        listenerClasses: options.listenerClasses ?? listenerClassesIn(this),
        authenticationClasses: options.authenticationClasses ?? authenticationClassesIn(this),
        builtByOperator: options.builtByOperator,
        operatorPods: options.operatorPods,
      });
      const input = {
        product: product as unknown as ProductDefinition,
        stacklet: this.resolved as StackletContext,
        platform: chart.labels[LABEL_PART_OF] ?? chart.node.id,
      };
      this.discoveryData = product.discovery?.(this.resolved) ?? {};
      manifests = applyObjectOverrides(
        product.kind,
        id,
        [
          ...stackletManifests(input, this.discoveryData),
          ...roles.flatMap((role) => roleManifests(input, role)),
          ...this.resolved.roleGroups.flatMap((rg) => roleGroupManifests(input, rg)),
        ],
        spec.objectOverrides ?? [],
      );
    } catch (error) {
      if (!SpecValidationError.isSpecValidationError(error)) throw error;
      // Reported by cdk8s' validation at synth (app.synth(), keelson's synth(app), chart.toJson())
      // beside every other construct's problems, so one run shows them all.
      this.validationError = error;
      this.problems = error.problems;
      this.node.addValidation({ validate: () => error.problems.map((p) => `${product.kind} "${id}": ${p}`) });
      return;
    }
    for (const manifest of manifests) {
      const key = objectKey(manifest);
      // Construct ids avoid '/', which constructs would have to escape in every path.
      this.objects.set(key, new ApiObject(this, `${manifest.kind}-${manifest.metadata.name}`, manifest));
      // The stacklet's own policy (named after it) admits clients; a role's own policy does not.
      if (manifest.kind === 'NetworkPolicy' && manifest.metadata.name === id) this.networkPolicyKey = key;
    }
  }

  /** The resolved stacklet: merged role groups, image, names. Throws for an invalid spec. */
  public get context(): StackletContext<Spec> {
    if (!this.resolved) throw this.validationError!;
    return this.resolved;
  }

  /**
   * Admits `peer` to the client ports of every role (through the stacklet's NetworkPolicy).
   * Another stacklet can be passed to admit all of its pods.
   */
  public addAllowedClient(peer: NetworkPolicyPeer | IStacklet): void {
    if (!this.networkPolicyKey) return; // the user switched the NetworkPolicy off
    if (this.clientPorts.length === 0) return;
    const from: NetworkPolicyPeer = 'podSelectorLabels' in peer ? this.peerOf(peer) : peer;
    this.objects
      .get(this.networkPolicyKey)!
      .addJsonPatch(JsonPatch.add('/spec/ingress/-', { from: [from], ports: this.clientPorts }));
  }

  /**
   * The NetworkPolicy peer selecting every pod of `stacklet`: by labels alone in this namespace (a
   * peer without a namespace selector means the policy's own namespace), with its namespace's
   * name in another.
   */
  private peerOf(stacklet: IStacklet): NetworkPolicyPeer {
    const podSelector = { matchLabels: { ...stacklet.podSelectorLabels } };
    if (stacklet.namespace === this.namespace) return { podSelector };
    return {
      podSelector,
      namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: stacklet.namespace } },
    };
  }

  /** The objects this stacklet generated, by `apiVersion/kind/name`. */
  public get apiObjects(): ReadonlyMap<string, ApiObject> {
    return this.objects;
  }
}

/** Merges each objectOverride onto the generated object it names; an override naming none is an error. */
export function applyObjectOverrides(
  kind: string,
  name: string,
  manifests: readonly Manifest[],
  overrides: readonly { apiVersion: string; kind: string; metadata: { name: string } }[],
): Manifest[] {
  const byKey = new Map(manifests.map((m) => [objectKey(m), m]));
  const problems: string[] = [];
  overrides.forEach((override, i) => {
    const key = objectKey(override);
    const target = byKey.get(key);
    if (!target) {
      problems.push(
        `spec.objectOverrides[${i}]: no generated object is ${key}; generated objects: ${[...byKey.keys()].join(', ')}`,
      );
      return;
    }
    byKey.set(key, mergeObjectOverride(target, override) as Manifest);
  });
  if (problems.length > 0) throw new SpecValidationError(`${kind} "${name}"`, problems);
  return [...byKey.values()];
}
