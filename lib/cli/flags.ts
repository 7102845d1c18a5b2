/**
 * Parsers for numeric command-line flags, so that `--workers abc` stops the command with a message
 * naming the flag and the rule instead of starting an operator that does nothing.
 */
import { InvalidArgumentError } from 'commander';

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
