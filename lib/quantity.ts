/**
 * Kubernetes resource quantities (`500m`, `2`, `1.5Gi`, `1e3`).
 *
 * keelson reads quantities to check them before the API server does (so `cpu.min > cpu.max` is a
 * synth-time error naming the field) and to derive values from them (a JVM heap from a memory limit).
 * A quantity parses to a plain number in the base unit: cores for CPU, bytes for memory and storage.
 * The grammar is the API server's: a signed decimal number, then either a binary suffix
 * (Ki Mi Gi Ti Pi Ei), a decimal suffix (m, none, k M G T P E) or a decimal exponent (e3, E-2).
 */

/**
 * The grammar above as a regular expression's source, in the syntax both JavaScript and the API
 * server's (Go) regular expressions read, so a schema pattern can admit exactly what keelson parses.
 */
export const QUANTITY_SYNTAX =
  '^([+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)|[eE]([+-]?[0-9]+))?$';
const QUANTITY = new RegExp(QUANTITY_SYNTAX);

const BINARY_POWERS: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_EXPONENTS: Readonly<Record<string, number>> = { m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_UNITS = ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'] as const;

const EXAMPLES = 'e.g. 500m, 2, 1.5, 512Mi, 1Gi, 1G';

/**
 * The value of `quantity` in its base unit (cores, bytes), or `undefined` when it is not a quantity.
 * For callers that report problems themselves; most want {@link parseQuantity}.
 */
export function tryParseQuantity(quantity: string): number | undefined {
  const match = QUANTITY.exec(quantity);
  if (!match) {
    return undefined;
  }
  const [, mantissa, suffix, exponent] = match;
  if (suffix !== undefined && suffix in BINARY_POWERS) {
    return Number(mantissa) * 2 ** BINARY_POWERS[suffix];
  }
  // Let Number() scale decimal suffixes ("500e-3"), so 500m is exactly 0.5 rather than 500 * 0.001.
  const power =
    suffix !== undefined ? DECIMAL_EXPONENTS[suffix] : exponent !== undefined ? Number(exponent) : 0;
  const value = Number(`${mantissa}e${power}`);
  return Number.isFinite(value) ? value : undefined;
}

/** The value of `quantity` in its base unit (cores for CPU, bytes for memory); throws when invalid. */
export function parseQuantity(quantity: string): number {
  const value = tryParseQuantity(quantity);
  if (value === undefined) {
    throw new Error(`"${quantity}" is not a Kubernetes quantity (${EXAMPLES})`);
  }
  return value;
}

/**
 * Problems with `value` as a quantity at `path` (e.g. `spec.brokers.config.resources.memory.limit`),
 * as sentences that name the path, the value and what was expected; empty when valid.
 */
export function quantityProblems(value: unknown, path: string): string[] {
  if (typeof value !== 'string') {
    return [
      `${path}: must be a quantity string (${EXAMPLES}), not ${JSON.stringify(value) ?? String(value)}`,
    ];
  }
  if (tryParseQuantity(value) === undefined) {
    return [
      `${path}: "${value}" is not a Kubernetes quantity; expected a number with an optional suffix ` +
        `(m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent like e3), ${EXAMPLES}`,
    ];
  }
  return [];
}

/**
 * Compares two quantities by value, for sorting and for rules like "min must not exceed max":
 * negative when `a < b`, zero when equal (`1Gi` equals `1024Mi`), positive when `a > b`. Throws when
 * either is not a quantity.
 */
export function compareQuantities(a: string, b: string): number {
  return Math.sign(parseQuantity(a) - parseQuantity(b));
}

/**
 * `bytes` in the largest binary unit that divides it exactly (`1073741824` → `1Gi`, `1572864` →
 * `1536Ki`, `1000` → `1000`), the way a person would write it in a spec. Throws for a negative or
 * fractional byte count, which no memory or storage size can be.
 */
export function formatBytes(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 0) {
    throw new RangeError(`cannot format ${bytes} as bytes: expected a whole, non-negative number`);
  }
  if (bytes === 0) {
    return '0';
  }
  for (const unit of BINARY_UNITS) {
    const size = 2 ** BINARY_POWERS[unit];
    if (bytes % size === 0) {
      return `${bytes / size}${unit}`;
    }
  }
  return String(bytes);
}
