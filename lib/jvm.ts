/**
 * `jvmArgumentOverrides`: how a user changes the JVM arguments keelson chose for a JVM product.
 *
 * Order of application: `remove` (exact matches) first, then `removeRegex`, then `add`. Removing
 * before adding lets a user replace an argument by removing it and adding the new form.
 *
 * An added argument replaces every remaining argument that sets the same option, so the list never
 * carries two values for one setting (the JVM would silently take the last one, and a reader of the
 * pod spec might not). The same option means: the same `-Xmx`, `-Xms`, `-Xss` or `-Xmn` size flag;
 * the same `-D<property>`; the same `-XX:` option, whether written `-XX:+Name`, `-XX:-Name` or
 * `-XX:Name=value`; otherwise the identical argument. Note that adding only `-Xmx` keeps keelson's
 * `-Xms`; when lowering the heap below it, remove or add `-Xms` too.
 */

/** The user's changes to a role's or role group's JVM arguments. */
export interface JvmArgumentOverrides {
  /** Arguments to append (replacing arguments that set the same option). */
  readonly add?: readonly string[];
  /** Arguments to remove, matched exactly. */
  readonly remove?: readonly string[];
  /** JavaScript regular expressions; an argument matching one of them as a whole is removed. */
  readonly removeRegex?: readonly string[];
}

const SIZE_FLAG = /^-X(mx|ms|ss|mn)/;
const SYSTEM_PROPERTY = /^-D([^=]*)/;
const XX_OPTION = /^-XX:[+-]?([^=]*)/;

/** What an argument sets, so that a later argument for the same thing can replace it. */
function optionOf(argument: string): string {
  const size = SIZE_FLAG.exec(argument);
  if (size) {
    return `-X${size[1]}`;
  }
  const property = SYSTEM_PROPERTY.exec(argument);
  if (property) {
    return `-D${property[1]}`;
  }
  const xx = XX_OPTION.exec(argument);
  if (xx) {
    return `-XX:${xx[1]}`;
  }
  return argument;
}

function fullMatch(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

/**
 * `defaults` with `overrides` applied (see the rules at the top of this file). Throws when a
 * `removeRegex` entry is not a valid regular expression; check first with
 * {@link jvmArgumentOverridesProblems} to report it with its path.
 */
export function applyJvmArgumentOverrides(
  defaults: readonly string[],
  overrides?: JvmArgumentOverrides,
): string[] {
  const remove = new Set(overrides?.remove ?? []);
  const patterns = (overrides?.removeRegex ?? []).map(fullMatch);
  let result = defaults.filter((arg) => !remove.has(arg) && !patterns.some((pattern) => pattern.test(arg)));
  for (const added of overrides?.add ?? []) {
    const option = optionOf(added);
    result = result.filter((arg) => optionOf(arg) !== option);
    result.push(added);
  }
  return result;
}

/**
 * Problems with `overrides` at `path` (e.g. `spec.brokers.jvmArgumentOverrides`): regular
 * expressions that do not compile, and empty arguments to add (the JVM would take an empty argument
 * for the main class name). Empty when valid.
 */
export function jvmArgumentOverridesProblems(
  overrides: JvmArgumentOverrides | undefined,
  path: string,
): string[] {
  const problems: string[] = [];
  (overrides?.removeRegex ?? []).forEach((pattern, index) => {
    try {
      fullMatch(pattern);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      problems.push(
        `${path}.removeRegex[${index}]: "${pattern}" is not a valid regular expression (${reason})`,
      );
    }
  });
  (overrides?.add ?? []).forEach((argument, index) => {
    if (argument.trim() === '') {
      problems.push(`${path}.add[${index}]: must not be empty; remove the entry or give a JVM argument`);
    }
  });
  return problems;
}
