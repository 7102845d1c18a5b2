/**
 * The fields of a stacklet's spec that name a Secret of its namespace, found in the spec's schema
 * by keelson's naming rule, and the CEL that finds the Secrets a spec names there.
 *
 * The operator mounts a named Secret into pods it creates with its own rights, and the product
 * then sends it to a host the same spec chooses (a metastore's database, a catalog's S3
 * endpoint). The admission policy therefore lets a spec name a Secret only when the requester may
 * read it (or may create pods, which can mount any Secret anyway). The rule is by name so that a
 * later product's fields are guarded without a list to keep: a string field called `secretName`
 * or ending in `SecretName`, and the names of an `image.pullSecrets` list.
 */
import type { TSchema } from '@sinclair/typebox';

/** A step from a value of the spec to the values under it: a field, a list's items, a map's values. */
export type SecretNameStep = { readonly field: string } | 'items' | 'values';

/** A field that names a Secret: the steps from the spec to it. */
export interface SecretNameField {
  readonly steps: readonly SecretNameStep[];
  /** Its path as a refusal names it: `clusterConfig.database.credentialsSecretName`, `a.b[].c`. */
  readonly path: string;
}

/** Fields that are pod templates or raw objects: the pod-template guards judge what they mount. */
const NOT_WALKED = new Set(['podOverrides', 'objectOverrides']);

/** Whether a field of this name holds the name of a Secret, by keelson's naming rule. */
function namesSecret(key: string): boolean {
  return key === 'secretName' || key.endsWith('SecretName');
}

function pathOf(steps: readonly SecretNameStep[]): string {
  return steps
    .map((s) => (s === 'items' ? '[]' : s === 'values' ? '.*' : `.${s.field}`))
    .join('')
    .replace(/^\./, '');
}

/**
 * Every field of `schema` (a spec's JSON schema) that names a Secret. The walk stops at
 * `podOverrides` and `objectOverrides`, and at a depth no spec reaches.
 */
export function secretNameFields(schema: TSchema): SecretNameField[] {
  const found = new Map<string, SecretNameField>();
  const walk = (s: TSchema | undefined, steps: SecretNameStep[]): void => {
    if (!s || typeof s !== 'object' || steps.length > 16) return;
    for (const branch of [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])]) walk(branch, steps);
    if (s.type === 'array') walk(s.items as TSchema, [...steps, 'items']);
    for (const value of Object.values((s.patternProperties ?? {}) as Record<string, TSchema>))
      walk(value, [...steps, 'values']);
    if (s.additionalProperties && typeof s.additionalProperties === 'object')
      walk(s.additionalProperties as TSchema, [...steps, 'values']);
    for (const [key, property] of Object.entries((s.properties ?? {}) as Record<string, TSchema>)) {
      if (NOT_WALKED.has(key)) continue;
      const here: SecretNameStep[] = [...steps, { field: key }];
      if (namesSecret(key) && property.type === 'string')
        found.set(pathOf(here), { steps: here, path: pathOf(here) });
      else if (key === 'pullSecrets' && property.type === 'array') {
        const name: SecretNameStep[] = [...here, 'items', { field: 'name' }];
        found.set(pathOf(name), { steps: name, path: pathOf(name) });
      } else walk(property, here);
    }
  };
  walk(schema, []);
  return [...found.values()].sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * A CEL predicate true when `field`, under the value `root` (a dynamic map), holds some name `n`
 * for which `pred(n)` (a CEL predicate on the CEL expression `n`) holds. `depth` keeps the
 * comprehension variables of nested calls apart.
 */
export function anySecretName(
  field: SecretNameField,
  root: string,
  pred: (name: string) => string,
  depth = 0,
): string {
  const go = (value: string, rest: readonly SecretNameStep[], level: number): string => {
    if (rest.length === 0) return pred(value);
    const [step, ...tail] = rest;
    const v = `v${depth}_${level}`;
    if (step === 'items') return `${value}.exists(${v}, ${go(v, tail, level + 1)})`;
    if (step === 'values') return `${value}.exists(${v}, ${go(`${value}[${v}]`, tail, level + 1)})`;
    return `(type(${value}) == map && has(${value}.${step.field}) && ${go(`${value}.${step.field}`, tail, level)})`;
  };
  return go(root, field.steps, 0);
}
