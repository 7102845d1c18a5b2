/**
 * Rules across fields, written once and enforced twice: as a CEL expression the API server runs at
 * admission (`x-kubernetes-validations` in the CRD) and as a TypeScript check that runs at synth
 * time. Both halves are declared side by side so they cannot drift apart; the CEL text is the key
 * that joins a schema to its check, because schema builders clone schemas (and would lose any
 * function stored on them).
 */

/**
 * How the API server words a failed rule (`Invalid value`, `Forbidden`, `Required value`). The API
 * server's fourth reason, FieldValueDuplicate, drops the rule's message, so keelson does not offer it.
 */
export type RuleReason = 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired';

/** A rule over one object of the spec. */
export interface CrossFieldRule<T = never> {
  /** The CEL expression; `self` is the object the rule is attached to. */
  readonly cel: string;
  /** What the user must change, in the words both the API server and synth report. */
  readonly message: string;
  /** The same rule in TypeScript; returns true when `self` is valid. */
  readonly check: (self: T) => boolean;
  /**
   * The field the rule is about, below the object it is attached to (`.limit`): both the API server
   * and synth report the problem at that field (`spec.servers.config.resources.memory.limit`).
   * @default - the object the rule is attached to, for rules that relate several fields
   */
  readonly fieldPath?: string;
  /** @default 'FieldValueInvalid' */
  readonly reason?: RuleReason;
}

/** `.field`, `.field.child`: a path of field names, which is all keelson's rules need. */
const FIELD_PATH = /^(\.[A-Za-z_][A-Za-z0-9_]*)+$/;

const checksByCel = new Map<string, (self: never) => boolean>();

/** Declares a rule; attach it to a schema with `withRules`. */
export function defineRule<T>(rule: CrossFieldRule<T>): CrossFieldRule<T> {
  // Only field names: synth appends the path as written, which is how the API server prints it.
  if (rule.fieldPath !== undefined && !FIELD_PATH.test(rule.fieldPath)) {
    throw new Error(
      `the fieldPath ${JSON.stringify(rule.fieldPath)} of the CEL rule ${rule.cel} is not of the form .field or .field.child`,
    );
  }
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
  readonly fieldPath?: string;
  readonly reason?: RuleReason;
}

/** Attaches rules to a schema's options. */
export function withRules<T>(...rules: CrossFieldRule<T>[]): { [VALIDATIONS_KEY]: SchemaValidation[] } {
  return {
    [VALIDATIONS_KEY]: rules.map((r) => ({
      rule: r.cel,
      message: r.message,
      ...(r.fieldPath !== undefined ? { fieldPath: r.fieldPath } : {}),
      ...(r.reason !== undefined ? { reason: r.reason } : {}),
    })),
  };
}

/** The synth-time check of a CEL rule found on a schema. */
export function checkFor(cel: string): ((self: unknown) => boolean) | undefined {
  return checksByCel.get(cel) as ((self: unknown) => boolean) | undefined;
}
