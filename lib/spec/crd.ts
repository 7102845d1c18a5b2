/**
 * CustomResourceDefinitions generated from the same TypeBox schemas that type the constructs and
 * validate at synth time.
 *
 * A CRD schema must be structural (every node typed; no `patternProperties`, no
 * `additionalProperties: false`), so the JSON Schema is translated:
 * - closed objects stay closed through the API server's strict field validation (unknown fields
 *   are rejected by kubectl and server-side apply) and pruning;
 * - maps whose keys follow a pattern become `additionalProperties` plus a CEL rule on the keys;
 * - unions of literals become `enum`;
 * - keelson's own `x-keelson-*` hints are dropped.
 */
import type { TSchema } from '@sinclair/typebox';
import { VALIDATIONS_KEY, type SchemaValidation } from './rules';

/** A CRD's `openAPIV3Schema` node. */
export type JsonSchemaProps = Record<string, unknown>;

const DROPPED_KEYWORDS = new Set(['$id', '$schema', 'title', 'default', 'examples']);

/** Translates a TypeBox schema into a structural CRD schema. */
export function toStructuralSchema(schema: TSchema): JsonSchemaProps {
  const s = schema as Record<string, unknown>;
  const out: JsonSchemaProps = {};
  const validations: SchemaValidation[] = [...((s[VALIDATIONS_KEY] as SchemaValidation[] | undefined) ?? [])];

  const anyOf = s.anyOf as Record<string, unknown>[] | undefined;
  if (anyOf) {
    if (!anyOf.every((o) => o.const !== undefined)) {
      throw new Error('only unions of literals can be expressed in a CRD schema');
    }
    out.type = typeof anyOf[0].const === 'number' ? 'number' : typeof anyOf[0].const;
    out.enum = anyOf.map((o) => o.const);
  }

  for (const [key, value] of Object.entries(s)) {
    if (
      DROPPED_KEYWORDS.has(key) ||
      key.startsWith('x-keelson-') ||
      key === VALIDATIONS_KEY ||
      key === 'anyOf'
    ) {
      continue;
    }
    switch (key) {
      case 'const':
        out.enum = [value];
        break;
      case 'properties':
        out.properties = Object.fromEntries(
          Object.entries(value as Record<string, TSchema>).map(([k, v]) => [k, toStructuralSchema(v)]),
        );
        break;
      case 'patternProperties': {
        const [[pattern, valueSchema]] = Object.entries(value as Record<string, TSchema>);
        out.additionalProperties = toStructuralSchema(valueSchema);
        // TypeBox's catch-all key pattern needs no rule.
        if (pattern !== '^(.*)$') {
          validations.push({
            rule: `self.all(key, key.matches(${JSON.stringify(pattern)}))`,
            message: `keys must match ${pattern}`,
          });
        }
        break;
      }
      case 'additionalProperties':
        // `true` and an empty schema (TypeBox's Unknown) both mean "anything goes here".
        if (value === true || (typeof value === 'object' && Object.keys(value as object).length === 0)) {
          out['x-kubernetes-preserve-unknown-fields'] = true;
        } else if (value !== false && !s.patternProperties)
          out.additionalProperties = toStructuralSchema(value as TSchema);
        break;
      case 'items':
        out.items = toStructuralSchema(value as TSchema);
        break;
      default:
        out[key] = value;
    }
  }
  // An open object with declared properties keeps them typed and preserves the rest.
  if (out['x-kubernetes-preserve-unknown-fields'] && out.additionalProperties)
    delete out.additionalProperties;
  for (const v of validations) {
    if (v.fieldPath !== undefined && !declaresField(out, v.fieldPath)) {
      // The API server refuses the whole CRD for such a rule; say which rule while it is cheap to.
      throw new Error(`the fieldPath ${v.fieldPath} of the CEL rule ${v.rule} names no declared field`);
    }
  }
  if (validations.length > 0) out[VALIDATIONS_KEY] = validations;
  return out;
}

/** Whether `fieldPath` (`.a.b`) leads through declared properties of `schema`. */
function declaresField(schema: JsonSchemaProps, fieldPath: string): boolean {
  let node: JsonSchemaProps | undefined = schema;
  for (const name of fieldPath.split('.').slice(1)) {
    const properties = node?.properties as Record<string, JsonSchemaProps> | undefined;
    node = properties && Object.hasOwn(properties, name) ? properties[name] : undefined;
  }
  return node !== undefined;
}

/** metav1.Condition, as the status of every stacklet carries it. */
const ConditionSchema: JsonSchemaProps = {
  type: 'object',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: { type: 'string', maxLength: 316 },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    reason: { type: 'string', maxLength: 1024 },
    message: { type: 'string', maxLength: 32768 },
  },
};

export const StatusSchema: JsonSchemaProps = {
  type: 'object',
  properties: {
    observedGeneration: { type: 'integer', format: 'int64' },
    conditions: {
      type: 'array',
      items: ConditionSchema,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    },
  },
};

/** What a CRD is generated from. */
export interface CrdDefinition {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly shortNames?: readonly string[];
  readonly categories?: readonly string[];
  readonly specSchema: TSchema;
  /** CEL rules on the whole resource (they may read `self.metadata.name`). */
  readonly resourceRules?: readonly SchemaValidation[];
  readonly description?: string;
  /** @default 'Namespaced' */
  readonly scope?: 'Namespaced' | 'Cluster';
  /** Whether a resource without `spec` is refused. @default false */
  readonly specRequired?: boolean;
  /**
   * Printer columns shown before `Age`.
   * @default - the stacklet conditions: Available, Degraded, Stopped
   */
  readonly printerColumns?: readonly PrinterColumn[];
}

/** A column `kubectl get` shows. */
export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly jsonPath: string;
}

/** A CustomResourceDefinition manifest with a status subresource and printer columns. */
export function customResourceDefinition(def: CrdDefinition): Record<string, unknown> {
  const condition = (type: string) => `.status.conditions[?(@.type=="${type}")].status`;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${def.group}` },
    spec: {
      group: def.group,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.kind.toLowerCase(),
        ...(def.shortNames ? { shortNames: [...def.shortNames] } : {}),
        categories: [...(def.categories ?? ['keelson'])],
      },
      scope: def.scope ?? 'Namespaced',
      versions: [
        {
          name: def.version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            ...(def.printerColumns ?? [
              { name: 'Available', type: 'string', jsonPath: condition('Available') },
              { name: 'Degraded', type: 'string', jsonPath: condition('Degraded') },
              { name: 'Stopped', type: 'string', jsonPath: condition('Stopped') },
            ]),
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              ...(def.description ? { description: def.description } : {}),
              ...(def.specRequired ? { required: ['spec'] } : {}),
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: toStructuralSchema(def.specSchema),
                status: StatusSchema,
              },
              ...(def.resourceRules?.length ? { [VALIDATIONS_KEY]: [...def.resourceRules] } : {}),
            },
          },
        },
      ],
    },
  };
}
