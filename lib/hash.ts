/**
 * Stable hashes of configuration.
 *
 * A role group's pod template carries a hash of everything its pods read at start-up (rendered config
 * files, env, arguments). When that hash changes the workload controller rolls the pods, and when it
 * does not nothing restarts. That only works if the same config always gives the same hash, whatever
 * order its keys were built in, so the hash is taken over canonical JSON.
 */
import { createHash } from 'node:crypto';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return false;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isSorted(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1] > keys[i]) {
      return false;
    }
  }
  return true;
}

function sortKeys(_key: string, value: unknown): unknown {
  if (!isPlainObject(value)) {
    return value;
  }
  const keys = Object.keys(value);
  // Objects are mostly built in key order already; JSON.stringify walks those as they are.
  if (isSorted(keys)) {
    return value;
  }
  const sorted: Record<string, unknown> = {};
  for (const key of keys.sort()) {
    // defineProperty keeps a literal "__proto__" key as data instead of re-parenting the copy.
    Object.defineProperty(sorted, key, {
      value: value[key],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return sorted;
}

/**
 * `value` as JSON with the keys of every object sorted (by UTF-16 code unit, so the order does not
 * depend on the locale), so equal data always serializes to the same text.
 *
 * Everything else follows `JSON.stringify`: `undefined`, functions and symbols are left out of
 * objects and become `null` in arrays, non-finite numbers become `null`, `toJSON` is honoured, and
 * cycles or BigInts throw. `space` indents like `JSON.stringify`'s third argument.
 */
export function canonicalJson(value: unknown, space?: number): string {
  const text = JSON.stringify(value, sortKeys, space);
  // JSON.stringify answers undefined (not a string) for a top-level undefined, function or symbol.
  return text ?? 'null';
}

/**
 * The hex sha256 of `value`'s canonical JSON: the pod-template config hash. Key order never changes
 * it; any change of a value, a key, or array order does.
 */
export function configHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex');
}
