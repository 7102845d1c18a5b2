/**
 * Names of the objects keelson generates.
 *
 * Names are set explicitly (never cdk8s' hashed names) so that synth mode and the operator produce
 * the same objects, and they are checked against Kubernetes' rules when they are made, so a name
 * that is too long fails at synth time with the field that caused it rather than at apply time.
 */

/** RFC 1123 label: Services, Namespaces, and anything that becomes a DNS label. */
export const DNS_LABEL_MAX = 63;
/** RFC 1123 subdomain: most other objects (ConfigMaps, StatefulSets, ...). */
export const DNS_SUBDOMAIN_MAX = 253;
/**
 * A StatefulSet's pods carry the label `controller-revision-hash: <name>-<10 chars>`, and label
 * values are capped at 63 characters, so a StatefulSet name must leave room for that suffix.
 */
export const STATEFULSET_NAME_MAX = DNS_LABEL_MAX - 11;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** The character rule of an RFC 1123 subdomain, as a regular expression's source (for schemas). */
export const DNS_SUBDOMAIN_SYNTAX = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const DNS_SUBDOMAIN = new RegExp(DNS_SUBDOMAIN_SYNTAX);

/** The rule a generated name must follow. */
export type NameRule = 'dns-label' | 'dns-subdomain' | 'statefulset';

/**
 * Problems with `name` under `rule`, each a sentence naming `what` the name is for; empty when
 * the name is valid.
 */
export function nameProblems(name: string, rule: NameRule, what: string): string[] {
  const max =
    rule === 'dns-subdomain'
      ? DNS_SUBDOMAIN_MAX
      : rule === 'statefulset'
        ? STATEFULSET_NAME_MAX
        : DNS_LABEL_MAX;
  const pattern = rule === 'dns-subdomain' ? DNS_SUBDOMAIN : DNS_LABEL;
  const problems: string[] = [];
  if (name.length > max) {
    problems.push(
      `${what} "${name}" is ${name.length} characters long; the limit is ${max}` +
        (rule === 'statefulset' ? " (63 less room for the pods' controller-revision-hash label)" : '') +
        '. Use a shorter stacklet, role group or object name.',
    );
  }
  if (!pattern.test(name)) {
    problems.push(
      `${what} "${name}" must consist of lower case letters, digits and '-'` +
        (rule === 'dns-subdomain' ? " (and '.' between parts)" : '') +
        ', and start and end with a letter or digit.',
    );
  }
  return problems;
}

/** Throws one error listing every problem of `name` under `rule`. */
export function assertValidName(name: string, rule: NameRule, what: string): string {
  const problems = nameProblems(name, rule, what);
  if (problems.length > 0) {
    throw new Error(problems.join('\n'));
  }
  return name;
}

/** The name of a role group's workload: `<instance>-<role>-<group>`. */
export function roleGroupName(instance: string, role: string, group: string): string {
  return `${instance}-${role}-${group}`;
}

/** The name of a role group's headless Service: `<instance>-<role>-<group>-headless`. */
export function headlessServiceName(instance: string, role: string, group: string): string {
  return `${roleGroupName(instance, role, group)}-headless`;
}
