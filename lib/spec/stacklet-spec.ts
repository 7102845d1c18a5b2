/**
 * Builds a product's whole spec schema from the shared parts and what the product declares: its
 * roles (each with its own config fields and config files) and its clusterConfig fields.
 *
 *   spec:
 *     image, clusterConfig, clusterOperation, objectOverrides
 *     <role>:
 *       config, configOverrides, envOverrides, cliOverrides, podOverrides, jvmArgumentOverrides
 *       roleConfig
 *       roleGroups: { <group>: { replicas, config, configOverrides, ... } }
 */
import { Type, type TObject, type TOptional, type TProperties } from '@sinclair/typebox';
import {
  CLOSED,
  ClusterOperationSchema,
  CommonClusterConfigProperties,
  CommonConfigProperties,
  ImageSchema,
  JvmArgumentOverridesSchema,
  LabelKeyedRecord,
  noVectorAggregator,
  ObjectOverrideSchema,
  RoleConfigSchema,
  StringMap,
  type ClusterOperationSpec,
  type ImageSpec,
  type JvmArgumentOverridesSpec,
  type LoggingSpec,
  type ObjectOverride,
  type ResourcesSpec,
  type RoleConfigSpec,
} from './common';
import { withRules } from './rules';
import type {
  AuthenticationClassReference,
  ClusterLoggingSpec,
  MonitoringSpec,
  NetworkPolicySpec,
  TlsSpec,
} from './spec.generated';
import { PodOverridesSchema, type Affinity, type PodTemplatePatch } from './kubernetes';

/** What the spec builder needs to know of one role. */
export interface RoleSchemaInput<P extends TProperties = TProperties> {
  /** The product's own config fields of this role (all optional: defaults fill them in). */
  readonly config: P;
  /** The names of the config files this role renders; `configOverrides` accepts only these. */
  readonly configFiles: readonly string[];
  /** Whether the role runs a JVM (and so accepts `jvmArgumentOverrides`). */
  readonly jvm: boolean;
}

/** The overrides a role and a role group share. */
function overrideProperties<P extends TProperties>(role: RoleSchemaInput<P>) {
  const files = Object.fromEntries(
    role.configFiles.map((f) => [
      f,
      Type.Optional(StringMap(`Settings of ${f}; a key given here replaces the generated value.`)),
    ]),
  );
  return {
    config: Type.Optional(
      Type.Object(
        { ...CommonConfigProperties, ...role.config },
        { ...CLOSED, description: 'Settings of the pods.' },
      ),
    ),
    configOverrides: Type.Optional(
      Type.Object(files, {
        ...CLOSED,
        description: 'Settings merged into the generated config files, by file name.',
        'x-keelson-expected':
          role.configFiles.length > 0
            ? `one of this role's config files: ${role.configFiles.join(', ')}`
            : 'none; this role has no config files to override',
      }),
    ),
    envOverrides: Type.Optional(
      StringMap('Environment variables set on the main container (they win over generated ones).'),
    ),
    cliOverrides: Type.Optional(
      Type.Array(Type.String(), { description: "Arguments appended to the main container's command line." }),
    ),
    podOverrides: Type.Optional(PodOverridesSchema()),
    // Only JVM roles accept JVM argument overrides; the static type keeps the field on every role so
    // products share one type, and the schema rejects it where it means nothing.
    ...((role.jvm ? { jvmArgumentOverrides: Type.Optional(JvmArgumentOverridesSchema) } : {}) as {
      jvmArgumentOverrides: TOptional<typeof JvmArgumentOverridesSchema>;
    }),
  };
}

function roleGroupSchema<P extends TProperties>(role: RoleSchemaInput<P>) {
  return Type.Object(
    {
      replicas: Type.Optional(
        Type.Integer({ minimum: 0, description: "Pods of this role group. @default the product's default" }),
      ),
      ...overrideProperties(role),
    },
    CLOSED,
  );
}

/** The schema of one role. */
export function roleSchema<P extends TProperties>(role: RoleSchemaInput<P>) {
  return Type.Object(
    {
      ...overrideProperties(role),
      roleConfig: Type.Optional(RoleConfigSchema),
      roleGroups: Type.Optional(
        LabelKeyedRecord(
          roleGroupSchema(role),
          'Groups of identically configured pods, by name. @default one group "default"',
        ),
      ),
    },
    { ...CLOSED, description: 'A role: its defaults for every role group, and the role groups.' },
  );
}

type RoleProps<R extends Record<string, RoleSchemaInput>> = {
  [K in keyof R]: TOptional<ReturnType<typeof roleSchema<R[K]['config']>>>;
};

/** Builds the spec schema of a product. */
export function stackletSpecSchema<
  C extends TProperties,
  R extends Record<string, RoleSchemaInput>,
>(definition: { readonly clusterConfig: C; readonly roles: R; readonly description: string }) {
  // Built untyped and cast once: TypeScript cannot follow TypeBox's inference through generics.
  const roles: TProperties = Object.fromEntries(
    Object.entries(definition.roles).map(([name, role]) => [name, Type.Optional(roleSchema(role))]),
  );
  const clusterConfig = Type.Object(
    { ...CommonClusterConfigProperties, ...(definition.clusterConfig as TProperties) },
    {
      ...CLOSED,
      ...withRules(noVectorAggregator),
      description: 'Settings of the whole product: dependencies, security, networking.',
    },
  );
  const properties: TProperties = {
    image: Type.Optional(ImageSchema),
    clusterConfig: Type.Optional(clusterConfig),
    clusterOperation: Type.Optional(ClusterOperationSchema),
    objectOverrides: Type.Optional(
      Type.Array(ObjectOverrideSchema, { description: 'Partial objects merged onto generated ones, last.' }),
    ),
    ...roles,
  };
  return Type.Object(properties, { ...CLOSED, description: definition.description }) as unknown as TObject<
    {
      image: TOptional<typeof ImageSchema>;
      clusterConfig: TOptional<TObject<typeof CommonClusterConfigProperties & C>>;
      clusterOperation: TOptional<typeof ClusterOperationSchema>;
      objectOverrides: TOptional<ReturnType<typeof Type.Array<typeof ObjectOverrideSchema>>>;
    } & RoleProps<R>
  >;
}

/**
 * How the framework sees any product's role group: the product's own config fields are opaque
 * here. Every product's static role group type is assignable to it.
 */
export interface AnyRoleGroupSpec {
  readonly replicas?: number;
  readonly config?: AnyConfigSpec;
  readonly configOverrides?: Readonly<Record<string, Readonly<Record<string, string>> | undefined>>;
  readonly envOverrides?: Readonly<Record<string, string>>;
  readonly cliOverrides?: readonly string[];
  readonly podOverrides?: PodTemplatePatch;
  readonly jvmArgumentOverrides?: JvmArgumentOverridesSpec;
}

/** How the framework sees any product's role. */
export interface AnyRoleSpec extends Omit<AnyRoleGroupSpec, 'replicas'> {
  readonly roleConfig?: RoleConfigSpec;
  readonly roleGroups?: Readonly<Record<string, AnyRoleGroupSpec>>;
}

/** The shared config fields, plus any product fields. */
export interface AnyConfigSpec {
  readonly resources?: ResourcesSpec;
  readonly logging?: LoggingSpec;
  readonly affinity?: Affinity;
  readonly gracefulShutdownTimeout?: string;
}

/** How the framework sees any product's spec. */
export interface AnyStackletSpec {
  readonly image?: ImageSpec;
  /**
   * The product's clusterConfig; a stacklet built by `stackletSpecSchema` holds the common fields
   * (`CommonClusterConfigSpec`) beside its own.
   */
  readonly clusterConfig?: object;
  readonly clusterOperation?: ClusterOperationSpec;
  readonly objectOverrides?: readonly ObjectOverride[];
}

/** The clusterConfig fields every product built by `stackletSpecSchema` has. */
export interface CommonClusterConfigSpec {
  readonly vectorAggregatorConfigMapName?: string;
  readonly logging?: ClusterLoggingSpec;
  readonly networkPolicy?: NetworkPolicySpec;
  readonly tls?: TlsSpec;
  readonly authentication?: readonly AuthenticationClassReference[];
  readonly monitoring?: MonitoringSpec;
}
