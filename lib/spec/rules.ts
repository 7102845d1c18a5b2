/**
 * Rules across fields, written once and enforced twice: as a CEL expression the API server runs at
 * admission (`x-kubernetes-validations` in the CRD) and as a TypeScript check that runs at synth
 * time. Both halves are declared side by side so they cannot drift apart; the CEL text is the key
 * that joins a schema to its check, because schema builders clone schemas (and would lose any
 * function stored on them).
 */

/** A rule over one object of the spec. */
export interface CrossFieldRule<T = never> {
  /** The CEL expression; `self` is the object the rule is attached to. */
  readonly cel: string;
  /** What the user must change, in the words both the API server and synth report. */
  readonly message: string;
  /** The same rule in TypeScript; returns true when `self` is valid. */
  readonly check: (self: T) => boolean;
}

const checksByCel = new Map<string, (self: never) => boolean>();

/** Declares a rule; attach it to a schema with `withRules`. */
export function defineRule<T>(rule: CrossFieldRule<T>): CrossFieldRule<T> {
  const existing = checksByCel.get(rule.cel);
  if (existing && existing !== rule.check) {
    throw new Error(`two different checks were declared for the CEL rule ${rule.cel}`);
  }
  checksByCel.set(rule.cel, rule.check as (self: never) => boolean);
  return rule;
}

/** The CRD keyword the API server reads. */
export const VALIDATIONS_KEY = 'x-kubernetes-validations';

/** The form a rule takes inside a schema (and so inside the CRD). */
export interface SchemaValidation {
  readonly rule: string;
  readonly message: string;
}

/** Attaches rules to a schema's options. */
export function withRules<T>(...rules: CrossFieldRule<T>[]): { [VALIDATIONS_KEY]: SchemaValidation[] } {
  return { [VALIDATIONS_KEY]: rules.map((r) => ({ rule: r.cel, message: r.message })) };
}

/** The synth-time check of a CEL rule found on a schema. */
export function checkFor(cel: string): ((self: unknown) => boolean) | undefined {
  return checksByCel.get(cel) as ((self: unknown) => boolean) | undefined;
}
