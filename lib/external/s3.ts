/**
 * An S3 connection: where an S3-compatible object store is (endpoint, region, addressing style,
 * TLS) and the Secret holding its credentials. Products take it inline in their spec or as a
 * reference to an `S3Connection` object, one connection shared by every product that uses the store.
 *
 * The credentials never leave their Secret: products get them as environment variables from
 * `secretKeyRef`s and refer to those variables from their config files.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { EnvVar } from '../../imports/k8s-wire';
import type { Construct } from 'constructs';
import { CLOSED } from '../spec/common';
import { defineRule, withRules } from '../spec/rules';
import type { AnyStackletSpec } from '../spec/stacklet-spec';
import type { ProductDefinition } from '../stacklet/product';
import type { ObjectReference, ResolvedReferences } from '../stacklet/references';
import { Stacklet, type StackletOptions } from '../stacklet/stacklet';

/** The custom resource kind of a named S3 connection. */
export const S3_CONNECTION_KIND = 'S3Connection';

export const S3ConnectionSpecSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, description: 'Host name of the S3 endpoint (`minio.storage.svc`).' }),
    port: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 65535, description: '@default 443 with TLS, else 80' }),
    ),
    region: Type.Optional(Type.String({ minLength: 1, description: 'The S3 region. @default "us-east-1"' })),
    accessStyle: Type.Optional(
      Type.Union([Type.Literal('Path'), Type.Literal('VirtualHosted')], {
        description:
          'Path-style (`host/bucket/key`, what most S3-compatible stores want) or virtual-hosted-style ' +
          '(`bucket.host/key`) addressing. @default "Path"',
      }),
    ),
    tls: Type.Optional(
      Type.Object(
        {
          enabled: Type.Boolean({
            description: "Connect with TLS, verified against the JVM's default trust store.",
          }),
        },
        { ...CLOSED, description: '@default - TLS enabled' },
      ),
    ),
    credentials: Type.Object(
      {
        secretName: Type.String({
          minLength: 1,
          description: 'The Secret holding the access and secret key.',
        }),
        accessKeyKey: Type.Optional(Type.String({ description: '@default "accessKey"' })),
        secretKeyKey: Type.Optional(Type.String({ description: '@default "secretKey"' })),
      },
      { ...CLOSED, description: 'Where the credentials are: a Secret, never the spec.' },
    ),
  },
  { ...CLOSED, description: 'An S3-compatible object store and its credentials.' },
);
/** The spec of an S3 connection. */
import type { S3ConnectionSpec } from './spec.generated';
export type { S3ConnectionSpec };

const inlineOrReference = defineRule<{ inline?: unknown; reference?: unknown }>({
  cel: 'has(self.inline) != has(self.reference)',
  message: 'give the S3 connection either inline or as the name of an S3Connection (reference), not both',
  check: (self) => (self.inline === undefined) !== (self.reference === undefined),
});

/** An S3 connection in a product's spec: inline, or the name of an S3Connection in the namespace. */
export const S3ConnectionRefSchema = Type.Object(
  {
    inline: Type.Optional(S3ConnectionSpecSchema),
    reference: Type.Optional(Type.String({ minLength: 1, description: 'The name of an S3Connection.' })),
  },
  {
    ...CLOSED,
    ...withRules(inlineOrReference),
    description: 'An S3 connection: inline, or the name of an S3Connection in the same namespace.',
  },
);
export type S3ConnectionRef = Static<typeof S3ConnectionRefSchema>;

/** An S3 connection with its defaults filled in. */
export interface ResolvedS3Connection {
  /** `http(s)://host:port`. */
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  readonly region: string;
  readonly pathStyle: boolean;
  readonly tls: boolean;
  readonly credentials: {
    readonly secretName: string;
    readonly accessKeyKey: string;
    readonly secretKeyKey: string;
  };
}

/** The reference `ref` (at spec path `path`) makes, for `ProductDefinition.references`. */
export function s3References(
  path: string,
  ref: S3ConnectionRef | undefined,
): Record<string, ObjectReference> {
  return ref?.reference ? { [`${path}.reference`]: { kind: S3_CONNECTION_KIND, name: ref.reference } } : {};
}

/** Fills in the defaults of a connection spec. */
export function resolveS3Spec(spec: S3ConnectionSpec): ResolvedS3Connection {
  const tls = spec.tls?.enabled ?? true;
  const port = spec.port ?? (tls ? 443 : 80);
  return {
    endpoint: `${tls ? 'https' : 'http'}://${spec.host}:${port}`,
    host: spec.host,
    port,
    region: spec.region ?? 'us-east-1',
    pathStyle: (spec.accessStyle ?? 'Path') === 'Path',
    tls,
    credentials: {
      secretName: spec.credentials.secretName,
      accessKeyKey: spec.credentials.accessKeyKey ?? 'accessKey',
      secretKeyKey: spec.credentials.secretKeyKey ?? 'secretKey',
    },
  };
}

/**
 * The connection `ref` (at spec path `path`) stands for: its inline spec, or the referenced
 * S3Connection's (which the resolve step has already found, or rejected as missing).
 */
export function resolveS3(
  path: string,
  ref: S3ConnectionRef,
  references: ResolvedReferences,
): ResolvedS3Connection {
  if (ref.inline) return resolveS3Spec(ref.inline);
  const found = references[`${path}.reference`]?.[0];
  if (!found) throw new Error(`${path}.reference: the S3Connection "${ref.reference}" was not resolved`);
  return resolveS3Spec(found.spec as S3ConnectionSpec);
}

/** Names of the variables `s3CredentialEnv` sets. */
export function s3CredentialVariables(prefix: string): { accessKey: string; secretKey: string } {
  return { accessKey: `${prefix}_ACCESS_KEY`, secretKey: `${prefix}_SECRET_KEY` };
}

/** The credentials as environment variables taken from their Secret (`<prefix>_ACCESS_KEY`, `<prefix>_SECRET_KEY`). */
export function s3CredentialEnv(connection: ResolvedS3Connection, prefix: string): EnvVar[] {
  const names = s3CredentialVariables(prefix);
  const { secretName, accessKeyKey, secretKeyKey } = connection.credentials;
  return [
    { name: names.accessKey, valueFrom: { secretKeyRef: { name: secretName, key: accessKeyKey } } },
    { name: names.secretKey, valueFrom: { secretKeyRef: { name: secretName, key: secretKeyKey } } },
  ];
}

/** The S3Connection kind: no pods and no objects of its own; products refer to it by name. */
export const S3_CONNECTION: ProductDefinition = {
  name: 's3-connection',
  kind: S3_CONNECTION_KIND,
  plural: 's3connections',
  shortNames: ['s3conn'],
  description:
    'An S3-compatible object store and the Secret with its credentials, shared by the products using it.',
  specSchema: S3ConnectionSpecSchema,
  roles: [],
};

/**
 * A named S3 connection. In synth mode pass it to products (`s3: connection`); they refer to it by
 * name, as their custom resources would. It produces no objects.
 */
export class S3Connection extends Stacklet {
  /** The connection with its defaults filled in. */
  public readonly connection: ResolvedS3Connection;

  constructor(scope: Construct, id: string, props: S3ConnectionSpec, options: StackletOptions = {}) {
    // The spec shares no field with a stacklet's (it runs nothing), so it is widened once here.
    super(scope, id, S3_CONNECTION, props as unknown as AnyStackletSpec, options);
    this.connection = resolveS3Spec(props);
  }
}
