/**
 * References between keelson objects that are not discovery ConfigMaps: a stacklet may name
 * another keelson object of a kind (an `S3Connection` by name) or select several by label (every
 * catalog whose labels match a selector). The build needs their specs, so the references are
 * resolved before it: synth mode resolves them against the typed references the user passed, the
 * operator against its caches of the referenced kinds in the stacklet's namespace. Either way the
 * same selection rules apply, so both modes pick the same objects.
 */

/** A label selector as Kubernetes writes it. An empty selector selects everything. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly {
    readonly key: string;
    readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    readonly values?: readonly string[];
  }[];
}

/** What a spec path refers to: one object of `kind` by name, or every object its selector matches. */
export type ObjectReference =
  | { readonly kind: string; readonly name: string }
  | { readonly kind: string; readonly labelSelector: LabelSelector };

/** A keelson object as a referring stacklet sees it. */
export interface ReferencedObject {
  readonly kind: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly spec: unknown;
}

/**
 * True when `labels` satisfy `selector` (Kubernetes' rules: every requirement must hold; an empty
 * selector selects everything). Selectors read from the cluster (a workload's, a Service's) may
 * carry an operator keelson does not know: such a requirement selects nothing.
 */
export function matchesLabelSelector(
  selector: {
    readonly matchLabels?: Readonly<Record<string, string>>;
    readonly matchExpressions?: readonly {
      readonly key: string;
      readonly operator: string;
      readonly values?: readonly string[];
    }[];
  },
  labels: Readonly<Record<string, string>>,
): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    const ok =
      operator === 'In'
        ? has && values.includes(labels[key])
        : operator === 'NotIn'
          ? !has || !values.includes(labels[key])
          : operator === 'Exists'
            ? has
            : operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

/** Referenced objects by the spec path that refers to them. */
export type ResolvedReferences = Readonly<Record<string, readonly ReferencedObject[]>>;

/** The outcome of resolving a spec's references. */
export interface ReferenceResolution {
  readonly references: ResolvedReferences;
  /** One line per named object that does not exist, starting with the spec path. */
  readonly missing: readonly string[];
}

/**
 * The hook that names a spec's references; it sees the references resolved so far, so that a
 * referenced object may itself refer further (a catalog names the S3Connection it uses).
 */
export type ReferencesHook = (
  spec: never,
  resolved: ResolvedReferences,
) => Readonly<Record<string, ObjectReference>>;

/** How many rounds of references-of-references are followed. */
const MAX_ROUNDS = 4;

/**
 * Resolves the references `hook` names against `lookup` (the known objects of one kind), round
 * after round until the set of references stops growing. Objects come back sorted by name, so the
 * build does not depend on the order a cache lists them in.
 */
export function resolveReferences(
  hook: ReferencesHook | undefined,
  spec: unknown,
  lookup: (kind: string) => readonly ReferencedObject[],
): ReferenceResolution {
  if (!hook) return { references: {}, missing: [] };
  let references: Record<string, readonly ReferencedObject[]> = {};
  let missing: string[] = [];
  let previous = '';
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const wanted = hook(spec as never, references);
    const key = JSON.stringify(wanted);
    if (key === previous) break;
    previous = key;
    references = {};
    missing = [];
    for (const [path, ref] of Object.entries(wanted)) {
      const candidates = lookup(ref.kind).filter((o) => o.kind === ref.kind);
      if ('name' in ref) {
        const found = candidates.find((o) => o.name === ref.name);
        if (found) references[path] = [found];
        else missing.push(`${path}: the ${ref.kind} "${ref.name}" does not exist in this namespace`);
      } else {
        references[path] = candidates
          .filter((o) => matchesLabelSelector(ref.labelSelector, o.labels))
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      }
    }
  }
  return { references, missing };
}
