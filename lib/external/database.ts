/**
 * A database connection: the relational database a product keeps its own metadata in (the Hive
 * metastore, Superset, Airflow). PostgreSQL and MySQL are for production; Derby, embedded in the
 * product's own pod and lost with it, is for tests only.
 *
 * The credentials stay in their Secret (keys `username` and `password`): products get them as
 * environment variables from `secretKeyRef`s and refer to those from their config files.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { EnvVar } from '../../imports/k8s-wire';
import { CLOSED, StringMap } from '../spec/common';
import { defineRule, withRules } from '../spec/rules';

export const DATABASE_TYPES = ['postgresql', 'mysql', 'derby'] as const;
export type DatabaseType = (typeof DATABASE_TYPES)[number];

const networkDatabaseComplete = defineRule<{
  type: string;
  host?: string;
  database?: string;
  credentialsSecretName?: string;
}>({
  cel: "self.type == 'derby' || (has(self.host) && has(self.database) && has(self.credentialsSecretName))",
  message: 'a postgresql or mysql database needs host, database and credentialsSecretName',
  reason: 'FieldValueRequired',
  check: (self) =>
    self.type === 'derby' ||
    (self.host !== undefined && self.database !== undefined && self.credentialsSecretName !== undefined),
});

export const DatabaseConnectionSchema = Type.Object(
  {
    type: Type.Union(
      DATABASE_TYPES.map((t) => Type.Literal(t)),
      { description: 'postgresql or mysql; derby (embedded, lost with the pod) only for tests.' },
    ),
    host: Type.Optional(Type.String({ minLength: 1, description: 'Host name of the database server.' })),
    port: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 65535, description: '@default 5432 (postgresql), 3306 (mysql)' }),
    ),
    database: Type.Optional(Type.String({ minLength: 1, description: 'The database (schema) name.' })),
    credentialsSecretName: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'The Secret with the keys `username` and `password`. Required for postgresql and mysql.',
      }),
    ),
    parameters: Type.Optional(StringMap('JDBC URL parameters (`sslmode: require`).')),
  },
  {
    ...CLOSED,
    ...withRules(networkDatabaseComplete),
    description: 'A relational database and its credentials.',
  },
);
export type DatabaseConnection = Static<typeof DatabaseConnectionSchema>;

const DEFAULT_PORTS: Readonly<Record<DatabaseType, number>> = { postgresql: 5432, mysql: 3306, derby: 0 };
const DRIVERS: Readonly<Record<DatabaseType, string>> = {
  postgresql: 'org.postgresql.Driver',
  mysql: 'com.mysql.cj.jdbc.Driver',
  derby: 'org.apache.derby.jdbc.EmbeddedDriver',
};

/** The JDBC URL; Derby keeps its files under `derbyDirectory`. */
export function jdbcUrl(db: DatabaseConnection, derbyDirectory: string): string {
  const params = Object.entries(db.parameters ?? {});
  if (db.type === 'derby') {
    return `jdbc:derby:;databaseName=${derbyDirectory}/metastore_db;create=true`;
  }
  const query =
    params.length > 0 ? `?${params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}` : '';
  return `jdbc:${db.type}://${db.host}:${db.port ?? DEFAULT_PORTS[db.type]}/${db.database}${query}`;
}

/** The JDBC driver class. */
export function jdbcDriverClass(db: DatabaseConnection): string {
  return DRIVERS[db.type];
}

/** Names of the variables `databaseCredentialEnv` sets. */
export function databaseCredentialVariables(prefix: string): { username: string; password: string } {
  return { username: `${prefix}_USERNAME`, password: `${prefix}_PASSWORD` };
}

/** The credentials as environment variables from their Secret; none for Derby. */
export function databaseCredentialEnv(db: DatabaseConnection, prefix: string): EnvVar[] {
  if (!db.credentialsSecretName) return [];
  const names = databaseCredentialVariables(prefix);
  const ref = (key: string) => ({ secretKeyRef: { name: db.credentialsSecretName!, key } });
  return [
    { name: names.username, valueFrom: ref('username') },
    { name: names.password, valueFrom: ref('password') },
  ];
}
