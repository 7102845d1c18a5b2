/**
 * HBase: masters (an active one and backups, elected through ZooKeeper), regionservers (which serve
 * the tables' regions, their files on HDFS) and REST servers (HBase's HTTP gateway).
 *
 * The image is keelson's own `ghcr.io/keelson/hbase` (image.ts), built from HBase's jars on Maven
 * Central. keelson's pods run `java` themselves with the main classes of distribution.ts — no HBase
 * script — with the pod's config directory first on the classpath, so the JVMs read keelson's
 * `hbase-site.xml`, the HDFS' `core-site.xml` and `hdfs-site.xml`, and `log4j2.properties`.
 *
 * By reference: the HDFS (`clusterConfig.hdfsConfigMapName`, an HdfsCluster's discovery ConfigMap)
 * gives its client files, copied into each role group's ConfigMap (so a change of the HDFS rolls
 * the pods), and its file system URI, under which `hbase.rootdir` is `/hbase/<namespace>/<name>`;
 * the ZooKeeper (`clusterConfig.zookeeperConfigMapName`, best a ZookeeperZnode's discovery
 * ConfigMap) gives the quorum, and its chroot is HBase's parent znode (HBase creates it).
 *
 * Addresses: each master and regionserver registers in ZooKeeper under its pod's stable DNS name
 * (`POD_ADDRESS`, filled into `hbase.master.hostname` / `hbase.unsafe.regionserver.hostname`
 * through Hadoop's `${env.…}` substitution), because the pod's own host name (its pod name) does
 * not resolve for other pods.
 *
 * Shutdown: a regionserver's preStop hook moves its regions to the other regionservers
 * (`RegionMover -o unload`) before Kubernetes stops it, so its regions are served elsewhere
 * instead of waiting to be reassigned once it is gone; the grace period
 * (`gracefulShutdownTimeout`, 5 minutes by default for regionservers) covers the move and the
 * regionserver's own clean stop.
 *
 * Clients: the discovery ConfigMap (named like the stacklet) carries `hbase-site.xml` with the
 * quorum and parent znode, `HBASE_ZOOKEEPER_QUORUM`, and `HBASE_REST` (the REST servers' URL);
 * with a kerberos class also `HBASE_KERBEROS_REALM` and `HBASE_REST_AUTHENTICATION` (SPNEGO).
 */
import { Type } from '@sinclair/typebox';
import type { Construct } from 'constructs';
import {
  containerLogging,
  defineRole,
  defineRule,
  jmxExporterAgentArgument,
  LOG_DIR,
  log4j2Config,
  logConfigLocation,
  parseDurationSeconds,
  renderConfigFile,
  shellQuote,
  Stacklet,
  stackletSpecSchema,
  withRules,
  type IStacklet,
  type ProductDefinition,
  type ResolvedCommonConfig,
  type ResolvedRoleGroup,
  type RoleGroupPod,
  type RoleGroupTls,
  type StackletContext,
  type StackletOptions,
  tcpPortProbes,
} from '../../lib';
import {
  kerberosClassOf,
  kerberosPodParts,
  KERBEROS_KEYTAB,
  KRB5_CONF_FILE,
  type KerberosPodParts,
} from '../../lib/authentication/kerberos';
import {
  HBASE_CLASSPATH,
  HBASE_IMAGE_CONF_DIR,
  HBASE_IMAGE_REPOSITORY,
  HBASE_IMAGE_TAGS,
  HBASE_JAVA17_OPTIONS,
  HBASE_MAIN_CLASSES,
} from './distribution';
import { hadoopSslClient, hadoopSslServer, JAVA_KEYSTORE, javaStoresScript } from '../../lib/tls/java-stores';
import { zookeeperReferenceProblems } from '../zookeeper/reference';
import { HBASE_MONITORING } from './monitoring';

/** The ports of HBase's pods (HBase 2's defaults). */
export const HBASE_PORTS = {
  masterRpc: 16000,
  masterHttp: 16010,
  regionserverRpc: 16020,
  regionserverHttp: 16030,
  /** The REST gateway. */
  rest: 8080,
  /** The REST server's info page. */
  restHttp: 8085,
  /** The Prometheus JMX exporter agent serves each JVM's metrics at `/metrics` here. */
  metrics: 9404,
} as const;

/** Keys of an HBase discovery ConfigMap. */
export const HBASE_DISCOVERY_KEYS = {
  site: 'hbase-site.xml',
  quorum: 'HBASE_ZOOKEEPER_QUORUM',
  parentZnode: 'HBASE_ZOOKEEPER_ZNODE_PARENT',
  rest: 'HBASE_REST',
  /** Present when the web UIs and the REST server serve HTTPS only: the TlsClass whose CAs a client trusts. */
  tls: 'HBASE_TLS_CLASS',
  /** With a kerberos class: the realm of HBase's principals. */
  kerberosRealm: 'HBASE_KERBEROS_REALM',
  /** With a kerberos class and REST servers: `kerberos`, the REST servers take SPNEGO only. */
  restAuthentication: 'HBASE_REST_AUTHENTICATION',
} as const;

/** Keys of an HDFS discovery ConfigMap that HBase reads. */
const HDFS_URI_KEY = 'HDFS';
const HDFS_CLIENT_FILES = ['core-site.xml', 'hdfs-site.xml'] as const;
/** Present when the HDFS takes Kerberos logins only (a kerberos class). */
const HDFS_KERBEROS_REALM_KEY = 'HDFS_KERBEROS_REALM';
const HDFS_KERBEROS_CLASS_KEY = 'HDFS_KERBEROS_CLASS';
/** The service part of HBase's principals, and the user they map to on the HDFS (its auth_to_local). */
export const HBASE_KERBEROS_SERVICE = 'hbase';
/** The service part of the REST servers' SPNEGO principals (`HTTP/<pod DNS name>`), in their keytab. */
export const HBASE_SPNEGO_SERVICE = 'HTTP';
/** Keys of a ZooKeeper discovery ConfigMap (a cluster's or a ZNode's) that HBase reads. */
const ZOOKEEPER_HOSTS_KEY = 'ZOOKEEPER_HOSTS';
const ZOOKEEPER_CHROOT_KEY = 'ZOOKEEPER_CHROOT';

/** The role group's config files, as rendered by the framework (and the HDFS' client files). */
const CONFIG_DIR = '/keelson/config';
const HBASE_SITE = 'hbase-site.xml';
const LOG4J2_FILE = 'log4j2.properties';
const EXPORTER_FILE = 'jmx-exporter.yaml';
const CONSOLE_PATTERN = '%d{ISO8601} %p %c: %m%n';
/** The main container's name (`config.logging.containers` key). */
const CONTAINER = 'hbase';
/** HBase's temporary and local directory (`hbase.tmp.dir`), on the writable /tmp. */
const TMP_DIR = '/tmp/hbase';

/** Hadoop's TLS files, which HBase's info servers add to their configuration with `hbase.ssl.enabled`. */
const SSL_SERVER = 'ssl-server.xml';
const SSL_CLIENT = 'ssl-client.xml';
/** The variable holding the key store's password, made at random by each start of the daemon. */
export const HBASE_KEYSTORE_PASSWORD_ENV = 'KEELSON_HBASE_KEYSTORE_PASSWORD';

/** The heap of the preStop hook's region mover, a small HBase client beside the regionserver. */
export const REGION_MOVER_HEAP = '-Xmx128m';

export type HbaseRole = 'masters' | 'regionservers' | 'restservers';

interface RuleView {
  clusterConfig?: { hdfsConfigMapName?: string; zookeeperConfigMapName?: string };
}

/** HBase keeps its files on an HDFS and finds its masters through a ZooKeeper: both are required. */
const dependenciesRequired = defineRule<RuleView>({
  cel:
    'has(self.clusterConfig) && has(self.clusterConfig.hdfsConfigMapName) && ' +
    'has(self.clusterConfig.zookeeperConfigMapName)',
  message:
    'HBase needs an HDFS and a ZooKeeper: set clusterConfig.hdfsConfigMapName to an HdfsCluster’s discovery ' +
    'ConfigMap and clusterConfig.zookeeperConfigMapName to a ZookeeperZnode’s (or ZookeeperCluster’s)',
  fieldPath: '.clusterConfig',
  reason: 'FieldValueRequired',
  check: (self) =>
    self.clusterConfig?.hdfsConfigMapName !== undefined &&
    self.clusterConfig?.zookeeperConfigMapName !== undefined,
});

const ROLE_FILES = [HBASE_SITE, LOG4J2_FILE, EXPORTER_FILE];

const baseSchema = stackletSpecSchema({
  description: 'An HBase on an HDFS and a ZooKeeper: masters, regionservers and REST servers.',
  clusterConfig: {
    hdfsConfigMapName: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'The discovery ConfigMap of the HdfsCluster HBase keeps its files on. Required.',
      }),
    ),
    zookeeperConfigMapName: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'The discovery ConfigMap of the ZookeeperZnode (best: a chroot of its own) or ZookeeperCluster HBase ' +
          'keeps its coordination data in. Required.',
      }),
    ),
    superusers: Type.Optional(
      Type.Array(
        Type.String({
          minLength: 1,
          maxLength: 256,
          pattern: '^@?[^\\s,@]+$',
          description: 'A user (`alice`) or, with `@`, a group (`@admins`).',
        }),
        {
          maxItems: 32,
          description:
            "With a kerberos class (HBase's authorization, the AccessController, is on then): more of HBase's " +
            'superusers (`hbase.superuser`), who may do anything and grant rights to others, beside `hbase` (the ' +
            "user of HBase's own principals, always one). Users by their short names, as the HDFS' auth_to_local " +
            'makes them (`alice@REALM` is `alice`); groups with `@`. @default - `hbase` only',
        },
      ),
    ),
  },
  roles: {
    masters: { config: {}, configFiles: ROLE_FILES, jvm: true },
    regionservers: { config: {}, configFiles: ROLE_FILES, jvm: true },
    restservers: { config: {}, configFiles: ROLE_FILES, jvm: true },
  },
});
export const HbaseSpecSchema: typeof baseSchema = { ...baseSchema, ...withRules(dependenciesRequired) };

/** The spec of an HbaseCluster. */
import type { HbaseSpec } from './spec.generated';
export type { HbaseSpec };

function groupsOf(stacklet: StackletContext, role: HbaseRole): ResolvedRoleGroup[] {
  return stacklet.roleGroups.filter((rg) => rg.role === role && rg.replicas > 0);
}

function count(stacklet: StackletContext, role: HbaseRole): number {
  return groupsOf(stacklet, role).reduce((n, rg) => n + rg.replicas, 0);
}

function hdfs(stacklet: StackletContext): Readonly<Record<string, string>> | undefined {
  const name = (stacklet.spec as HbaseSpec).clusterConfig?.hdfsConfigMapName;
  return name ? stacklet.dependencies[name] : undefined;
}

function zookeeper(stacklet: StackletContext): Readonly<Record<string, string>> | undefined {
  const name = (stacklet.spec as HbaseSpec).clusterConfig?.zookeeperConfigMapName;
  return name ? stacklet.dependencies[name] : undefined;
}

/** `hbase.rootdir`: `/hbase/<namespace>/<name>` on the HDFS, so HBases sharing an HDFS never meet. */
export function hbaseRootDir(stacklet: StackletContext): string {
  const fs = (hdfs(stacklet)?.[HDFS_URI_KEY] ?? '').replace(/\/$/, '');
  return `${fs}/hbase/${stacklet.namespace ?? 'default'}/${stacklet.name}`;
}

/** HBase's parent znode: the ZNode's chroot, or `/hbase` on a whole ZooKeeper. */
export function parentZnode(stacklet: StackletContext): string {
  const chroot = zookeeper(stacklet)?.[ZOOKEEPER_CHROOT_KEY] ?? '/';
  return chroot === '/' ? '/hbase' : chroot.replace(/\/$/, '');
}

/** The REST servers' URL, through their role's Service (`https` with server TLS). */
export function restUrl(stacklet: StackletContext): string {
  return `${stacklet.tls.server ? 'https' : 'http'}://${stacklet.name}-restservers.${stacklet.namespace ?? 'default'}.svc.${stacklet.clusterDomain}:${HBASE_PORTS.rest}`;
}

/** The realm of the stacklet's kerberos class, if it names one. */
function kerberosRealm(stacklet: StackletContext): string | undefined {
  return kerberosClassOf(stacklet.authentication)?.spec.kerberos.realm;
}

/**
 * hbase-site.xml's Kerberos keys every client needs: Kerberos on HBase's RPC, the principals the
 * masters and regionservers hold (`_HOST` is the name the client dialed: the name each one
 * registered under in ZooKeeper, its pod DNS name — not a reverse lookup of its pod IP, which has no
 * record a client can rely on), and SASL `privacy` (HBase's RPC is encrypted, as the HDFS' is).
 */
export function clientHbaseSiteKerberos(stacklet: StackletContext): Record<string, string> {
  const realm = kerberosRealm(stacklet);
  if (!realm) return {};
  const principal = `${HBASE_KERBEROS_SERVICE}/_HOST@${realm}`;
  return {
    'hbase.security.authentication': 'kerberos',
    'hbase.master.kerberos.principal': principal,
    'hbase.regionserver.kerberos.principal': principal,
    'hbase.unsafe.client.kerberos.hostname.disable.reversedns': 'true',
    'hbase.rpc.protection': 'privacy',
  };
}

/**
 * The REST server's Kerberos keys. It logs in as `hbase/<its pod DNS name>` (it registers nowhere,
 * so the name is written out) to call the masters and regionservers, and takes SPNEGO only from its
 * HTTP clients (HBase's `AuthFilter`, Hadoop's Kerberos authentication handler, on every path of
 * the REST port): `HTTP/_HOST@REALM`, `_HOST` the pod's canonical host name, its pod DNS name (the
 * StatefulSet gives each pod its headless Service as subdomain, as for the HDFS' web ports) — the
 * name a client dials. The authenticated user (its short name, by the HDFS' auth_to_local) is the
 * one HBase's RPC sees: the REST server calls as that user, impersonated by its own principal.
 * No `doAs` on top (`hbase.rest.support.proxyuser` stays false): a client acts as itself only.
 */
function restKerberos(realm: string): Record<string, string> {
  return {
    'hbase.rest.keytab.file': KERBEROS_KEYTAB,
    'hbase.rest.kerberos.principal': `${HBASE_KERBEROS_SERVICE}/\${env.POD_ADDRESS}@${realm}`,
    'hbase.rest.authentication.type': 'kerberos',
    'hbase.rest.authentication.kerberos.principal': `${HBASE_SPNEGO_SERVICE}/_HOST@${realm}`,
    'hbase.rest.authentication.kerberos.keytab': KERBEROS_KEYTAB,
  };
}

/** HBase's access control: a master, regionserver and region coprocessor. */
export const HBASE_ACCESS_CONTROLLER = 'org.apache.hadoop.hbase.security.access.AccessController';

/**
 * HBase's authorization, on with a kerberos class: the AccessController checks every call against
 * the grants in `hbase:acl`; `hbase` (the user of every HBase principal, so of HBase's own daemons
 * and of the REST server's calls on nobody's behalf) and `clusterConfig.superusers` may do anything.
 * On the masters and regionservers also Hadoop's service-level authorization: only with it does
 * HBase's RPC server check a connection's impersonation (a client may name another effective user
 * in its connection header, as the REST server names its HTTP client): `hbase` may impersonate
 * anyone (the REST server, from any pod IP); anyone else calls as themselves. Its per-service ACLs
 * (`hbase-policy.xml`) are not written: they admit everyone, and HBase's services pin no client
 * principal.
 */
function hbaseSiteAuthorization(stacklet: StackletContext, role: HbaseRole): Record<string, string> {
  const superusers = new Set([
    HBASE_KERBEROS_SERVICE,
    ...((stacklet.spec as HbaseSpec).clusterConfig?.superusers ?? []),
  ]);
  return {
    'hbase.security.authorization': 'true',
    'hbase.coprocessor.master.classes': HBASE_ACCESS_CONTROLLER,
    'hbase.coprocessor.regionserver.classes': HBASE_ACCESS_CONTROLLER,
    'hbase.coprocessor.region.classes': HBASE_ACCESS_CONTROLLER,
    'hbase.superuser': [...superusers].join(','),
    ...(role === 'restservers'
      ? {}
      : {
          'hadoop.security.authorization': 'true',
          [`hadoop.proxyuser.${HBASE_KERBEROS_SERVICE}.hosts`]: '*',
          [`hadoop.proxyuser.${HBASE_KERBEROS_SERVICE}.groups`]: '*',
        }),
  };
}

/**
 * hbase-site.xml's Kerberos keys of HBase's own processes: each logs in from the pod's keytab (the
 * masters and regionservers with `_HOST` the name they register under, `hbase.master.hostname` /
 * `hbase.unsafe.regionserver.hostname`; the REST server see restKerberos), and authorization (see
 * hbaseSiteAuthorization). No `hbase.zookeeper.client.*` keytab keys and no
 * JAAS `Client` section: the ZooKeeper is not Kerberized, so HBase takes it as not secure and keeps
 * its znodes open (world ACLs) instead of locking them to a principal ZooKeeper cannot authenticate.
 */
function hbaseSiteKerberos(stacklet: StackletContext, role: HbaseRole): Record<string, string> {
  const realm = kerberosRealm(stacklet);
  if (!realm) return {};
  const keys: Record<string, string> = {
    ...clientHbaseSiteKerberos(stacklet),
    ...hbaseSiteAuthorization(stacklet, role),
    'hbase.master.keytab.file': KERBEROS_KEYTAB,
    'hbase.regionserver.keytab.file': KERBEROS_KEYTAB,
  };
  if (role === 'restservers') Object.assign(keys, restKerberos(realm));
  return keys;
}

/**
 * The Kerberos parts of a role group's pods: a keytab holding `hbase/<pod DNS name>@REALM` (the name
 * the process registers under, `POD_ADDRESS`) — a REST server's also `HTTP/<pod DNS name>@REALM`,
 * for SPNEGO — and krb5.conf in the role group's ConfigMap.
 */
export function hbaseKerberos(
  stacklet: StackletContext,
  rg: ResolvedRoleGroup,
): KerberosPodParts | undefined {
  const info = kerberosClassOf(stacklet.authentication);
  if (!info) return undefined;
  return kerberosPodParts(info, {
    service: HBASE_KERBEROS_SERVICE,
    ...(rg.role === 'restservers' ? { otherServices: [HBASE_SPNEGO_SERVICE] } : {}),
    podAddress: `\${POD_NAME}.${podDomain(stacklet, rg)}`,
    configDir: CONFIG_DIR,
  });
}

/**
 * The discovery's Kerberos keys: the realm, and that the REST servers take SPNEGO only (a client
 * dials a REST pod by its DNS name, whose `HTTP/` principal the pod holds; see restKerberos).
 */
function discoveryKerberos(stacklet: StackletContext): Record<string, string> {
  const realm = kerberosRealm(stacklet);
  if (!realm) return {};
  return {
    [HBASE_DISCOVERY_KEYS.kerberosRealm]: realm,
    ...(count(stacklet, 'restservers') > 0 ? { [HBASE_DISCOVERY_KEYS.restAuthentication]: 'kerberos' } : {}),
  };
}

/**
 * With a kerberos class, for every JVM of a pod (the preStop hook's too): keelson's krb5.conf, and
 * no SASL towards the ZooKeeper, which is not Kerberized.
 */
export function krb5JvmArguments(stacklet: StackletContext): string[] {
  return kerberosRealm(stacklet)
    ? [`-Djava.security.krb5.conf=${CONFIG_DIR}/${KRB5_CONF_FILE}`, '-Dzookeeper.sasl.client=false']
    : [];
}

/** hbase-site.xml keys every client needs: where the ZooKeeper and HBase's znode are, and Kerberos. */
export function clientHbaseSite(stacklet: StackletContext): Record<string, string> {
  return {
    'hbase.zookeeper.quorum': zookeeper(stacklet)?.[ZOOKEEPER_HOSTS_KEY] ?? '',
    'zookeeper.znode.parent': parentZnode(stacklet),
    ...clientHbaseSiteKerberos(stacklet),
  };
}

/** hbase-site.xml of a role: the client keys plus what the role's own process reads. */
export function hbaseSite(stacklet: StackletContext, role: HbaseRole): Record<string, string> {
  const common = {
    ...clientHbaseSite(stacklet),
    ...hbaseSiteKerberos(stacklet, role),
    'hbase.cluster.distributed': 'true',
    'hbase.rootdir': hbaseRootDir(stacklet),
    'hbase.tmp.dir': TMP_DIR,
    // The classic WAL writer: the asynchronous one speaks HDFS' data transfer protocol itself,
    // through the client internals of the Hadoop HBase is built with (3.3), not the HDFS' (3.4).
    'hbase.wal.provider': 'filesystem',
    'hbase.master.port': String(HBASE_PORTS.masterRpc),
    'hbase.master.info.port': String(HBASE_PORTS.masterHttp),
    'hbase.regionserver.port': String(HBASE_PORTS.regionserverRpc),
    'hbase.regionserver.info.port': String(HBASE_PORTS.regionserverHttp),
    ...(stacklet.tls.server ? { 'hbase.ssl.enabled': 'true' } : {}),
  };
  switch (role) {
    case 'masters':
      return {
        ...common,
        'hbase.master.hostname': '${env.POD_ADDRESS}',
        // Listen on every interface: the pod's DNS name may not resolve before the pod is ready.
        'hbase.master.ipc.address': '0.0.0.0',
      };
    case 'regionservers':
      return {
        ...common,
        // The master takes this name as the regionserver's, instead of a reverse lookup of its pod IP.
        'hbase.unsafe.regionserver.hostname': '${env.POD_ADDRESS}',
        'hbase.regionserver.ipc.address': '0.0.0.0',
      };
    case 'restservers':
      return {
        ...common,
        'hbase.rest.port': String(HBASE_PORTS.rest),
        'hbase.rest.info.port': String(HBASE_PORTS.restHttp),
        ...(stacklet.tls.server ? restSsl() : {}),
      };
  }
}

/**
 * With server TLS: the info servers (16010, 16030, 8085) serve HTTPS only (`hbase.ssl.enabled`,
 * above), from the key store of `ssl-server.xml`; the REST server's gateway port (8080) from the
 * same key store, through its own keys (`hbase.rest.ssl.*`). Clients are not asked for a certificate.
 */
function restSsl(): Record<string, string> {
  const password = `\${env.${HBASE_KEYSTORE_PASSWORD_ENV}}`;
  return {
    'hbase.rest.ssl.enabled': 'true',
    'hbase.rest.ssl.keystore.store': JAVA_KEYSTORE,
    'hbase.rest.ssl.keystore.type': 'PKCS12',
    'hbase.rest.ssl.keystore.password': password,
    'hbase.rest.ssl.keystore.keypassword': password,
  };
}

/**
 * With server TLS, the start's key store (from `tls.pem`) and trust store (the class's CAs), built
 * by lib/tls/java-stores as HDFS' are; none without.
 */
export function hbaseStoresScript(tls: RoleGroupTls): string[] {
  return tls.server
    ? javaStoresScript(tls.server, { keystorePasswordEnv: HBASE_KEYSTORE_PASSWORD_ENV, alias: 'hbase' })
    : [];
}

/**
 * With server TLS, Hadoop's TLS files: `ssl-server.xml` (the key store, read by the info servers)
 * and `ssl-client.xml` (the trust store, for an HTTPS client run in the pod); none without.
 */
function sslFiles(tls: RoleGroupTls): Record<string, string> {
  if (!tls.server) return {};
  return {
    [SSL_SERVER]: renderConfigFile('hadoop-xml', hadoopSslServer(HBASE_KEYSTORE_PASSWORD_ENV)),
    [SSL_CLIENT]: renderConfigFile('hadoop-xml', hadoopSslClient()),
  };
}

/**
 * The exporter's rules: HBase's metrics MBeans (`Hadoop:service=HBase,name=RegionServer,sub=Server`)
 * become `hbase_<name>_<sub>_<attribute>` gauges; JVM metrics come with the agent.
 */
export function hbaseExporterConfig(): object {
  return {
    lowercaseOutputName: true,
    lowercaseOutputLabelNames: true,
    rules: [
      {
        pattern: 'Hadoop<service=HBase, name=(\\w+), sub=(\\w+)><>(\\w+)',
        name: 'hbase_$1_$2_$3',
        type: 'GAUGE',
      },
    ],
  };
}

/** Where a role group's main container reads its Log4j 2 file: keelson's, or the user's own ConfigMap. */
function logConfig(rg: ResolvedRoleGroup) {
  return logConfigLocation(containerLogging(rg.config.logging, CONTAINER), CONFIG_DIR, LOG4J2_FILE);
}

/** `java` on the image's classpath with the config directory first, as one shell command line. */
function java(args: readonly string[], mainClass: string, mainArgs: readonly string[] = []): string {
  return ['java', ...args, '-cp', `${CONFIG_DIR}:${HBASE_CLASSPATH}`, mainClass, ...mainArgs]
    .map(shellQuote)
    .join(' ');
}

/** The domain of a role group's pod DNS names: its headless Service's. */
function podDomain(stacklet: StackletContext, rg: ResolvedRoleGroup): string {
  return `${rg.names.headlessService}.${stacklet.namespace ?? 'default'}.svc.${stacklet.clusterDomain}`;
}

/** The pod's stable DNS name, from its name and its role group's headless Service. */
function podAddressExport(stacklet: StackletContext, rg: ResolvedRoleGroup): string {
  return `export POD_ADDRESS="\${POD_NAME}.${podDomain(stacklet, rg)}"`;
}

/**
 * The directory of the HDFS under which HBase keeps its root dirs (`hbaseRootDir`), and the user
 * that owns it on a Kerberos HDFS: the HDFS' namenodes make it for HBase (HDFS_SERVICE_DIRECTORIES).
 */
export const HBASE_HDFS_DIRECTORY = { path: '/hbase', owner: HBASE_KERBEROS_SERVICE } as const;
/** Seconds between a master's checks for {@link HBASE_HDFS_DIRECTORY}. */
export const HBASE_HDFS_DIRECTORY_CHECK_SECONDS = 10;
/** Seconds a check may take (a JVM's start on a busy node is most of it). */
const HBASE_HDFS_DIRECTORY_CHECK_TIMEOUT = 120;

/**
 * Lines of a master's start on a Kerberos HDFS: wait until `/hbase` is there and owned by `hbase`.
 * Under Kerberos HBase is no user with write access to `/`; the namenodes' refresh sidecar makes
 * `/hbase` for it once the namenodes are up. A master started before that would die on an
 * AccessControlException and restart. The check is Hadoop's `FsShell -stat %u` from HBase's jars,
 * logged in from the pod's keytab (KRB5PRINCIPAL, KRB5KEYTAB), a small heap; each miss logs why.
 */
export function hdfsDirectoryWaitScript(stacklet: StackletContext): string[] {
  const { path, owner } = HBASE_HDFS_DIRECTORY;
  const opts = [
    '-Xmx96m',
    '-XX:TieredStopAtLevel=1',
    ...HBASE_JAVA17_OPTIONS,
    ...krb5JvmArguments(stacklet),
    `-Dlog4j2.configurationFile=${HBASE_IMAGE_CONF_DIR}/log4j2.properties`,
  ];
  const log = `${TMP_DIR}-directory-check.log`;
  const oneTry = [
    'dfs.client.failover.max.attempts=1',
    'ipc.client.connect.max.retries=1',
    'ipc.client.connect.max.retries.on.timeouts=1',
    'ipc.client.connect.timeout=10000',
  ].flatMap((option) => ['-D', option]);
  return [
    // One try per namenode, within two minutes: the default retries take minutes while the HDFS starts.
    `hdfs_owner() { timeout ${HBASE_HDFS_DIRECTORY_CHECK_TIMEOUT} ${java(opts, 'org.apache.hadoop.fs.FsShell', [...oneTry, '-stat', '%u', path])} 2> ${log} ` +
      `|| { [ $? -ne 124 ] || echo "no answer within ${HBASE_HDFS_DIRECTORY_CHECK_TIMEOUT} s" >> ${log}; }; }`,
    `until [ "$(hdfs_owner)" = ${owner} ]; do`,
    `  echo "keelson: waiting for ${path} on the HDFS, owned by ${owner} (the namenodes make it for HBase under Kerberos); ` +
      `checking again in ${HBASE_HDFS_DIRECTORY_CHECK_SECONDS} s. Last check: $(grep -v -e '^[[:space:]]*at ' -e NativeCodeLoader ${log} 2>/dev/null | tail -n 1 | cut -c1-300)"`,
    `  sleep ${HBASE_HDFS_DIRECTORY_CHECK_SECONDS}`,
    'done',
    `echo "keelson: ${path} is on the HDFS, owned by ${owner}; starting the master"`,
  ];
}

/** The daemon's start: `exec java` with the role group's JVM arguments, log4j file and exporter. */
export function daemonScript(stacklet: StackletContext, rg: ResolvedRoleGroup, mainClass: string): string {
  const agent = jmxExporterAgentArgument(HBASE_PORTS.metrics, `${CONFIG_DIR}/${EXPORTER_FILE}`);
  return [
    'set -eu',
    podAddressExport(stacklet, rg),
    // HBase resolves the name it registers under before it listens, and exits when that fails: the
    // headless Service's record of a new pod takes a few seconds to appear.
    'for i in $(seq 1 120); do getent hosts "${POD_ADDRESS}" > /dev/null && break; sleep 1; done',
    ...hbaseStoresScript(rg.tls),
    ...(mainClass === HBASE_MAIN_CLASSES.master && kerberosRealm(stacklet)
      ? hdfsDirectoryWaitScript(stacklet)
      : []),
    `exec ${java([...krb5JvmArguments(stacklet), ...rg.jvmArguments, `-Dlog4j2.configurationFile=${logConfig(rg).path}`, agent], mainClass, ['start'])}`,
  ].join('\n');
}

/**
 * The regionservers' preStop hook: move this regionserver's regions to the others, within the
 * grace period less a minute for the regionserver's own stop. With no other regionserver (or none
 * up) the mover gives up and the regionserver closes its regions itself when it stops.
 */
export function unloadScript(stacklet: StackletContext, rg: ResolvedRoleGroup, graceSeconds: number): string {
  const timeout = Math.max(30, graceSeconds - 60);
  const opts = [
    REGION_MOVER_HEAP,
    ...HBASE_JAVA17_OPTIONS,
    // With a kerberos class the mover logs in as the pod's principal (KRB5PRINCIPAL, KRB5KEYTAB).
    ...krb5JvmArguments(stacklet),
    // The image's console config: the regionserver's structured file stays its own.
    `-Dlog4j2.configurationFile=${HBASE_IMAGE_CONF_DIR}/log4j2.properties`,
  ];
  return [
    'set -u',
    podAddressExport(stacklet, rg),
    `${java(opts, HBASE_MAIN_CLASSES.regionmover, ['-r', `\${POD_ADDRESS}:${HBASE_PORTS.regionserverRpc}`, '-o', 'unload', '-m', '4', '-t', String(timeout)]).replace(`'\${POD_ADDRESS}:${HBASE_PORTS.regionserverRpc}'`, `"\${POD_ADDRESS}:${HBASE_PORTS.regionserverRpc}"`)} || true`,
  ].join('\n');
}

/** A master's start (HDFS up, meta assigned) takes minutes on a busy node: 30 minutes before liveness. */
function tcpProbes(port: number): ReturnType<typeof tcpPortProbes> {
  return tcpPortProbes(port, 30);
}

function defaults(memory: string, gracefulShutdownTimeout: string) {
  return (): ResolvedCommonConfig => ({
    resources: { cpu: { min: '250m', max: '1' }, memory: { limit: memory }, storage: {} },
    logging: {},
    gracefulShutdownTimeout,
  });
}

const FILE_FORMATS = {
  [HBASE_SITE]: 'hadoop-xml',
  [LOG4J2_FILE]: 'properties',
  [EXPORTER_FILE]: 'yaml',
} as const;

const common = {
  config: {},
  configMountPath: CONFIG_DIR,
  // LOG_DIR: the structured log files (lib/logging).
  writableDirs: ['/tmp', LOG_DIR],
  jvm: {
    arguments: [
      '-XX:+UseG1GC',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.net.preferIPv4Stack=true',
      ...HBASE_JAVA17_OPTIONS,
    ],
  },
  maxUnavailable: 1,
  configFiles: FILE_FORMATS,
  // With server TLS the info ports and the REST port speak HTTPS only (hbaseSite). The key store is
  // built once, at start: the operator restarts a pod before the certificate it started with
  // expires, and after a new CA of the class is published.
  tls: ['server'] as const,
  certificateReload: { server: 'restart' } as const,
};

/** The HDFS' client files, copied from its discovery ConfigMap. */
function hdfsFiles(stacklet: StackletContext): Record<string, string> {
  const data = hdfs(stacklet) ?? {};
  return Object.fromEntries(HDFS_CLIENT_FILES.map((f) => [f, data[f] ?? '']));
}

function rolePod(
  stacklet: StackletContext,
  rg: ResolvedRoleGroup,
  role: HbaseRole,
  mainClass: string,
  port: number,
) {
  const log = logConfig(rg);
  // A kerberos class: the keytab init container runs first; the daemon and any HBase or Hadoop
  // client run in the pod (the preStop hook's region mover, an `hbase shell`) log in from the keytab.
  const kerberos = hbaseKerberos(stacklet, rg);
  const pod: RoleGroupPod = {
    container: {
      command: ['/bin/bash', '-c', daemonScript(stacklet, rg, mainClass)],
      env: [
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        // Hadoop's login takes the user from here before asking the operating system.
        { name: 'HADOOP_USER_NAME', value: 'keelson' },
        { name: 'HOME', value: '/tmp' },
        { name: 'HBASE_CONF_DIR', value: CONFIG_DIR },
        ...(kerberos
          ? [
              {
                name: 'KRB5PRINCIPAL',
                value: `${HBASE_KERBEROS_SERVICE}/$(POD_NAME).${podDomain(stacklet, rg)}@${kerberos.realm}`,
              },
              { name: 'KRB5KEYTAB', value: KERBEROS_KEYTAB },
            ]
          : []),
      ],
      volumeMounts: [...log.volumeMounts, ...(kerberos?.mounts ?? [])],
      ...tcpProbes(port),
    },
    ...(kerberos ? { initContainers: [kerberos.initContainer] } : {}),
    configFiles: {
      [HBASE_SITE]: hbaseSite(stacklet, role),
      [LOG4J2_FILE]: log4j2Config(containerLogging(rg.config.logging, CONTAINER), CONSOLE_PATTERN),
      [EXPORTER_FILE]: hbaseExporterConfig(),
    },
    extraFiles: { ...hdfsFiles(stacklet), ...sslFiles(rg.tls), ...(kerberos?.files ?? {}) },
    // Log4j 2 checks its file (monitorInterval) and applies a level change by itself: no roll.
    reloadedFiles: [LOG4J2_FILE],
    volumes: [...log.volumes, ...(kerberos?.volumes ?? [])],
  };
  return pod;
}

/** `gracefulShutdownTimeout` in seconds (the framework validated it). */
function graceSeconds(rg: ResolvedRoleGroup): number {
  return Math.ceil(parseDurationSeconds(rg.config.gracefulShutdownTimeout) ?? 30);
}

/**
 * What of `clusterConfig.authentication` HBase cannot do with its HDFS: HBase's Kerberos login is
 * Hadoop's (one login per JVM, `hadoop.security.authentication` from the HDFS' core-site.xml), so
 * HBase names a kerberos class exactly when its HDFS does, of the HDFS' realm; and one class only
 * (each daemon has one principal, of one realm).
 */
function kerberosProblems(
  stacklet: StackletContext<HbaseSpec>,
  hdfsName: string | undefined,
  hdfsData: Readonly<Record<string, string>> | undefined,
): string[] {
  const classes = stacklet.authentication.filter((c) => c.provider === 'kerberos');
  const path = 'spec.clusterConfig.authentication';
  if (classes.length > 1) {
    return [
      `${path}: each HBase daemon has one Kerberos principal, of one realm; name one kerberos ` +
        `AuthenticationClass, not ${classes.length} (${classes.map((c) => c.name).join(', ')})`,
    ];
  }
  if (!hdfsName || !hdfsData) return [];
  const hdfsRealm = hdfsData[HDFS_KERBEROS_REALM_KEY];
  const info = kerberosClassOf(classes);
  if (hdfsRealm && !info) {
    return [
      `${path}: the HDFS "${hdfsName}" takes Kerberos logins only (realm ${hdfsRealm}); name a kerberos ` +
        `AuthenticationClass of the realm ${hdfsRealm} (the HDFS' is "${hdfsData[HDFS_KERBEROS_CLASS_KEY] ?? '?'}")`,
    ];
  }
  if (hdfsRealm && info && info.spec.kerberos.realm !== hdfsRealm) {
    return [
      `${path}: the AuthenticationClass "${info.name}" is of the realm ${info.spec.kerberos.realm}, but the HDFS ` +
        `"${hdfsName}" takes logins of the realm ${hdfsRealm}; name a kerberos class of ${hdfsRealm}`,
    ];
  }
  if (!hdfsRealm && info) {
    return [
      `${path}: the AuthenticationClass "${info.name}" needs an HDFS with Kerberos (HBase's login is Hadoop's, ` +
        `for its HDFS calls and its own RPC alike), but the HDFS "${hdfsName}" has none; give the HDFS the same ` +
        'kerberos class, or remove it here',
    ];
  }
  return [];
}

/** The HBase product, as the framework and the operator see it. */
export const HBASE: ProductDefinition<HbaseSpec> = {
  name: 'hbase',
  kind: 'HbaseCluster',
  plural: 'hbaseclusters',
  shortNames: ['hbase'],
  description: 'An HBase on an HDFS and a ZooKeeper: masters, regionservers and REST servers.',
  specSchema: HbaseSpecSchema,
  monitoring: HBASE_MONITORING,
  images: {
    repository: HBASE_IMAGE_REPOSITORY,
    versions: HBASE_IMAGE_TAGS,
    defaultVersion: '2.6.1',
  },
  roles: [
    defineRole({
      ...common,
      name: 'masters',
      defaultReplicas: 2,
      defaults: defaults('1Gi', '2m'),
      ports: [
        { name: 'rpc', port: HBASE_PORTS.masterRpc, client: true },
        { name: 'http', port: HBASE_PORTS.masterHttp, client: true },
        { name: 'metrics', port: HBASE_PORTS.metrics },
      ],
      pod: (stacklet, rg) =>
        rolePod(stacklet, rg, 'masters', HBASE_MAIN_CLASSES.master, HBASE_PORTS.masterRpc),
    }),
    defineRole({
      ...common,
      name: 'regionservers',
      defaultReplicas: 2,
      defaults: defaults('2Gi', '5m'),
      // Room beside the heap for HBase's off-heap buffers and the preStop hook's region mover.
      jvm: { ...common.jvm, heapFraction: 0.6 },
      ports: [
        { name: 'rpc', port: HBASE_PORTS.regionserverRpc, client: true },
        { name: 'http', port: HBASE_PORTS.regionserverHttp },
        { name: 'metrics', port: HBASE_PORTS.metrics },
      ],
      pod: (stacklet, rg) => {
        const pod = rolePod(
          stacklet,
          rg,
          'regionservers',
          HBASE_MAIN_CLASSES.regionserver,
          HBASE_PORTS.regionserverRpc,
        );
        return {
          ...pod,
          container: {
            ...pod.container,
            lifecycle: {
              preStop: {
                exec: { command: ['/bin/bash', '-c', unloadScript(stacklet, rg, graceSeconds(rg))] },
              },
            },
          },
        };
      },
    }),
    defineRole({
      ...common,
      name: 'restservers',
      defaultReplicas: 1,
      defaults: defaults('768Mi', '1m'),
      ports: [
        { name: 'http', port: HBASE_PORTS.rest, client: true },
        { name: 'info', port: HBASE_PORTS.restHttp },
        { name: 'metrics', port: HBASE_PORTS.metrics },
      ],
      pod: (stacklet, rg) => rolePod(stacklet, rg, 'restservers', HBASE_MAIN_CLASSES.rest, HBASE_PORTS.rest),
    }),
  ],
  // Kerberos: HBase's RPC (masters, regionservers) takes Kerberos logins only, on a Kerberos HDFS.
  authenticationProviders: ['kerberos'],
  dependencies: (spec): Record<string, string> => {
    const out: Record<string, string> = {};
    const hdfsName = spec.clusterConfig?.hdfsConfigMapName;
    const zkName = spec.clusterConfig?.zookeeperConfigMapName;
    if (hdfsName) out['spec.clusterConfig.hdfsConfigMapName'] = hdfsName;
    if (zkName) out['spec.clusterConfig.zookeeperConfigMapName'] = zkName;
    return out;
  },
  validate: (stacklet) => {
    const problems: string[] = [];
    const hdfsName = stacklet.spec.clusterConfig?.hdfsConfigMapName;
    const hdfsData = hdfsName ? stacklet.dependencies[hdfsName] : undefined;
    const missing = [HDFS_URI_KEY, ...HDFS_CLIENT_FILES].filter((k) => !hdfsData?.[k]);
    if (hdfsName && missing.length > 0) {
      problems.push(
        `spec.clusterConfig.hdfsConfigMapName: the ConfigMap "${hdfsName}" has no ${missing.join(', ')}; ` +
          'name the discovery ConfigMap of an HdfsCluster',
      );
    }
    problems.push(...kerberosProblems(stacklet, hdfsName, hdfsData));
    const superusers = stacklet.spec.clusterConfig?.superusers ?? [];
    if (superusers.length > 0 && !kerberosClassOf(stacklet.authentication)) {
      problems.push(
        `spec.clusterConfig.superusers: [${superusers.join(', ')}] need HBase's authorization, which is on with ` +
          'Kerberos only (without it every client may do anything, and names itself); name a kerberos ' +
          'AuthenticationClass in spec.clusterConfig.authentication, or remove superusers',
      );
    }
    const zkName = stacklet.spec.clusterConfig?.zookeeperConfigMapName;
    problems.push(...zookeeperReferenceProblems(stacklet.dependencies, zkName, 'HBase'));
    if (count(stacklet, 'masters') < 1)
      problems.push('spec.masters: an HBase needs at least one master (two for failover)');
    if (count(stacklet, 'regionservers') < 1)
      problems.push('spec.regionservers: an HBase needs at least one regionserver to serve its tables');
    for (const rg of groupsOf(stacklet, 'regionservers')) {
      if (graceSeconds(rg) < 60) {
        problems.push(
          `spec.regionservers.roleGroups.${rg.roleGroup}: gracefulShutdownTimeout ${rg.config.gracefulShutdownTimeout} ` +
            'leaves no time to move the regions away before the regionserver stops; give it at least 1m',
        );
      }
    }
    if (stacklet.spec.clusterConfig?.tls?.internalTlsClass !== undefined) {
      problems.push(
        'spec.clusterConfig.tls.internalTlsClass: keelson’s HBase has no internal TLS. Its traffic between pods ' +
          'is HBase RPC (master 16000, regionserver 16020), which keelson protects with SASL under Kerberos ' +
          '(hbase.rpc.protection privacy), not with certificates; its web UIs and REST server follow the server ' +
          'class. Remove internalTlsClass',
      );
    }
    return problems;
  },
  discovery: (stacklet) => ({
    [HBASE_DISCOVERY_KEYS.site]: renderConfigFile('hadoop-xml', clientHbaseSite(stacklet)),
    [HBASE_DISCOVERY_KEYS.quorum]: clientHbaseSite(stacklet)['hbase.zookeeper.quorum'],
    [HBASE_DISCOVERY_KEYS.parentZnode]: parentZnode(stacklet),
    ...(count(stacklet, 'restservers') > 0 ? { [HBASE_DISCOVERY_KEYS.rest]: restUrl(stacklet) } : {}),
    ...(stacklet.tls.server ? { [HBASE_DISCOVERY_KEYS.tls]: stacklet.tls.server.name } : {}),
    ...discoveryKerberos(stacklet),
  }),
};

/** Props of an HbaseCluster in synth mode: the custom resource's spec plus typed references. */
export interface HbaseClusterProps extends HbaseSpec {
  /**
   * The HdfsCluster HBase keeps its files on.
   * @default - `clusterConfig.hdfsConfigMapName`
   */
  readonly hdfs?: IStacklet;
  /**
   * The ZookeeperZnode (best: a chroot of its own) or ZookeeperCluster HBase coordinates through.
   * @default - `clusterConfig.zookeeperConfigMapName`
   */
  readonly zookeeper?: IStacklet;
}

/**
 * An HBase. Its discovery ConfigMap (named like it) holds the clients' `hbase-site.xml`,
 * `HBASE_ZOOKEEPER_QUORUM`, `HBASE_ZOOKEEPER_ZNODE_PARENT` and `HBASE_REST`.
 */
export class HbaseCluster extends Stacklet<HbaseSpec> {
  /** The REST servers' URL (`HBASE_REST`), when the HBase runs any. */
  public readonly restUrl?: string;

  constructor(scope: Construct, id: string, props: HbaseClusterProps = {}, options: StackletOptions = {}) {
    const { hdfs: hdfsRef, zookeeper: zookeeperRef, ...spec } = props;
    const withRefs: HbaseSpec = {
      ...spec,
      clusterConfig: {
        ...spec.clusterConfig,
        ...(hdfsRef ? { hdfsConfigMapName: hdfsRef.discoveryConfigMapName } : {}),
        ...(zookeeperRef ? { zookeeperConfigMapName: zookeeperRef.discoveryConfigMapName } : {}),
      },
    };
    super(scope, id, HBASE, withRefs, {
      ...options,
      dependencies: {
        ...options.dependencies,
        ...(hdfsRef ? { [hdfsRef.discoveryConfigMapName]: hdfsRef.discoveryData } : {}),
        ...(zookeeperRef ? { [zookeeperRef.discoveryConfigMapName]: zookeeperRef.discoveryData } : {}),
      },
    });
    hdfsRef?.addAllowedClient(this);
    zookeeperRef?.addAllowedClient(this);
    this.restUrl = this.discoveryData[HBASE_DISCOVERY_KEYS.rest];
  }
}
