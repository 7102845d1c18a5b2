/**
 * TrinoCatalog: one catalog of Trino, as an object of its own, so catalogs can be added to and
 * removed from clusters by label (`clusterConfig.catalogLabelSelector` of a TrinoCluster) and one
 * catalog can serve several clusters. A catalog runs nothing and produces no objects: the
 * TrinoClusters that select it render it into `<catalog name>.properties` in their pods' config,
 * so changing or deleting a catalog rolls the pods that read it.
 *
 * Connectors: `hive` and `iceberg` (tables in a Hive metastore, data in S3), `tpch` and `tpcds`
 * (generated benchmark data), `postgresql`, and `generic` for any other connector by name.
 * Credentials stay in their Secrets: the properties file refers to environment variables
 * (`${ENV:NAME}`, which Trino expands) that the pods take from the Secrets.
 *
 * A hive or iceberg catalog whose metastore speaks TLS (its discovery ConfigMap names the class as
 * `HIVE_TLS_CLASS`) talks Thrift over TLS (`hive.metastore.thrift.client.ssl.enabled`), trusting
 * the CAs of that class (`hive.metastore.thrift.client.ssl.trust-certificate`, a PEM file Trino
 * reads every certificate of), which the cluster's pods mount as clients (lib/tls
 * `tlsTrustVolumes`) whether or not Trino speaks TLS itself. Trino checks the metastore's
 * certificate chain, not its name (its Thrift client sets no endpoint identification).
 *
 * A hive or iceberg catalog whose metastore takes Kerberos clients (its discovery ConfigMap names
 * the principal as `HIVE_KERBEROS_PRINCIPAL` and the class as `HIVE_KERBEROS_CLASS`) logs in as
 * the Trino pod's own principal (`hive.metastore.authentication.type=KERBEROS`), from the keytab
 * the pod's init container writes with that class (lib/authentication/kerberos.ts; trino.ts adds
 * it to every pod of a cluster with such a catalog). The principal differs per pod, so the
 * properties name it through a variable the pod sets.
 */
import { Type } from '@sinclair/typebox';
import type { EnvVar } from '../../imports/k8s-wire';
import type { Construct } from 'constructs';
import {
  CLOSED,
  databaseCredentialEnv,
  databaseCredentialVariables,
  defineRule,
  KERBEROS_KEYTAB,
  resolveS3,
  s3CredentialEnv,
  s3CredentialVariables,
  S3ConnectionRefSchema,
  s3References,
  Stacklet,
  StringMap,
  withRules,
  type AnyStackletSpec,
  type IStacklet,
  type ObjectReference,
  type ProductDefinition,
  type ResolvedReferences,
  type S3Connection,
  type S3ConnectionRef,
  type StackletOptions,
  tlsTrustFile,
} from '../../lib';

/** The custom resource kind of a catalog. */
export const TRINO_CATALOG_KIND = 'TrinoCatalog';

/** The key of the Thrift URI in a Hive discovery ConfigMap. */
const HIVE_KEY = 'HIVE';
/** The key of the metastore's TlsClass in a Hive discovery ConfigMap (absent: plaintext Thrift). */
const HIVE_TLS_KEY = 'HIVE_TLS_CLASS';
/** The keys of the principal a Kerberos metastore accepts, and of its AuthenticationClass. */
const HIVE_KERBEROS_PRINCIPAL_KEY = 'HIVE_KERBEROS_PRINCIPAL';
const HIVE_KERBEROS_CLASS_KEY = 'HIVE_KERBEROS_CLASS';
/** The variable holding the pod's own principal, which a Kerberos catalog logs in as. */
export const KERBEROS_PRINCIPAL_ENV = 'KEELSON_KERBEROS_PRINCIPAL';

const MetastoreSchema = Type.Object(
  {
    configMapName: Type.String({
      minLength: 1,
      description: 'The discovery ConfigMap of the HiveCluster holding the tables.',
    }),
  },
  { ...CLOSED, description: 'The Hive metastore.' },
);

const lakeConnector = (what: string) =>
  Type.Object(
    { metastore: MetastoreSchema, s3: Type.Optional(S3ConnectionRefSchema) },
    { ...CLOSED, description: what },
  );

const SecretKeySchema = Type.Object(
  { secretName: Type.String({ minLength: 1 }), key: Type.String({ minLength: 1 }) },
  CLOSED,
);

const CONNECTORS = ['hive', 'iceberg', 'tpch', 'tpcds', 'postgresql', 'generic'] as const;
type ConnectorName = (typeof CONNECTORS)[number];

const exactlyOneConnector = defineRule<Partial<Record<ConnectorName, unknown>>>({
  cel: `[${CONNECTORS.map((c) => `has(self.${c})`).join(', ')}].filter(x, x).size() == 1`,
  message: `name exactly one connector: ${CONNECTORS.join(', ')}`,
  check: (self) => CONNECTORS.filter((c) => self[c] !== undefined).length === 1,
});

export const TrinoCatalogSpecSchema = Type.Object(
  {
    connector: Type.Object(
      {
        hive: Type.Optional(lakeConnector('Hive tables: metadata in a Hive metastore, data in S3.')),
        iceberg: Type.Optional(lakeConnector('Iceberg tables with a Hive metastore as their catalog.')),
        tpch: Type.Optional(Type.Object({}, { ...CLOSED, description: 'Generated TPC-H data.' })),
        tpcds: Type.Optional(Type.Object({}, { ...CLOSED, description: 'Generated TPC-DS data.' })),
        postgresql: Type.Optional(
          Type.Object(
            {
              host: Type.String({ minLength: 1 }),
              port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: '@default 5432' })),
              database: Type.String({ minLength: 1 }),
              credentialsSecretName: Type.String({
                minLength: 1,
                description: 'The Secret with the keys `username` and `password`.',
              }),
            },
            { ...CLOSED, description: 'A PostgreSQL database.' },
          ),
        ),
        generic: Type.Optional(
          Type.Object(
            {
              connectorName: Type.String({
                minLength: 1,
                description: '`connector.name` (`memory`, `mysql`).',
              }),
              properties: Type.Optional(StringMap('Properties of the catalog file.')),
              secretProperties: Type.Optional(
                Type.Record(Type.String(), SecretKeySchema, {
                  description: 'Properties whose values come from Secrets, by property name.',
                }),
              ),
            },
            { ...CLOSED, description: 'Any connector, by name and properties.' },
          ),
        ),
      },
      { ...CLOSED, ...withRules(exactlyOneConnector), description: 'The connector and its settings.' },
    ),
    configOverrides: Type.Optional(
      StringMap('Properties set on top of the generated catalog file (a key here wins).'),
    ),
  },
  { ...CLOSED, description: 'A Trino catalog.' },
);
/** The spec of a TrinoCatalog. */
import type { TrinoCatalogSpec } from './spec.generated';
export type { TrinoCatalogSpec };

/** The lake connector (hive or iceberg) of a catalog, if it has one. */
function lake(
  spec: TrinoCatalogSpec,
): { name: 'hive' | 'iceberg'; metastore: string; s3?: S3ConnectionRef } | undefined {
  const name = spec.connector.hive ? 'hive' : spec.connector.iceberg ? 'iceberg' : undefined;
  if (!name) return undefined;
  const c = spec.connector[name]!;
  return { name, metastore: c.metastore.configMapName, s3: c.s3 };
}

/**
 * The references a catalog makes: its S3Connection. `prefix` is the path of the catalog (its
 * own `spec`, or where a cluster found it), so one cluster can hold several catalogs' references.
 */
export function catalogReferences(prefix: string, spec: TrinoCatalogSpec): Record<string, ObjectReference> {
  const l = lake(spec);
  return l ? s3References(`${prefix}.connector.${l.name}.s3`, l.s3) : {};
}

/** The discovery ConfigMaps a catalog needs: its Hive's. */
export function catalogDependencies(prefix: string, spec: TrinoCatalogSpec): Record<string, string> {
  const l = lake(spec);
  return l ? { [`${prefix}.connector.${l.name}.metastore.configMapName`]: l.metastore } : {};
}

/** Problems a catalog has with what it refers to. */
export function catalogProblems(
  prefix: string,
  spec: TrinoCatalogSpec,
  dependencies: Readonly<Record<string, Readonly<Record<string, string>>>>,
): string[] {
  const l = lake(spec);
  const discovery = l ? dependencies[l.metastore] : undefined;
  if (l && !discovery?.[HIVE_KEY]) {
    return [
      `${prefix}.connector.${l.name}.metastore.configMapName: the ConfigMap "${l.metastore}" has no ${HIVE_KEY}; ` +
        'name the discovery ConfigMap of a HiveCluster',
    ];
  }
  if (l && discovery?.[HIVE_KERBEROS_PRINCIPAL_KEY] && !discovery[HIVE_KERBEROS_CLASS_KEY]) {
    return [
      `${prefix}.connector.${l.name}.metastore.configMapName: the ConfigMap "${l.metastore}" names a Kerberos ` +
        `principal (${HIVE_KERBEROS_PRINCIPAL_KEY}) but no ${HIVE_KERBEROS_CLASS_KEY}, so Trino cannot get a keytab ` +
        'of its realm; name the discovery ConfigMap of a keelson HiveCluster',
    ];
  }
  return [];
}

/** A variable name from a catalog name: `my-lake` → `MY_LAKE`. */
function envPart(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/**
 * A rendered catalog: its properties, the variables its Secret references need, the TlsClasses
 * whose CAs the pods must mount to reach what it connects to (lib/tls `tlsTrustVolumes`), and the
 * kerberos AuthenticationClass whose keytab the pods need to log in to its metastore.
 */
export interface RenderedCatalog {
  readonly properties: Record<string, string>;
  readonly env: EnvVar[];
  readonly trustedTlsClasses: string[];
  readonly kerberosClass?: string;
}

/** The kerberos AuthenticationClass of a catalog's metastore, if it takes Kerberos clients. */
export function catalogKerberosClass(
  spec: TrinoCatalogSpec,
  dependencies: Readonly<Record<string, Readonly<Record<string, string>>>>,
): string | undefined {
  const l = lake(spec);
  return l ? dependencies[l.metastore]?.[HIVE_KERBEROS_CLASS_KEY] : undefined;
}

/** The catalog path of a lake catalog's metastore reference, for messages. */
export function catalogMetastorePath(prefix: string, spec: TrinoCatalogSpec): string | undefined {
  const l = lake(spec);
  return l ? `${prefix}.connector.${l.name}.metastore.configMapName` : undefined;
}

/** Renders the catalog `name` (found at `prefix`) into its properties file and variables. */
export function renderCatalog(
  name: string,
  prefix: string,
  spec: TrinoCatalogSpec,
  dependencies: Readonly<Record<string, Readonly<Record<string, string>>>>,
  references: ResolvedReferences,
): RenderedCatalog {
  const env: EnvVar[] = [];
  const trustedTlsClasses: string[] = [];
  const envPrefix = `CATALOG_${envPart(name)}`;
  let properties: Record<string, string>;
  const l = lake(spec);
  const c = spec.connector;
  if (l) {
    properties = {
      'connector.name': l.name,
      'hive.metastore.uri': dependencies[l.metastore]?.[HIVE_KEY] ?? '',
      ...(l.name === 'iceberg' ? { 'iceberg.catalog.type': 'hive_metastore' } : {}),
    };
    const metastoreTls = dependencies[l.metastore]?.[HIVE_TLS_KEY];
    if (metastoreTls) {
      trustedTlsClasses.push(metastoreTls);
      Object.assign(properties, {
        'hive.metastore.thrift.client.ssl.enabled': 'true',
        'hive.metastore.thrift.client.ssl.trust-certificate': tlsTrustFile(metastoreTls),
      });
    }
    const metastorePrincipal = dependencies[l.metastore]?.[HIVE_KERBEROS_PRINCIPAL_KEY];
    if (metastorePrincipal) {
      Object.assign(properties, {
        'hive.metastore.authentication.type': 'KERBEROS',
        'hive.metastore.service.principal': metastorePrincipal,
        'hive.metastore.client.principal': `\${ENV:${KERBEROS_PRINCIPAL_ENV}}`,
        'hive.metastore.client.keytab': KERBEROS_KEYTAB,
      });
    }
    if (l.s3) {
      const s3 = resolveS3(`${prefix}.connector.${l.name}.s3`, l.s3, references);
      const vars = s3CredentialVariables(`${envPrefix}_S3`);
      env.push(...s3CredentialEnv(s3, `${envPrefix}_S3`));
      Object.assign(properties, {
        'fs.native-s3.enabled': 'true',
        's3.endpoint': s3.endpoint,
        's3.region': s3.region,
        's3.path-style-access': String(s3.pathStyle),
        's3.aws-access-key': `\${ENV:${vars.accessKey}}`,
        's3.aws-secret-key': `\${ENV:${vars.secretKey}}`,
      });
    }
  } else if (c.tpch) {
    properties = { 'connector.name': 'tpch' };
  } else if (c.tpcds) {
    properties = { 'connector.name': 'tpcds' };
  } else if (c.postgresql) {
    const pg = c.postgresql;
    const db = { type: 'postgresql' as const, credentialsSecretName: pg.credentialsSecretName };
    const vars = databaseCredentialVariables(envPrefix);
    env.push(...databaseCredentialEnv(db, envPrefix));
    properties = {
      'connector.name': 'postgresql',
      'connection-url': `jdbc:postgresql://${pg.host}:${pg.port ?? 5432}/${pg.database}`,
      'connection-user': `\${ENV:${vars.username}}`,
      'connection-password': `\${ENV:${vars.password}}`,
    };
  } else {
    const g = c.generic!;
    properties = { ...(g.properties ?? {}), 'connector.name': g.connectorName };
    for (const [property, ref] of Object.entries(g.secretProperties ?? {})) {
      const variable = `${envPrefix}_${envPart(property)}`;
      env.push({ name: variable, valueFrom: { secretKeyRef: { name: ref.secretName, key: ref.key } } });
      properties[property] = `\${ENV:${variable}}`;
    }
  }
  return {
    properties: { ...properties, ...(spec.configOverrides ?? {}) },
    env,
    trustedTlsClasses,
    kerberosClass: catalogKerberosClass(spec, dependencies),
  };
}

/** The TrinoCatalog kind: no pods and no objects; TrinoClusters select it by label. */
export const TRINO_CATALOG: ProductDefinition = {
  name: 'trino-catalog',
  kind: TRINO_CATALOG_KIND,
  plural: 'trinocatalogs',
  shortNames: ['catalog'],
  description: 'A Trino catalog, selected by label by TrinoClusters and rendered into their config.',
  specSchema: TrinoCatalogSpecSchema,
  roles: [],
  references: (spec) => catalogReferences('spec', spec as unknown as TrinoCatalogSpec),
  dependencies: (spec) => catalogDependencies('spec', spec as unknown as TrinoCatalogSpec),
  validate: (stacklet) =>
    catalogProblems('spec', stacklet.spec as unknown as TrinoCatalogSpec, stacklet.dependencies),
};

/** A hive or iceberg connector in synth mode, where `metastore` and `s3` may come as typed references. */
export interface LakeConnectorProps {
  readonly metastore?: { readonly configMapName: string };
  readonly s3?: S3ConnectionRef;
}

/** Props of a TrinoCatalog in synth mode: the custom resource's spec plus typed references. */
export interface TrinoCatalogProps extends Omit<TrinoCatalogSpec, 'connector'> {
  readonly connector: Omit<TrinoCatalogSpec['connector'], 'hive' | 'iceberg'> & {
    readonly hive?: LakeConnectorProps;
    readonly iceberg?: LakeConnectorProps;
  };
  /** Labels a TrinoCluster's `catalogLabelSelector` matches. @default - none */
  readonly labels?: Readonly<Record<string, string>>;
  /** The HiveCluster of a hive or iceberg catalog (fills `metastore.configMapName`). */
  readonly metastore?: IStacklet;
  /** The S3Connection of a hive or iceberg catalog (fills `s3.reference`). */
  readonly s3?: S3Connection;
}

/** A Trino catalog; pass it to a TrinoCluster's `catalogs`. */
export class TrinoCatalog extends Stacklet {
  public readonly spec: TrinoCatalogSpec;
  /** The HiveCluster the catalog reads from, when it was given as a typed reference. */
  public readonly metastore?: IStacklet;

  constructor(scope: Construct, id: string, props: TrinoCatalogProps, options: StackletOptions = {}) {
    const { labels, metastore, s3, ...given } = props;
    let spec = given as TrinoCatalogSpec;
    const name = given.connector.hive ? 'hive' : given.connector.iceberg ? 'iceberg' : undefined;
    if (name && (metastore || s3)) {
      const c = given.connector[name]!;
      spec = {
        ...(given as TrinoCatalogSpec),
        connector: {
          ...given.connector,
          [name]: {
            ...c,
            ...(metastore ? { metastore: { configMapName: metastore.discoveryConfigMapName } } : {}),
            ...(s3 ? { s3: { reference: s3.name } } : {}),
          },
        } as TrinoCatalogSpec['connector'],
      };
    }
    super(scope, id, TRINO_CATALOG, spec as unknown as AnyStackletSpec, {
      ...options,
      labels: { ...(options.labels ?? {}), ...(labels ?? {}) },
      objects: [...(options.objects ?? []), ...(s3?.knownObjects ?? [])],
      dependencies: {
        ...options.dependencies,
        ...(metastore ? { [metastore.discoveryConfigMapName]: metastore.discoveryData } : {}),
      },
    });
    this.spec = spec;
    this.metastore = metastore;
  }
}
