/** Durations as Kubernetes and Go write them: `30s`, `5m`, `1h30m`, `500ms`. */

const PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g;
const WHOLE = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const SECONDS = { ms: 0.001, s: 1, m: 60, h: 3600 } as const;

/** Seconds in `duration`, or undefined when it is not a duration. */
export function parseDurationSeconds(duration: string): number | undefined {
  if (!WHOLE.test(duration)) return undefined;
  let total = 0;
  for (const [, amount, unit] of duration.matchAll(PART)) {
    total += Number(amount) * SECONDS[unit as keyof typeof SECONDS];
  }
  return total;
}
