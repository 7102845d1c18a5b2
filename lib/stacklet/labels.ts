/**
 * The labels every generated object carries, so that any object can be traced to its product,
 * stacklet, role and role group, and so that selectors never reach across stacklets.
 */

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_ROLE_GROUP = 'app.kubernetes.io/role-group';
export const LABEL_VERSION = 'app.kubernetes.io/version';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_PART_OF = 'app.kubernetes.io/part-of';
export const MANAGED_BY = 'keelson';

/** Annotation on pod templates: the hash of the pod's rendered config, so a change rolls the pods. */
export const CONFIG_HASH_ANNOTATION = 'keelson.dev/config-hash';

export interface LabelInput {
  readonly product: string;
  readonly instance: string;
  readonly productVersion: string;
  readonly platform: string;
  readonly role?: string;
  readonly roleGroup?: string;
}

/** Labels that select a stacklet's pods (stable: never includes the version). */
export function selectorLabels(
  input: Omit<LabelInput, 'productVersion' | 'platform'>,
): Record<string, string> {
  return {
    [LABEL_NAME]: input.product,
    [LABEL_INSTANCE]: input.instance,
    ...(input.role ? { [LABEL_COMPONENT]: input.role } : {}),
    ...(input.roleGroup ? { [LABEL_ROLE_GROUP]: input.roleGroup } : {}),
  };
}

/**
 * Labels of a StatefulSet's volume claim templates: only those that never change for the life of
 * the role group (product, instance, role, role group, manager). Claim templates are immutable, so
 * a label that follows the spec (`app.kubernetes.io/version`, `part-of`) would make every upgrade
 * a change the API server refuses.
 */
export function claimTemplateLabels(
  input: Omit<LabelInput, 'productVersion' | 'platform'>,
): Record<string, string> {
  return { ...selectorLabels(input), [LABEL_MANAGED_BY]: MANAGED_BY };
}

/** Every label of a generated object. */
export function objectLabels(input: LabelInput): Record<string, string> {
  return {
    ...selectorLabels(input),
    // A stacklet without pods runs no product version.
    ...(input.productVersion ? { [LABEL_VERSION]: labelValue(input.productVersion) } : {}),
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_PART_OF]: input.platform,
  };
}

/** A label value made valid: at most 63 characters of [A-Za-z0-9._-], starting and ending alphanumeric. */
export function labelValue(value: string): string {
  return value
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}
