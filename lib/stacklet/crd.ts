/**
 * The CustomResourceDefinition of a product, from its spec schema, with the rules that need the
 * resource's name: the names keelson derives from it must fit Kubernetes' limits.
 */
import { customResourceDefinition } from '../spec/crd';
import type { SchemaValidation } from '../spec/rules';
import { STATEFULSET_NAME_MAX } from '../naming';
import { API_GROUP, API_VERSION, type ProductDefinition } from './product';
import { DEFAULT_ROLE_GROUP } from './resolve';

/**
 * CEL rules on the whole resource: `<name>-<role>-<group>` must fit a StatefulSet name for every
 * role group (and for the `default` group when a role names none).
 */
export function nameLengthRules(product: ProductDefinition): SchemaValidation[] {
  return product.roles.map((role) => {
    const budget = STATEFULSET_NAME_MAX - role.name.length - 2;
    const groups = `self.spec.${role.name}.roleGroups`;
    return {
      rule:
        `!has(self.spec) || !has(self.spec.${role.name}) || !has(${groups}) ` +
        `? size(self.metadata.name) + ${DEFAULT_ROLE_GROUP.length} <= ${budget} ` +
        `: ${groups}.all(g, size(self.metadata.name) + size(g) <= ${budget})`,
      message:
        `metadata.name and the role group names of ${role.name} are too long: ` +
        `"<name>-${role.name}-<group>" must be at most ${STATEFULSET_NAME_MAX} characters`,
    };
  });
}

/** The product's CRD (`<plural>.keelson.dev`, version v1alpha1). */
export function productCrd(product: ProductDefinition): Record<string, unknown> {
  return customResourceDefinition({
    group: API_GROUP,
    version: API_VERSION,
    kind: product.kind,
    plural: product.plural,
    shortNames: product.shortNames,
    description: product.description,
    specSchema: product.specSchema,
    resourceRules: nameLengthRules(product),
  });
}
