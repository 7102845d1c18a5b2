/**
 * Database servers for the real-node tests of products that keep their metadata in one (the Hive
 * metastore on PostgreSQL, MySQL and MariaDB): images built here from Debian's own packages (no
 * registry is reachable), and pods that run them under the restricted Pod Security profile — uid
 * 10001, a read-only root filesystem, data, sockets and scratch in emptyDirs — create one database
 * and its owner at start, and turn Ready only once both exist.
 *
 * PostgreSQL 15 and MariaDB 10.11 are Debian 12's. Debian 12 has no MySQL server: MySQL 9.7 (the
 * current LTS line) is Debian sid's, and its image is sid's throughout (`debianLayer`'s `suite`).
 * MySQL runs with its own defaults for logins — accounts with `caching_sha2_password`, TLS on
 * with the certificate `mysqld --initialize` makes — as a user's server would. Every server is
 * configured from the command line only (`--no-defaults`), so nothing under /etc is read or
 * written; a test may add server options (`serverOptions`).
 */
import { accountsLayer, debianLayer, type ImageRecipe } from '../../lib/image';
import {
  buildImageOnRealNode,
  REAL_NODE_PLACEMENT,
  RESTRICTED_CONTAINER,
  waitPodsReady,
  readyFileProbe,
} from './real-node-support';
import { adminClients } from './support';

/** The uid (and gid) the servers run as: the one keelson's own pods use. */
const SERVER_UID = 10001;

/** Debian's smallest userland a server's start script needs (bash, coreutils). */
const BASE_PACKAGES = ['base-files', 'bash', 'coreutils', 'dash', 'libc-bin', 'usr-is-merged'];

/** Options of {@link debianServerImageRecipe}. */
export interface DebianServerImage {
  /** A `keelson.test/` reference: no registry answers to it, so nothing is ever pulled. */
  readonly reference: string;
  /** What the package layer holds (part of its cache key). */
  readonly description: string;
  /** The server's packages; their dependencies come with them, their recommendations do not. */
  readonly packages: readonly string[];
  /** The account the server runs as (uid and gid 10001). */
  readonly account: string;
  /** Folders in front of the usual PATH (where Debian keeps the server's own programs). */
  readonly path?: readonly string[];
  /** The Debian suite every package comes from (see `debianLayer`). @default the host's (Debian 12) */
  readonly suite?: string;
}

/** An image of Debian packages running as uid 10001, for a server a test needs beside a product. */
export function debianServerImageRecipe(image: DebianServerImage): ImageRecipe {
  return {
    reference: image.reference,
    layers: [
      debianLayer({
        description: image.description,
        packages: [...BASE_PACKAGES, ...image.packages],
        suite: image.suite,
      }),
      accountsLayer([{ name: image.account, uid: SERVER_UID, gid: SERVER_UID }]),
    ],
    config: {
      user: `${SERVER_UID}:${SERVER_UID}`,
      env: { PATH: [...(image.path ?? []), '/usr/sbin:/usr/bin:/sbin:/bin'].join(':'), LANG: 'C.UTF-8' },
    },
  };
}

/** Debian's PostgreSQL 15, run as `postgres`. */
export function postgresImageRecipe(): ImageRecipe {
  return debianServerImageRecipe({
    reference: 'keelson.test/postgresql:15',
    description: "Debian's PostgreSQL 15",
    packages: ['postgresql-15'],
    account: 'postgres',
    path: ['/usr/lib/postgresql/15/bin'],
  });
}

/**
 * Debian's MariaDB 10.11 (server and command-line client, without the Galera and Perl tooling of
 * the `mariadb-server` package), run as `mysql`.
 */
export function mariadbImageRecipe(): ImageRecipe {
  return debianServerImageRecipe({
    reference: 'keelson.test/mariadb:10.11',
    description: "Debian's MariaDB 10.11",
    // mariadb-install-db is a shell script: sed and uname (coreutils) besides the server's tools.
    packages: ['mariadb-server-core', 'mariadb-client-core', 'sed'],
    account: 'mysql',
  });
}

/**
 * MySQL 9.7 (the current LTS line: server and command-line client) from Debian sid, the only
 * Debian suite with a MySQL server; the whole image is sid's (its mysqld needs sid's libraries).
 * Run as `mysql`.
 */
export function mysqlImageRecipe(): ImageRecipe {
  return debianServerImageRecipe({
    reference: 'keelson.test/mysql:9.7',
    description: "Debian sid's MySQL 9.7",
    packages: ['mysql-server-core', 'mysql-client-core'],
    account: 'mysql',
    suite: 'sid',
  });
}

/** The database a server creates at start, and its owner. */
export interface DatabaseSetup {
  readonly database: string;
  readonly username: string;
  readonly password: string;
}

/** A database server in the test's namespace. */
export interface DatabaseServer {
  /** The Service's DNS name. */
  readonly host: string;
  readonly port: number;
  /** The Secret with `username` and `password` (what keelson's `credentialsSecretName` names). */
  readonly credentialsSecretName: string;
}

/** A word for SQL inside a bash double-quoted string: the tests' names and passwords are plain. */
function plain(word: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(word))
    throw new Error(`test database names and passwords are plain words: ${word}`);
  return word;
}

/** The servers a test can start: `mysql` and `mariadb` speak MySQL's protocol. */
export type DatabaseServerKind = 'postgresql' | 'mariadb' | 'mysql';

/** What differs between the servers: image, port, where they write, memory and the start script. */
interface ServerKind {
  readonly recipe: () => ImageRecipe;
  readonly port: number;
  readonly writable: Readonly<Record<string, string>>;
  /** The container's memory limit (the request is half). */
  readonly memory: string;
  /** The script, with the server options a test adds (already shell-quoted). */
  readonly script: (setup: DatabaseSetup, options: string) => string;
}

/** A server option for the start script: single-quoted for bash. */
function shellQuoted(option: string): string {
  return `'${option.replace(/'/g, `'\\''`)}'`;
}

/** Every script ends by touching /tmp/ready (the readiness probe) and waiting on the server. */
const SERVERS: Readonly<Record<DatabaseServerKind, ServerKind>> = {
  postgresql: {
    recipe: postgresImageRecipe,
    port: 5432,
    writable: { data: '/var/lib/postgresql', tmp: '/tmp' },
    memory: '512Mi',
    script: ({ database, username, password }, options) =>
      [
        'set -eu',
        'initdb -D /var/lib/postgresql/data -U postgres --auth=trust --locale=C --encoding=UTF8 > /dev/null',
        'echo "host all all 0.0.0.0/0 scram-sha-256" >> /var/lib/postgresql/data/pg_hba.conf',
        `postgres -D /var/lib/postgresql/data -c listen_addresses='*' -k /tmp ${options} &`,
        'server=$!',
        'until pg_isready -q -h 127.0.0.1; do kill -0 $server; sleep 1; done',
        `psql -h 127.0.0.1 -U postgres -c "CREATE USER ${plain(username)} PASSWORD '${plain(password)}'" ` +
          `-c "CREATE DATABASE ${plain(database)} OWNER ${plain(username)}"`,
        'touch /tmp/ready',
        'wait $server',
      ].join('\n'),
  },
  mariadb: {
    recipe: mariadbImageRecipe,
    port: 3306,
    writable: { data: '/var/lib/mysql', run: '/run/mysqld', tmp: '/tmp' },
    memory: '512Mi',
    // utf8mb4 as MySQL 8 and Debian's packaged config have it (MariaDB's built-in default is latin1);
    // the system accounts are root and `mysql`, both by unix socket only: no account without a password.
    script: ({ database, username, password }, options) =>
      [
        'set -eu',
        'socket=/run/mysqld/mysqld.sock',
        'mariadb-install-db --no-defaults --datadir=/var/lib/mysql --tmpdir=/tmp --auth-root-socket-user=mysql \\',
        '  --skip-test-db --skip-name-resolve > /tmp/install.log 2>&1 || { cat /tmp/install.log; exit 1; }',
        'mariadbd --no-defaults --datadir=/var/lib/mysql --tmpdir=/tmp --socket=$socket \\',
        '  --pid-file=/run/mysqld/mariadbd.pid --bind-address=0.0.0.0 --port=3306 --skip-name-resolve \\',
        '  --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \\',
        `  --innodb-buffer-pool-size=64M ${options} &`,
        'server=$!',
        'sql() { mariadb --no-defaults --socket=$socket -u mysql "$@"; }',
        'until sql -e "SELECT 1" > /dev/null 2>&1; do kill -0 $server; sleep 1; done',
        `sql -e "CREATE DATABASE ${plain(database)}; ` +
          `CREATE USER '${plain(username)}'@'%' IDENTIFIED BY '${plain(password)}'; ` +
          `GRANT ALL PRIVILEGES ON ${plain(database)}.* TO '${plain(username)}'@'%'"`,
        'touch /tmp/ready',
        'wait $server',
      ].join('\n'),
  },
  mysql: {
    recipe: mysqlImageRecipe,
    port: 3306,
    writable: { data: '/var/lib/mysql', run: '/run/mysqld', tmp: '/tmp' },
    memory: '768Mi',
    // Authentication and TLS as MySQL has them out of the box: accounts use caching_sha2_password,
    // and the server offers TLS with the certificate --initialize makes. Smaller InnoDB and
    // performance-schema buffers than its defaults (about 540 MB resident without them). No file
    // import or export (Debian's built-in --secure-file-priv folder is not in the image); no X
    // Protocol. root has no password from --initialize-insecure until the setup turns it into
    // socket-only for the OS user `mysql`, as MariaDB's is above: no account without a password.
    script: ({ database, username, password }, options) =>
      [
        'set -eu',
        'socket=/run/mysqld/mysqld.sock',
        'mysqld --no-defaults --initialize-insecure --datadir=/var/lib/mysql --tmpdir=/tmp \\',
        '  > /tmp/install.log 2>&1 || { cat /tmp/install.log; exit 1; }',
        'mysqld --no-defaults --datadir=/var/lib/mysql --tmpdir=/tmp --socket=$socket \\',
        '  --pid-file=/run/mysqld/mysqld.pid --bind-address=0.0.0.0 --port=3306 --skip-name-resolve \\',
        '  --mysqlx=OFF --secure-file-priv=NULL --plugin-load-add=auth_socket.so \\',
        '  --innodb-buffer-pool-size=64M --innodb-log-buffer-size=8M \\',
        '  --performance-schema-digests-size=1000 --performance-schema-events-statements-history-long-size=1000 \\',
        `  ${options} &`,
        'server=$!',
        'sql() { mysql --no-defaults --socket=$socket -u root "$@"; }',
        'until sql -e "SELECT 1" > /dev/null 2>&1; do kill -0 $server; sleep 1; done',
        `sql -e "CREATE DATABASE ${plain(database)}; ` +
          `CREATE USER '${plain(username)}'@'%' IDENTIFIED BY '${plain(password)}'; ` +
          `GRANT ALL PRIVILEGES ON ${plain(database)}.* TO '${plain(username)}'@'%'; ` +
          `ALTER USER root@localhost IDENTIFIED WITH auth_socket AS 'mysql'"`,
        'touch /tmp/ready',
        'wait $server',
      ].join('\n'),
  },
};

/** Where {@link startDatabaseServer} puts a server. */
export interface DatabaseServerPlacement {
  /** The pod's and the Service's name. @default the kind (`postgresql`, `mariadb`) */
  readonly name?: string;
  /** The credentials Secret's name. @default `<name>-credentials` */
  readonly credentialsSecretName?: string;
  /** Server options added to its command line (`--tls-version=`). @default none */
  readonly serverOptions?: readonly string[];
}

/**
 * Builds the server's image, imports it into the real node, and runs it as a pod with a Service
 * of the same name and a credentials Secret (keys `username` and `password`); returns once the
 * database and its owner exist. A server that does not get there fails the test with its logs.
 */
export async function startDatabaseServer(
  namespace: string,
  kind: DatabaseServerKind,
  setup: DatabaseSetup,
  placement: DatabaseServerPlacement = {},
): Promise<DatabaseServer> {
  const { core } = adminClients();
  const name = placement.name ?? kind;
  const server = SERVERS[kind];
  await buildImageOnRealNode(server.recipe());
  const writable = Object.entries(server.writable);
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, labels: { app: name } },
      spec: {
        ...REAL_NODE_PLACEMENT,
        securityContext: {
          runAsNonRoot: true,
          fsGroup: SERVER_UID,
          seccompProfile: { type: 'RuntimeDefault' },
        },
        containers: [
          {
            name: kind,
            image: server.recipe().reference,
            imagePullPolicy: 'Never',
            command: [
              '/bin/bash',
              '-c',
              server.script(setup, (placement.serverOptions ?? []).map(shellQuoted).join(' ')),
            ],
            ports: [{ name: 'sql', containerPort: server.port }],
            ...readyFileProbe('/tmp/ready'),
            securityContext: RESTRICTED_CONTAINER,
            resources: {
              limits: { memory: server.memory },
              requests: { memory: `${parseInt(server.memory, 10) / 2}Mi` },
            },
            volumeMounts: writable.map(([name, mountPath]) => ({ name, mountPath })),
          },
        ],
        volumes: writable.map(([name]) => ({ name, emptyDir: {} })),
      },
    },
  });
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name },
      spec: { selector: { app: name }, ports: [{ name: 'sql', port: server.port, targetPort: 'sql' }] },
    },
  });
  const credentialsSecretName = placement.credentialsSecretName ?? `${name}-credentials`;
  await core.createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: credentialsSecretName },
      stringData: { username: setup.username, password: setup.password },
    },
  });
  await waitPodsReady(namespace, [name], 5 * 60_000);
  return { host: `${name}.${namespace}.svc.cluster.local`, port: server.port, credentialsSecretName };
}
