/**
 * Parsers for command-line flags, so that `--workers abc` or `--watch-namespaces Data` stops the
 * command with a message naming the flag and the rule instead of starting an operator that does
 * nothing.
 */
import { InvalidArgumentError } from 'commander';
import { nameProblems } from '../naming';

/** A parser of whole numbers no smaller than `min`. */
export function integerAtLeast(min: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (value.trim() === '' || !Number.isInteger(parsed) || parsed < min) {
      throw new InvalidArgumentError(`must be a whole number >= ${min}, got "${value}".`);
    }
    return parsed;
  };
}

/**
 * A parser of a comma-separated list of namespaces: each a DNS label, blanks around commas
 * ignored, repeats dropped. `all` (or nothing) means every namespace and parses to undefined.
 */
export function namespaceList(value: string): readonly string[] | undefined {
  const names = [
    ...new Set(
      value
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean),
    ),
  ];
  if (names.length === 0 || (names.length === 1 && names[0] === 'all')) return undefined;
  const problems = names.flatMap((n) => nameProblems(n, 'dns-label', 'namespace'));
  if (problems.length > 0) throw new InvalidArgumentError(problems.join(' '));
  return names;
}

/** A parser of one namespace name (a DNS label). */
export function namespaceName(value: string): string {
  const problems = nameProblems(value, 'dns-label', 'namespace');
  if (problems.length > 0) throw new InvalidArgumentError(problems.join(' '));
  return value;
}

/**
 * A parser of a repeatable `<namespace>/<name>` flag naming a Secret (`--ca-secret data/corp-ca`),
 * collecting every use into one list.
 */
export function secretReference(
  value: string,
  previous: readonly { namespace: string; name: string }[] = [],
): readonly { namespace: string; name: string }[] {
  const parts = value.split('/');
  if (parts.length !== 2) {
    throw new InvalidArgumentError(`must be <namespace>/<secret name>, got "${value}".`);
  }
  const [namespace, name] = parts;
  const problems = [
    ...nameProblems(namespace, 'dns-label', 'namespace'),
    ...nameProblems(name, 'dns-subdomain', 'Secret name'),
  ];
  if (problems.length > 0) throw new InvalidArgumentError(problems.join(' '));
  return [...previous, { namespace, name }];
}
