/**
 * A stacklet's reference to an OpaCluster that decides for it
 * (`spec.clusterConfig.authorization.opa`): the OpaCluster's discovery ConfigMap and the Rego
 * package of the policy. Every product that asks OPA (Trino's access control, Kafka's authorizer)
 * takes the same shape, resolves the same ConfigMap and asks the same URL,
 * `<OPA>v1/data/<package path>/<rule>`; each adds settings of its own beside these two.
 */
import { Type, type TProperties } from '@sinclair/typebox';
import { CLOSED } from '../spec/common';

/** The key of an OpaCluster's discovery ConfigMap that holds its REST API's base URL. */
export const OPA_URL_KEY = 'OPA';

/** A Rego package path: dot-separated identifiers. */
export const OPA_PACKAGE_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*$';

/** Where a stacklet names its OpaCluster. */
export const OPA_CONFIG_MAP_PATH = 'spec.clusterConfig.authorization.opa.configMapName';

/** The two fields every product's `authorization.opa` has. */
export interface OpaReference {
  readonly configMapName: string;
  readonly package: string;
}

/**
 * The schema of `clusterConfig.authorization`: an `opa` object with `configMapName`, `package`
 * and the product's own `extra` fields. `packageUse` says which rule the product asks, and
 * `whenUnset` what the product allows without it.
 */
export function opaAuthorizationSchema<T extends TProperties>(options: {
  readonly product: string;
  readonly packageExample: string;
  readonly packageUse: string;
  readonly whenUnset: string;
  readonly extra?: T;
}) {
  return Type.Object(
    {
      opa: Type.Object(
        {
          configMapName: Type.String({
            minLength: 1,
            description: `The discovery ConfigMap of the OpaCluster that decides (its key ${OPA_URL_KEY}).`,
          }),
          package: Type.String({
            pattern: OPA_PACKAGE_PATTERN,
            description: `The Rego package of the policy (\`${options.packageExample}\`, \`acme.${options.packageExample}\`); ${options.packageUse}`,
          }),
          ...((options.extra ?? {}) as T),
        },
        { ...CLOSED, description: `${options.product}'s OPA authorization.` },
      ),
    },
    { ...CLOSED, description: `Who may do what. @default - none: ${options.whenUnset}` },
  );
}

/** The URL of rule `rule` of the policy `opa` names, from the OpaCluster's discovery data. */
export function opaRuleUrl(
  opa: OpaReference,
  dependencies: Readonly<Record<string, Readonly<Record<string, string>> | undefined>>,
  rule: string,
): string {
  const base = dependencies[opa.configMapName]?.[OPA_URL_KEY] ?? '';
  return `${base.endsWith('/') ? base : `${base}/`}v1/data/${opa.package.replace(/\./g, '/')}/${rule}`;
}

/** The dependency a stacklet has on its OpaCluster's discovery ConfigMap (none without OPA). */
export function opaDependencies(opa: OpaReference | undefined): Record<string, string> {
  return opa ? { [OPA_CONFIG_MAP_PATH]: opa.configMapName } : {};
}

/** A named ConfigMap that is no OpaCluster's discovery ConfigMap. */
export function opaReferenceProblems(
  opa: OpaReference | undefined,
  dependencies: Readonly<Record<string, Readonly<Record<string, string>> | undefined>>,
): string[] {
  if (!opa || dependencies[opa.configMapName]?.[OPA_URL_KEY]) return [];
  return [
    `${OPA_CONFIG_MAP_PATH}: the ConfigMap "${opa.configMapName}" has no ${OPA_URL_KEY}; ` +
      "name an OpaCluster's discovery ConfigMap (the OpaCluster's name)",
  ];
}
