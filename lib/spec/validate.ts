/**
 * Synth-time validation of a spec against its schema: every problem at once, each naming the
 * path and the rule (`spec.brokers.roleGroups.default.replicas: must be >= 0`). It checks what the
 * API server checks at admission with the same CRD schema, including the CEL rules, so both modes
 * reject the same specs for the same reasons.
 */
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import {
  KUBERNETES_OBJECT_KEY,
  KUBERNETES_TYPE_KEY,
  kubernetesFieldProblems,
  kubernetesObjectProblems,
} from './kubernetes';
import { checkFor, VALIDATIONS_KEY, type SchemaValidation } from './rules';

/** A spec that breaks its schema; `problems` lists every one, a line each. */
export class SpecValidationError extends Error {
  public readonly problems: readonly string[];

  constructor(subject: string, problems: readonly string[]) {
    super(`${subject} is invalid:\n  - ${problems.join('\n  - ')}`);
    this.name = 'SpecValidationError';
    this.problems = problems;
  }

  /** True for a SpecValidationError from any copy of this package. */
  public static isSpecValidationError(x: unknown): x is SpecValidationError {
    return (
      x instanceof Error &&
      x.name === 'SpecValidationError' &&
      Array.isArray((x as SpecValidationError).problems)
    );
  }
}

// Compiling a schema costs far more than checking a value; products compile theirs once.
const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

function compile(schema: TSchema): TypeCheck<TSchema> {
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  return check;
}

/** JSON pointer `/a/b/0` → `root.a.b[0]`. */
export function pointerToPath(root: string, pointer: string): string {
  if (pointer === '') return root;
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : `${path}.${part}`), root);
}

function lastSegment(pointer: string): string {
  return pointer
    .slice(pointer.lastIndexOf('/') + 1)
    .replace(/~1/g, '/')
    .replace(/~0/g, '~');
}

function parentPointer(pointer: string): string {
  return pointer.slice(0, pointer.lastIndexOf('/'));
}

function expected(schema: TSchema): string | undefined {
  return (schema as Record<string, unknown>)['x-keelson-expected'] as string | undefined;
}

function describe(error: ValueError, root: string): string | undefined {
  const path = pointerToPath(root, error.path);
  const s = error.schema as Record<string, unknown>;
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      // Reported at the unexpected key; error.schema is the enclosing object's schema.
      const key = lastSegment(error.path);
      const where = pointerToPath(root, parentPointer(error.path));
      if (s.patternProperties) {
        return `${where}: "${key}" is not a valid name; expected ${expected(error.schema) ?? `keys matching ${Object.keys(s.patternProperties as object)[0]}`}`;
      }
      const known = Object.keys((s.properties as object | undefined) ?? {});
      return `${where}: unknown field "${key}"; expected ${expected(error.schema) ?? (known.length ? `one of: ${known.join(', ')}` : 'no fields')}`;
    }
    case ValueErrorType.ObjectRequiredProperty:
      return `${path}: is required`;
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return `${path}: must be >= ${s.minimum}`;
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return `${path}: must be <= ${s.maximum}`;
    case ValueErrorType.StringPattern:
      return `${path}: ${JSON.stringify(error.value)} is not ${expected(error.schema) ?? `a string matching ${s.pattern}`}`;
    case ValueErrorType.StringMaxLength:
      return `${path}: must be at most ${s.maxLength} characters`;
    case ValueErrorType.ObjectMaxProperties:
      return `${path}: must have at most ${s.maxProperties} entries`;
    case ValueErrorType.Union: {
      const options = (s.anyOf as { const?: unknown }[] | undefined)?.map((o) => o.const);
      if (options && options.every((o) => o !== undefined)) {
        return `${path}: ${JSON.stringify(error.value)} is not one of: ${options.join(', ')}`;
      }
      return `${path}: ${error.message}`;
    }
    case ValueErrorType.Integer:
      return `${path}: must be an integer`;
    case ValueErrorType.String:
      return `${path}: must be a string`;
    case ValueErrorType.Boolean:
      return `${path}: must be true or false`;
    case ValueErrorType.Array:
      return `${path}: must be a list`;
    case ValueErrorType.Object: {
      // A map (a config file's overrides, env) given as a string is a common slip; show what came.
      const got = Array.isArray(error.value) ? 'a list' : JSON.stringify(error.value);
      return `${path}: must be ${s.patternProperties ? 'a map' : 'an object'}, not ${got}`;
    }
    case ValueErrorType.Number:
      return `${path}: must be a number`;
    default:
      return `${path}: ${error.message}`;
  }
}

// Most of a spec's schema carries no rule, and specs are checked for every role group of every
// stacklet: the walk below skips the parts where it could find none.
const rulesBelow = new WeakMap<TSchema, boolean>();

/** The schema of a map's entries (`patternProperties`, else an `additionalProperties` schema). */
function entrySchema(s: Record<string, unknown>): TSchema | undefined {
  if (s.patternProperties) return Object.values(s.patternProperties as object)[0] as TSchema;
  return typeof s.additionalProperties === 'object' ? (s.additionalProperties as TSchema) : undefined;
}

/** The schemas `ruleProblems` descends into from `schema`. */
function childSchemas(schema: TSchema): TSchema[] {
  const s = schema as Record<string, unknown>;
  const entries = entrySchema(s);
  return [
    ...(s.items ? [s.items as TSchema] : []),
    ...Object.values((s.properties as Record<string, TSchema> | undefined) ?? {}),
    ...(entries ? [entries] : []),
  ];
}

/** True when `schema` or a schema `ruleProblems` reaches from it carries a rule. */
function hasRules(schema: TSchema): boolean {
  let found = rulesBelow.get(schema);
  if (found === undefined) {
    // A schema that reaches itself counts as having rules until its walk says otherwise.
    rulesBelow.set(schema, true);
    found =
      (schema as Record<string, unknown>)[VALIDATIONS_KEY] !== undefined ||
      childSchemas(schema).some((child) => typeof child === 'object' && child !== null && hasRules(child));
    rulesBelow.set(schema, found);
  }
  return found;
}

/**
 * Runs the CEL rules' TypeScript halves wherever the value has an object under a schema that
 * carries rules. Each problem is reported where the API server reports it: at the rule's fieldPath
 * below the object, with map entries written `[key]` (the API server's CEL path, where its schema
 * errors write `.key`), so both modes name the same path for the same input.
 */
function ruleProblems(schema: TSchema, value: unknown, path: string, problems: string[]): void {
  if (value === null || typeof value !== 'object' || !hasRules(schema)) return;
  const s = schema as Record<string, unknown>;
  for (const v of (s[VALIDATIONS_KEY] as SchemaValidation[] | undefined) ?? []) {
    const check = checkFor(v.rule);
    if (!check) {
      throw new Error(
        `the CEL rule ${v.rule} at ${path} has no synth-time check; declare it with defineRule`,
      );
    }
    let ok: boolean;
    try {
      ok = check(value);
    } catch {
      ok = true; // the value's shape is wrong; the schema error already says so
    }
    if (!ok) problems.push(`${path}${v.fieldPath ?? ''}: ${v.message}`);
  }
  if (Array.isArray(value)) {
    const items = s.items as TSchema | undefined;
    if (items) value.forEach((item, i) => ruleProblems(items, item, `${path}[${i}]`, problems));
    return;
  }
  const properties = (s.properties as Record<string, TSchema> | undefined) ?? {};
  const patternValue = entrySchema(s);
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (properties[key]) ruleProblems(properties[key], child, `${path}.${key}`, problems);
    else if (patternValue) ruleProblems(patternValue, child, `${path}[${key}]`, problems);
  }
}

const kubernetesBelow = new WeakMap<TSchema, boolean>();

/** True when `schema` or a schema below it holds a Kubernetes object (see `kubernetes.ts`). */
function hasKubernetesFields(schema: TSchema): boolean {
  let found = kubernetesBelow.get(schema);
  if (found === undefined) {
    kubernetesBelow.set(schema, false);
    found =
      (schema as Record<string, unknown>)[KUBERNETES_TYPE_KEY] !== undefined ||
      (schema as Record<string, unknown>)[KUBERNETES_OBJECT_KEY] !== undefined ||
      childSchemas(schema).some(
        (child) => typeof child === 'object' && child !== null && hasKubernetesFields(child),
      );
    kubernetesBelow.set(schema, found);
  }
  return found;
}

/**
 * Checks the Kubernetes objects in `value` (podOverrides, affinity, label selectors) against the
 * core Kubernetes schema, with paths written as the schema errors write them (`.key` for map entries).
 */
function kubernetesProblems(schema: TSchema, value: unknown, path: string, problems: string[]): void {
  if (value === null || typeof value !== 'object' || !hasKubernetesFields(schema)) return;
  const s = schema as Record<string, unknown>;
  const definition = s[KUBERNETES_TYPE_KEY] as string | undefined;
  if (definition !== undefined) {
    problems.push(...kubernetesFieldProblems(definition, value, path));
    return;
  }
  if (s[KUBERNETES_OBJECT_KEY] !== undefined) {
    problems.push(...kubernetesObjectProblems(value, path));
    return;
  }
  if (Array.isArray(value)) {
    const items = s.items as TSchema | undefined;
    if (items) value.forEach((item, i) => kubernetesProblems(items, item, `${path}[${i}]`, problems));
    return;
  }
  const properties = (s.properties as Record<string, TSchema> | undefined) ?? {};
  const entries = entrySchema(s);
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (properties[key]) kubernetesProblems(properties[key], child, `${path}.${key}`, problems);
    else if (entries) kubernetesProblems(entries, child, `${path}.${key}`, problems);
  }
}

/** Every problem of `value` under `schema`, each a line starting with its path below `root`. */
export function specProblems(schema: TSchema, value: unknown, root = 'spec'): string[] {
  const check = compile(schema);
  // One message per field: a missing string is "required", not also "must be a string"; a value
  // breaking two of a field's keywords shows the first.
  const byField = new Map<string, string>();
  if (!check.Check(value)) {
    for (const error of check.Errors(value)) {
      const line = describe(error, root);
      if (!line) continue;
      const known = byField.get(error.path);
      if (
        known === undefined ||
        (error.type === ValueErrorType.ObjectRequiredProperty && !known.endsWith(': is required'))
      ) {
        byField.set(error.path, line);
      }
    }
  }
  const problems = new Set(byField.values());
  const ruleLines: string[] = [];
  ruleProblems(schema, value, root, ruleLines);
  kubernetesProblems(schema, value, root, ruleLines);
  ruleLines.forEach((l) => problems.add(l));
  return [...problems];
}

/** Throws a SpecValidationError naming `subject` when `value` breaks `schema`. */
export function validateSpec(schema: TSchema, value: unknown, subject: string, root = 'spec'): void {
  const problems = specProblems(schema, value, root);
  if (problems.length > 0) throw new SpecValidationError(subject, problems);
}
