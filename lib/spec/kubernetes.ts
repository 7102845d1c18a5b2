/**
 * Spec fields whose content Kubernetes defines — `podOverrides` (a patch of the pod template) and
 * `affinity` — typed as the Kubernetes objects they are and checked at synth against the core
 * Kubernetes schema (the API server's own definitions, `imports/k8s-wire.schema.json`): a misspelled
 * field (`resourcse`) is an error naming its path, not a key written into the YAML and dropped by
 * the API server.
 *
 * The CRD keeps these fields `x-kubernetes-preserve-unknown-fields`: carrying the pod template's
 * schema into every role and role group would make each CRD hundreds of kilobytes larger (the API
 * server limits an object to about 1.5 MB), so admission leaves their content to the objects the
 * operator writes, where the API server checks it again.
 */
import { Type } from '@sinclair/typebox';
import type { Affinity, LabelSelector, PodTemplateSpec } from '../../imports/k8s-wire';
import { WIRE_DEFINITIONS, type WireDefinition } from '../../imports/k8s-wire-schema';

export type { Affinity, LabelSelector, PodTemplateSpec };

/**
 * A strategic-merge-style patch of `T`: every field optional, `null` removes a field, and a list
 * item may carry `$patch: 'delete'` to remove the item it matches.
 */
export type Patch<T> = T extends readonly (infer Item)[]
  ? (Patch<Item> & { readonly $patch?: 'delete' })[]
  : T extends object
    ? { [K in keyof T]?: Patch<T[K]> | null }
    : T;

/** What `podOverrides` holds: a patch of the generated PodTemplateSpec. */
export type PodTemplatePatch = Patch<PodTemplateSpec>;

/** The schema keyword naming the Kubernetes definition a spec field holds. */
export const KUBERNETES_TYPE_KEY = 'x-keelson-kubernetes-type';

/**
 * The schema keyword of a spec field holding (a patch of) any Kubernetes object (`objectOverrides`
 * items): its `apiVersion` and `kind` pick the definition it is checked against.
 */
export const KUBERNETES_OBJECT_KEY = 'x-keelson-kubernetes-object';

const OPEN = { 'x-kubernetes-preserve-unknown-fields': true } as const;

/** A spec field holding a Kubernetes object of `definition`, typed `T`. */
function kubernetesField<T>(definition: string, description: string) {
  if (!WIRE_DEFINITIONS[definition]) throw new Error(`no Kubernetes definition ${definition}`);
  return Type.Unsafe<T>(Type.Object({}, { ...OPEN, description, [KUBERNETES_TYPE_KEY]: definition }));
}

export const PodOverridesSchema = () =>
  kubernetesField<PodTemplatePatch>(
    'io.k8s.api.core.v1.PodTemplateSpec',
    'A PodTemplateSpec merged onto the generated one (containers, volumes, env and ports merge by name; null removes a field; $patch: delete removes a list item).',
  );

export const AffinitySchema = () =>
  kubernetesField<Affinity>(
    'io.k8s.api.core.v1.Affinity',
    'A Kubernetes Affinity; replaces the default pod anti-affinity.',
  );

export const LabelSelectorSchema = (description: string) =>
  kubernetesField<LabelSelector>('io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector', description);

const PATCH_DIRECTIVE = '$patch';

function definitionName(ref: string): string {
  return ref.replace('#/definitions/', '');
}

/** The closest of `known` to `name` when it is a likely typo of it (at most two edits). */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase(), bestDistance);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const swap =
        i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1] ? previous[j - 2] + 1 : Infinity;
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
        swap,
      );
    }
    previous = current;
  }
  return previous[b.length];
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return JSON.stringify(value);
}

/**
 * Every problem of `value` as (a patch of) a Kubernetes object of `definition`: unknown fields and
 * values of the wrong kind (an object where a list belongs, text where a number does), one line each
 * starting with its path below `path`. `null` (remove) and `$patch` are allowed anywhere.
 */
export function kubernetesFieldProblems(definition: string, value: unknown, path: string): string[] {
  const problems: string[] = [];
  check(WIRE_DEFINITIONS[definition] ?? {}, value, path, problems);
  return problems;
}

/**
 * The name of the core Kubernetes definition of objects of `apiVersion` and `kind`
 * (`apps/v1` `StatefulSet` → `io.k8s.api.apps.v1.StatefulSet`), or undefined when the core schema
 * has none (a custom resource such as a ServiceMonitor).
 */
export function objectDefinition(apiVersion: unknown, kind: unknown): string | undefined {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined;
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
  const candidates = group === '' ? ['core'] : [group.replace(/\.k8s\.io$/, '').split('.')[0], group];
  for (const g of candidates) {
    const name = `io.k8s.api.${g}.${version}.${kind}`;
    if (WIRE_DEFINITIONS[name]) return name;
  }
  return undefined;
}

/**
 * Every problem of `value`, a patch of a whole Kubernetes object (an `objectOverrides` item),
 * against the core definition its `apiVersion` and `kind` name, one line each starting with its
 * path below `path`. Objects of kinds the core schema lacks are not checked here.
 */
export function kubernetesObjectProblems(value: unknown, path: string): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const { apiVersion, kind } = value as { apiVersion?: unknown; kind?: unknown };
  const definition = objectDefinition(apiVersion, kind);
  if (!definition) return [];
  return kubernetesFieldProblems(definition, value, path).map(
    (problem) => `${problem} (in a ${String(kind)} of ${String(apiVersion)})`,
  );
}

function check(schema: WireDefinition, value: unknown, path: string, problems: string[]): void {
  if (value === null || value === undefined) return;
  if (typeof schema.$ref === 'string') {
    const name = definitionName(schema.$ref);
    const target = WIRE_DEFINITIONS[name];
    // Quantities and int-or-strings are declared as strings; the wire takes a number too.
    if (name.endsWith('.Quantity') || name.endsWith('.IntOrString')) {
      if (typeof value !== 'string' && typeof value !== 'number') {
        problems.push(`${path}: must be a string or a number, not ${describeValue(value)}`);
      }
      return;
    }
    if (target) check(target, value, path, problems);
    return;
  }
  const properties = schema.properties as Record<string, WireDefinition> | undefined;
  const type = schema.type as string | undefined;
  if (properties || type === 'object') {
    if (typeof value !== 'object' || Array.isArray(value)) {
      problems.push(`${path}: must be an object, not ${describeValue(value)}`);
      return;
    }
    const entries = schema.additionalProperties as WireDefinition | undefined;
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      if (key === PATCH_DIRECTIVE) continue;
      if (properties?.[key]) check(properties[key], child, `${path}.${key}`, problems);
      else if (entries && typeof entries === 'object') check(entries, child, `${path}.${key}`, problems);
      else if (properties) {
        const near = closest(key, Object.keys(properties));
        problems.push(`${path}.${key}: unknown field${near ? `; did you mean ${near}?` : ''}`);
      }
    }
    return;
  }
  switch (type) {
    case 'array':
      if (!Array.isArray(value)) problems.push(`${path}: must be a list, not ${describeValue(value)}`);
      else value.forEach((item, i) => check(schema.items as WireDefinition, item, `${path}[${i}]`, problems));
      return;
    case 'string':
      if (typeof value !== 'string') problems.push(`${path}: must be a string, not ${describeValue(value)}`);
      return;
    case 'integer':
      if (!Number.isInteger(value)) problems.push(`${path}: must be an integer, not ${describeValue(value)}`);
      return;
    case 'number':
      if (typeof value !== 'number') problems.push(`${path}: must be a number, not ${describeValue(value)}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean')
        problems.push(`${path}: must be true or false, not ${describeValue(value)}`);
      return;
  }
}
