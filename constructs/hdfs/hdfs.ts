/**
 * HDFS: namenodes (an HA pair by default, each with a ZooKeeper failover controller beside it),
 * journalnodes (the quorum holding the namenodes' shared edit log, 3 by default) and datanodes.
 *
 * The image is keelson's own `ghcr.io/keelson/hadoop` (image.ts), built from Hadoop's jars on Maven
 * Central. keelson's pods run `java` themselves with the main classes of distribution.ts — no
 * Hadoop script — with a classpath that starts with the pod's config directory, so the JVMs read
 * keelson's `core-site.xml`, `hdfs-site.xml` and `log4j2.properties` and nothing else.
 *
 * High availability: the nameservice is the stacklet's name; each namenode pod is a namenode of it
 * whose id is its pod name, reached at its stable DNS name under its headless Service. The
 * namenodes share their edit log through the journalnodes (`qjournal://`), and a `zkfc` container
 * in each namenode pod (DFSZKFailoverController) holds the active lock in ZooKeeper under
 * `<chroot>/hadoop-ha/<namespace>/<name>` (`clusterConfig.zookeeperConfigMapName`, a ZookeeperCluster's or
 * better a ZookeeperZnode's discovery ConfigMap): when the active namenode's pod goes, its session
 * ends and the other controller makes its namenode active. Fencing is `shell(/bin/true)`: the
 * journalnodes accept writes from one writer epoch only, so an old active namenode cannot corrupt
 * the edit log (Hadoop's own advice for the quorum journal).
 *
 * First start: an init container of each namenode pod renders the pod's config (its namenode id)
 * and, when the pod's volume holds no formatted namespace yet (`current/VERSION`), formats it — the
 * first namenode pod (`-format` with a cluster id derived from namespace and name) — or copies it
 * from a running namenode (`-bootstrapStandby`), retrying until the journalnodes and the other
 * namenode are up. A formatted volume is never touched again, so restarts do not format. A first
 * namenode whose volume was lost finds the journalnodes formatted (Hadoop refuses to format them
 * again without a prompt) and bootstraps from the other namenode instead.
 *
 * Clients: the discovery ConfigMap (named like the stacklet) carries `core-site.xml` and
 * `hdfs-site.xml` with the nameservice, each namenode's address and the failover proxy provider,
 * and `HDFS` = `hdfs://<name>`, so HBase, Hive, Spark or Trino mount it as Hadoop config.
 *
 * TLS (`clusterConfig.tls`, lib/tls): with server TLS the web ports (namenode 9870, journalnode
 * 8480, datanode 9864) serve HTTPS only (`dfs.http.policy=HTTPS_ONLY`), on the same numbers, so
 * Services, policies and listener ports do not change. Hadoop reads Java key stores, not PEM: each
 * start builds a PKCS#12 key store from the mounted `tls.pem` under a random password handed to the
 * JVM in an environment variable (`ssl-server.xml` refers to it as `${env.…}`), and a trust store of
 * the class's CAs for what the pods fetch from each other over HTTPS (`ssl-client.xml`). RPC and
 * block transfer are not TLS in Hadoop (SASL under Kerberos protects them): internal TLS is refused.
 * The discovery ConfigMap says `HDFS_TLS_CLASS=<class>`.
 *
 * Kerberos (one `kerberos` AuthenticationClass in `clusterConfig.authentication`, server TLS
 * required): each pod's `kerberos-keytab` init container (lib/authentication/kerberos.ts) writes the
 * keys of `hdfs/<pod DNS name>@REALM` (RPC) and `HTTP/<pod DNS name>@REALM` (SPNEGO) — plus those of
 * the outside address for a datanode of an external class — into an in-memory emptyDir that every
 * container of the pod mounts. Every daemon logs in from it with `_HOST` principals (a namenode's
 * `_HOST` is its rpc-address host; a journalnode's, a datanode's and every web server's the pod's
 * canonical host name, its pod DNS name from /etc/hosts); so do the failover controller and the
 * namenode init container's `-format` and `-bootstrapStandby` by themselves; other Hadoop clients in
 * a pod through `KRB5PRINCIPAL`/`KRB5KEYTAB`. Every JVM reads keelson's krb5.conf
 * (`-Djava.security.krb5.conf`). RPC is SASL `privacy`, block transfer SASL `integrity` with block
 * tokens (the datanodes' ports are unprivileged, which Hadoop allows only with SASL and HTTPS only:
 * hence server TLS), `hdfs/…` and `HTTP/…` principals map to `hdfs`, the superuser. Principal
 * patterns (`….principal.pattern = hdfs/*@REALM`) spare clients a reverse DNS lookup of pod IPs, for
 * which service-level authorization would need it too, so that stays off. Every web server asks
 * for SPNEGO (HDFS' `AuthFilter` on all paths; WebHDFS takes a delegation token too) except on
 * /jmx, which stays readable without it (the operator's decommission check). The discovery ConfigMap carries the client keys in its core-site.xml and
 * hdfs-site.xml, and `HDFS_KERBEROS_REALM` and `HDFS_KERBEROS_CLASS`.
 */
import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { Construct } from 'constructs';
import {
  CONFIG_VOLUME,
  containerLogging,
  defineRole,
  defineRule,
  jmxExporterAgentArgument,
  jvmHeapFromMemory,
  kerberosClassOf,
  kerberosPodParts,
  KERBEROS_KEYTAB,
  KRB5_CONF_FILE,
  type KerberosPodParts,
  listenerAddressScript,
  LOG_DIR,
  log4j2Config,
  logConfigLocation,
  renderConfigFile,
  shellQuote,
  Stacklet,
  stackletSpecSchema,
  withRules,
  writableVolumeName,
  type IStacklet,
  type ProductDefinition,
  type ResolvedCommonConfig,
  type ResolvedRoleGroup,
  type RoleGroupTls,
  type StackletContext,
  type StackletOptions,
  tcpPortProbes,
  tlsVolumeName,
} from '../../lib';
import {
  hadoopSslClient,
  hadoopSslServer,
  JAVA_KEYSTORE,
  JAVA_STORES_DIR,
  JAVA_TRUSTSTORE,
  JAVA_TRUSTSTORE_PASSWORD,
  javaStoresScript,
} from '../../lib/tls/java-stores';
import {
  HADOOP_CLASSPATH,
  HADOOP_JAVA17_OPTIONS,
  HDFS_IMAGE_REPOSITORY,
  HDFS_IMAGE_TAGS,
  HDFS_MAIN_CLASSES,
} from './distribution';

/** The ports of HDFS' pods (Hadoop 3's defaults). */
export const HDFS_PORTS = {
  /** Namenode RPC: clients, datanodes and the other namenode. */
  namenodeRpc: 8020,
  /**
   * Namenode web UI and WebHDFS; the standby downloads the image from the active one here. With
   * server TLS the same port serves HTTPS only (see `hdfsSite`).
   */
  namenodeHttp: 9870,
  /** The failover controller's RPC (graceful failover between the two controllers). */
  zkfc: 8019,
  /** Journalnode RPC: the namenodes write and read the edit log here. */
  journalnodeRpc: 8485,
  /** Journalnode HTTP (HTTPS with server TLS): the namenodes and the other journalnodes fetch edit segments here. */
  journalnodeHttp: 8480,
  /** Datanode data transfer: clients read and write blocks here, directly. */
  datanodeData: 9866,
  /** Datanode web UI and WebHDFS' block reads and writes (HTTPS with server TLS). */
  datanodeHttp: 9864,
  datanodeIpc: 9867,
  /** The Prometheus JMX exporter agent serves each JVM's metrics at `/metrics` here. */
  metrics: 9404,
} as const;

/** The key of the file system URI (`hdfs://<nameservice>`) in an HDFS discovery ConfigMap. */
export const HDFS_DISCOVERY_KEY = 'HDFS';
/** The client config files in the discovery ConfigMap. */
export const HDFS_CLIENT_FILES = ['core-site.xml', 'hdfs-site.xml'] as const;

/**
 * The key, present only when the HDFS serves its HTTP ports over TLS, of the TlsClass whose CAs (its
 * ClusterTrustBundles, label `keelson.dev/tls-class`) a client of those ports (WebHDFS, the web UI)
 * trusts.
 */
export const HDFS_TLS_DISCOVERY_KEY = 'HDFS_TLS_CLASS';

/**
 * The keys, present only with a kerberos class, of its realm and of the AuthenticationClass (for a
 * keelson client to get its own keytab), as the Hive metastore's discovery names them. The
 * principals a client accepts are in `hdfs-site.xml` (`dfs.namenode.kerberos.principal.pattern`, …).
 */
export const HDFS_KERBEROS_REALM_DISCOVERY_KEY = 'HDFS_KERBEROS_REALM';
export const HDFS_KERBEROS_CLASS_DISCOVERY_KEY = 'HDFS_KERBEROS_CLASS';
/** The service part of every HDFS daemon's principal (`hdfs/<pod DNS name>@REALM`), and its short name. */
export const HDFS_KERBEROS_SERVICE = 'hdfs';
/** The service part of the principals of SPNEGO on the web ports (`HTTP/<pod DNS name>@REALM`). */
export const HDFS_SPNEGO_SERVICE = 'HTTP';
/**
 * RPC's SASL protection: `privacy` (encrypted), as the web ports are HTTPS: RPC carries file names,
 * permissions, block and delegation tokens. Clients must ask for the same (the discovery's core-site).
 */
export const HDFS_RPC_PROTECTION = 'privacy';
/**
 * Block transfer's SASL protection: `integrity` — each block transfer is authenticated with its
 * block token and its messages cannot be altered unnoticed, without the cost of SASL's (DIGEST-MD5,
 * old ciphers) encryption of every byte. Encrypted blocks: `dfs.encrypt.data.transfer` with AES
 * through `configOverrides`.
 */
export const HDFS_DATA_TRANSFER_PROTECTION = 'integrity';

/** Keys of a ZooKeeper discovery ConfigMap (a cluster's or a ZNode's) that HDFS reads. */
const ZOOKEEPER_HOSTS_KEY = 'ZOOKEEPER_HOSTS';
const ZOOKEEPER_CHROOT_KEY = 'ZOOKEEPER_CHROOT';

/** The role group's config files, as rendered by the framework. */
const CONFIG_DIR = '/keelson/config';
/** A namenode pod's own config (its namenode id filled in), written by its init container. */
const RUN_DIR = '/keelson/run';
/** Every role's persistent volume. */
const DATA_DIR = '/keelson/data';
/** Where each role keeps its files on that volume. */
export const HDFS_DATA_DIRS = {
  namenodes: `${DATA_DIR}/namenode`,
  journalnodes: `${DATA_DIR}/journalnode`,
  datanodes: `${DATA_DIR}/datanode`,
} as const;

const CORE_SITE = 'core-site.xml';
const HDFS_SITE = 'hdfs-site.xml';
/** Hadoop's TLS files (`hadoop.ssl.server.conf`, `hadoop.ssl.client.conf`), read from the class path. */
const SSL_SERVER = 'ssl-server.xml';
const SSL_CLIENT = 'ssl-client.xml';
/** Where a pod's start builds its key store and trust store from the mounted PEM files (lib/tls/java-stores). */
export const HDFS_STORES_DIR = JAVA_STORES_DIR;
export const HDFS_KEYSTORE = JAVA_KEYSTORE;
export const HDFS_TRUSTSTORE = JAVA_TRUSTSTORE;
/** The variable holding the key store's password, made at random by each start of the daemon. */
export const HDFS_KEYSTORE_PASSWORD_ENV = 'KEELSON_HDFS_KEYSTORE_PASSWORD';
/** The trust store's fixed password (lib/tls/java-stores: it guards only the class's CA certificates). */
export const HDFS_TRUSTSTORE_PASSWORD = JAVA_TRUSTSTORE_PASSWORD;

/** Log4j 2 config of the main container (and the namenodes' init container). */
const LOG4J2_FILE = 'log4j2.properties';
/** Log4j 2 config of the namenodes' failover controller: its own structured file, its own levels. */
const ZKFC_LOG4J2_FILE = 'zkfc-log4j2.properties';
/** The console's layout. */
const CONSOLE_PATTERN = '%d{ISO8601} %p %c: %m%n';
const EXPORTER_FILE = 'jmx-exporter.yaml';
/** The main container's name (`config.logging.containers` key); the failover controller's is `zkfc`. */
const CONTAINER = 'hdfs';
const ZKFC_CONTAINER = 'zkfc';
/** The namenodes' sidecar that has them read the exclude file again when it changes. */
const REFRESH_CONTAINER = 'refresh-nodes';
/**
 * The namenodes' exclude file (`dfs.hosts.exclude`): the addresses of the datanodes to decommission,
 * one a line. It is a key of the namenodes' ConfigMap that the kubelet updates in place.
 */
export const EXCLUDE_FILE = 'datanodes.exclude';
/** The namenodes' topology script (rack awareness), and the table of datanode racks it reads. */
const TOPOLOGY_SCRIPT = 'topology.sh';
export const TOPOLOGY_TABLE = 'datanodes.topology';

/**
 * The namenodes' topology script (`net.topology.script.file.name`): the rack of each address it is
 * given, one a line, from the table the keelson operator writes (`<pod IP> <rack>` a line). For an
 * address not in the table it prints nothing at all: the namenode then refuses a datanode's
 * registration for now (`dfs.namenode.reject-unresolved-dn-topology-mapping`) instead of keeping it
 * on a default rack for good (it caches every answer), and the datanode registers again a few
 * seconds later, once the kubelet updated the table.
 */
export function topologyScript(): string {
  return [
    '#!/bin/bash',
    'declare -A rack',
    `while read -r ip location; do [ -n "$ip" ] && rack[$ip]=$location; done < ${CONFIG_DIR}/${TOPOLOGY_TABLE}`,
    'out=""',
    'for address in "$@"; do',
    '  [ -n "${rack[$address]:-}" ] || exit 0',
    '  out+="${rack[$address]}"$\'\\n\'',
    'done',
    'printf "%s" "$out"',
    '',
  ].join('\n');
}

/** The spec's rack awareness, if any. */
function rackAwareness(stacklet: StackletContext): { nodeLabels: string[] } | undefined {
  return (stacklet.spec as HdfsSpec).clusterConfig?.rackAwareness;
}

/** How often the refresh sidecar compares the exclude file with what it last gave the namenode. */
const REFRESH_CHECK_SECONDS = 10;
const FORMAT_CONTAINER = 'format-namenode';

/** The placeholder a namenode pod replaces with its namenode id (its pod name) at start. */
export const NAMENODE_ID_PLACEHOLDER = '__NAMENODE_ID__';

/**
 * The placeholders a datanode pod of an external listener class replaces at start with the address
 * the operator wrote for it (lib/listener): the host it registers with the namenodes
 * (`dfs.datanode.hostname`, which outside clients use with `dfs.client.use.datanode.hostname`) and
 * the ports it listens on, which are the ones it registers (a datanode advertises its bound ports).
 */
export const DATANODE_LISTENER_PLACEHOLDERS = {
  host: '__LISTENER_HOST__',
  data: '__LISTENER_PORT_DATA__',
  http: '__LISTENER_PORT_HTTP__',
} as const;
/** The datanodes' ports an outside client reaches: block transfer, and WebHDFS' redirects. */
const DATANODE_LISTENER_PORTS = ['data', 'http'];
/** Where a datanode pod of an external class writes its config with its address filled in. */
const DATANODE_RUN_DIR = '/tmp/keelson-config';

/**
 * Memory of the failover controller and of the namenode init container (fixed: both are small
 * Hadoop clients; `podOverrides` can change them by container name).
 */
export const ZKFC_MEMORY = '384Mi';
export const FORMAT_MEMORY = '512Mi';
/** Memory of the refresh sidecar: a shell loop, and a short `dfsadmin` JVM when the file changes. */
export const REFRESH_MEMORY = '384Mi';

interface RuleView {
  clusterConfig?: { zookeeperConfigMapName?: string };
}

/** Automatic failover needs a ZooKeeper: the spec must name one. */
const zookeeperRequired = defineRule<RuleView>({
  cel: 'has(self.clusterConfig) && has(self.clusterConfig.zookeeperConfigMapName)',
  message:
    'HDFS needs a ZooKeeper for its namenodes’ failover: set clusterConfig.zookeeperConfigMapName to the ' +
    'discovery ConfigMap of a ZookeeperZnode (or ZookeeperCluster)',
  fieldPath: '.clusterConfig',
  reason: 'FieldValueRequired',
  check: (self) => self.clusterConfig?.zookeeperConfigMapName !== undefined,
});

const baseSchema = stackletSpecSchema({
  description: 'An HDFS: namenodes with automatic failover through ZooKeeper, journalnodes and datanodes.',
  clusterConfig: {
    zookeeperConfigMapName: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'The discovery ConfigMap of the ZookeeperZnode (or ZookeeperCluster) the failover controllers keep ' +
          'the active namenode’s lock in. Required.',
      }),
    ),
    dfsReplication: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'How many datanodes keep each block (`dfs.replication`). @default - 3, or fewer when there are fewer datanodes',
      }),
    ),
    rackAwareness: Type.Optional(
      Type.Object(
        {
          nodeLabels: Type.Array(Type.String({ minLength: 1 }), {
            minItems: 1,
            description:
              'The node labels whose values, in this order, make a datanode’s rack ' +
              '(`["topology.kubernetes.io/zone"]` gives `/<zone>`; a label a node lacks counts as `default`).',
          }),
        },
        {
          additionalProperties: false,
          description:
            'Rack awareness from node labels: the namenodes place block copies on other racks. The keelson ' +
            'operator writes each datanode’s rack (by pod IP) for the namenodes; operator mode only. ' +
            '@default - none: every datanode on `/default-rack`',
        },
      ),
    ),
    decommissionDatanodes: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description:
          'Datanode pods (by name, `<stacklet>-datanodes-<group>-<ordinal>`) the namenodes decommission: their ' +
          'blocks are copied to the other datanodes, then they take no new blocks. Before lowering a datanode ' +
          'role group’s replicas in synth mode, list the pods that will go (the highest ordinals), wait until ' +
          '`hdfs dfsadmin -report` shows them Decommissioned, then lower replicas. ' +
          'The change reaches the namenodes without a restart. @default - none',
      }),
    ),
  },
  roles: {
    namenodes: {
      config: {},
      configFiles: [CORE_SITE, HDFS_SITE, LOG4J2_FILE, ZKFC_LOG4J2_FILE, EXPORTER_FILE],
      jvm: true,
    },
    journalnodes: { config: {}, configFiles: [CORE_SITE, HDFS_SITE, LOG4J2_FILE, EXPORTER_FILE], jvm: true },
    datanodes: { config: {}, configFiles: [CORE_SITE, HDFS_SITE, LOG4J2_FILE, EXPORTER_FILE], jvm: true },
  },
});
export const HdfsSpecSchema: typeof baseSchema = { ...baseSchema, ...withRules(zookeeperRequired) };

/** The spec of an HdfsCluster. */
import type { HdfsSpec } from './spec.generated';
import { zookeeperReferenceProblems } from '../zookeeper/reference';
import { HDFS_MONITORING } from './monitoring';
import { DATANODE_DECOMMISSION } from './decommission';
export type { HdfsSpec };

type HdfsRoleGroup = ResolvedRoleGroup;
type HdfsRole = keyof typeof HDFS_DATA_DIRS;

function groupsOf(stacklet: StackletContext, role: HdfsRole): HdfsRoleGroup[] {
  return stacklet.roleGroups.filter((rg) => rg.role === role && rg.replicas > 0);
}

/** `<pod name>` and `<pod address>` of every pod of `role`, in role group and ordinal order. */
function podsOf(stacklet: StackletContext, role: HdfsRole): { name: string; address: string }[] {
  return groupsOf(stacklet, role).flatMap((rg) =>
    rg.podAddresses.map((address, ordinal) => ({ name: `${rg.names.workload}-${ordinal}`, address })),
  );
}

/** Whether pod `name` is one of the pods the spec's replicas run. */
function isRunning(stacklet: StackletContext, name: string): boolean {
  return podsOf(stacklet, 'datanodes').some((p) => p.name === name);
}

/** The nameservice: the stacklet's name. */
export function nameservice(stacklet: StackletContext): string {
  return stacklet.name;
}

/** The file system URI clients use. */
export function fileSystemUri(stacklet: StackletContext): string {
  return `hdfs://${nameservice(stacklet)}`;
}

/** The namenodes' ids (their pod names), in order; the first formats the file system. */
export function namenodeIds(stacklet: StackletContext): string[] {
  return podsOf(stacklet, 'namenodes').map((p) => p.name);
}

/** The cluster id the first namenode formats with: derived from namespace and name, so stable. */
export function hdfsClusterId(stacklet: StackletContext): string {
  const hash = createHash('sha256')
    .update(`${stacklet.namespace ?? 'default'}/${stacklet.name}`)
    .digest('hex');
  return `CID-keelson-${hash.slice(0, 16)}`;
}

/** `qjournal://jn0:8485;jn1:8485;…/<nameservice>`: the namenodes' shared edit log. */
export function sharedEditsDir(stacklet: StackletContext): string {
  const journals = podsOf(stacklet, 'journalnodes').map((p) => `${p.address}:${HDFS_PORTS.journalnodeRpc}`);
  return `qjournal://${journals.join(';')}/${nameservice(stacklet)}`;
}

/** The ZooKeeper's discovery data, when the spec names one and it was resolved. */
function zookeeper(stacklet: StackletContext): Readonly<Record<string, string>> | undefined {
  const name = (stacklet.spec as HdfsSpec).clusterConfig?.zookeeperConfigMapName;
  return name ? stacklet.dependencies[name] : undefined;
}

/**
 * Where the failover controllers keep their lock: below the ZooKeeper's chroot (a ZNode's path),
 * then the namespace, so two HDFS of the same name never share one. The controllers are given the
 * ZooKeeper's hosts without the chroot and this full path, because they create every missing
 * component of it themselves (`-formatZK`), and a ZooKeeper client given a chroot that does not
 * exist yet fails on every call.
 */
export function failoverZnode(stacklet: StackletContext): string {
  const chroot = zookeeper(stacklet)?.[ZOOKEEPER_CHROOT_KEY] ?? '/';
  return `${chroot === '/' ? '' : chroot.replace(/\/$/, '')}/hadoop-ha/${stacklet.namespace ?? 'default'}`;
}

/**
 * hdfs-site.xml keys every client needs: the nameservice and how to find its active namenode. With
 * server TLS the namenodes' web addresses are `https-address`es and `dfs.http.policy` is
 * `HTTPS_ONLY`, which every role reads too (see `hdfsSite`).
 */
export function clientHdfsSite(stacklet: StackletContext): Record<string, string> {
  const ns = nameservice(stacklet);
  const namenodes = podsOf(stacklet, 'namenodes');
  const tls = stacklet.tls.server !== undefined;
  const web = tls ? 'https-address' : 'http-address';
  return {
    'dfs.nameservices': ns,
    [`dfs.ha.namenodes.${ns}`]: namenodes.map((n) => n.name).join(','),
    ...Object.fromEntries(
      namenodes.flatMap((n) => [
        [`dfs.namenode.rpc-address.${ns}.${n.name}`, `${n.address}:${HDFS_PORTS.namenodeRpc}`],
        [`dfs.namenode.${web}.${ns}.${n.name}`, `${n.address}:${HDFS_PORTS.namenodeHttp}`],
      ]),
    ),
    [`dfs.client.failover.proxy.provider.${ns}`]:
      'org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider',
    'dfs.replication': String(replication(stacklet)),
    ...(tls ? { 'dfs.http.policy': 'HTTPS_ONLY' } : {}),
    ...clientHdfsSiteKerberos(stacklet),
  };
}

/** The realm of the stacklet's kerberos class, if it names one. */
function kerberosRealm(stacklet: StackletContext): string | undefined {
  return kerberosClassOf(stacklet.authentication)?.spec.kerberos.realm;
}

/**
 * The Kerberos parts of a role group's pods: a keytab holding `hdfs/<pod DNS name>@REALM` (the
 * daemon's RPC) and `HTTP/<pod DNS name>@REALM` (SPNEGO on its web port), and for datanodes of an
 * external class both principals of the outside address too; krb5.conf in the role group's ConfigMap.
 */
export function hdfsKerberos(stacklet: StackletContext, rg: HdfsRoleGroup): KerberosPodParts | undefined {
  const info = kerberosClassOf(stacklet.authentication);
  if (!info) return undefined;
  return kerberosPodParts(info, {
    service: HDFS_KERBEROS_SERVICE,
    otherServices: [HDFS_SPNEGO_SERVICE],
    podAddress: podAddressScript(stacklet, rg, '${', '}'),
    configDir: CONFIG_DIR,
    listener: rg.role === 'datanodes' ? rg.listener : undefined,
  });
}

/**
 * A pod's DNS name (`<pod>.<headless Service>.<namespace>.svc.<domain>`), the host of its
 * principals, with `POD_NAME` and `POD_NAMESPACE` as `open`NAME`close` (a shell's `${…}`, or
 * Kubernetes' `$(…)` in an env value).
 */
function podAddressScript(stacklet: StackletContext, rg: HdfsRoleGroup, open: string, close: string): string {
  return `${open}POD_NAME${close}.${rg.names.headlessService}.${open}POD_NAMESPACE${close}.svc.${stacklet.clusterDomain}`;
}

/** `-Djava.security.krb5.conf` for every JVM of a pod, with a kerberos class. */
function krb5JvmArguments(stacklet: StackletContext): string[] {
  return kerberosRealm(stacklet) ? [`-Djava.security.krb5.conf=${CONFIG_DIR}/${KRB5_CONF_FILE}`] : [];
}

/**
 * auth_to_local: the daemons' principals of the realm (`hdfs/<host>`, and `HTTP/<host>` of SPNEGO)
 * become `hdfs` — the namenodes' login user, so HDFS' superuser — and a user of the realm its first
 * component (`alice@REALM`, `alice/admin@REALM` → `alice`).
 */
export function hdfsAuthToLocal(realm: string): string {
  const escaped = realm.replace(/\./g, '\\.');
  return [
    `RULE:[2:$1@$0](${HDFS_KERBEROS_SERVICE}@${escaped})s/.*/${HDFS_KERBEROS_SERVICE}/`,
    `RULE:[2:$1@$0](${HDFS_SPNEGO_SERVICE}@${escaped})s/.*/${HDFS_KERBEROS_SERVICE}/`,
    `RULE:[1:$1@$0](.*@${escaped})s/@.*//`,
    `RULE:[2:$1@$0](.*@${escaped})s/@.*//`,
    'DEFAULT',
  ].join('\n');
}

/**
 * core-site.xml's Kerberos keys for clients and daemons alike: Kerberos logins, RPC protection, and
 * how principals become user names.
 */
export function coreSiteKerberos(stacklet: StackletContext): Record<string, string> {
  const realm = kerberosRealm(stacklet);
  if (!realm) return {};
  return {
    'hadoop.security.authentication': 'kerberos',
    'hadoop.rpc.protection': HDFS_RPC_PROTECTION,
    'hadoop.security.auth_to_local': hdfsAuthToLocal(realm),
  };
}

/**
 * hdfs-site.xml's Kerberos keys a client needs: the principals of the daemons, and the block
 * transfer's SASL protection (the datanodes listen on unprivileged ports, so a client must do the
 * SASL handshake). Each `_HOST` pattern comes with a `.pattern` that accepts any `hdfs/…` principal
 * of the realm a daemon presents: without it Hadoop's RPC client derives the expected principal
 * from a reverse DNS lookup of the daemon's pod IP, which has no entry (and an outside datanode is
 * named by its node's address). Only the realm's admin can create `hdfs/…` principals.
 */
export function clientHdfsSiteKerberos(stacklet: StackletContext): Record<string, string> {
  const realm = kerberosRealm(stacklet);
  if (!realm) return {};
  const principal = `${HDFS_KERBEROS_SERVICE}/_HOST@${realm}`;
  const pattern = `${HDFS_KERBEROS_SERVICE}/*@${realm}`;
  return {
    'dfs.data.transfer.protection': HDFS_DATA_TRANSFER_PROTECTION,
    ...Object.fromEntries(
      ['namenode', 'datanode', 'journalnode'].flatMap((role) => [
        [`dfs.${role}.kerberos.principal`, principal],
        [`dfs.${role}.kerberos.principal.pattern`, pattern],
      ]),
    ),
    // The HA admin protocols (haadmin, a failover controller's calls) name the namenode's principal
    // through this key; its pattern likewise.
    'hadoop.security.service.user.name.key.pattern': pattern,
  };
}

/**
 * hdfs-site.xml's Kerberos keys of the daemons: block tokens (the namenode refuses to start
 * without them under Kerberos; the datanodes' SASL handshake rests on them), each daemon's keytab,
 * SPNEGO's principal on the web ports. `_HOST` is the namenode's rpc-address host (its pod DNS
 * name) for a namenode and its failover controller, and the pod's canonical host name (its pod DNS
 * name, from the kubelet's /etc/hosts: the StatefulSet gives each pod its headless Service as
 * subdomain) for a journalnode, a datanode (its `dfs.datanode.hostname`, the outside address, with
 * an external class) and every web port (bound to 0.0.0.0).
 */
function hdfsSiteKerberos(stacklet: StackletContext): Record<string, string> {
  const realm = kerberosRealm(stacklet);
  if (!realm) return {};
  const spnego = `${HDFS_SPNEGO_SERVICE}/_HOST@${realm}`;
  return {
    'dfs.block.access.token.enable': 'true',
    'dfs.namenode.keytab.file': KERBEROS_KEYTAB,
    'dfs.datanode.keytab.file': KERBEROS_KEYTAB,
    'dfs.journalnode.keytab.file': KERBEROS_KEYTAB,
    'dfs.web.authentication.kerberos.principal': spnego,
    'dfs.web.authentication.kerberos.keytab': KERBEROS_KEYTAB,
    'dfs.namenode.kerberos.internal.spnego.principal': spnego,
    'dfs.journalnode.kerberos.internal.spnego.principal': spnego,
  };
}

/**
 * ssl-server.xml: the key store each daemon's start builds from the mounted `tls.pem` (PKCS#12,
 * under the random password of that start, which Hadoop's Configuration reads as `${env.…}`).
 * Clients are not asked for a certificate (`hadoop.ssl.require.client.cert` stays false).
 */
export function sslServer(): Record<string, string> {
  return hadoopSslServer(HDFS_KEYSTORE_PASSWORD_ENV);
}

/**
 * ssl-client.xml: the trust store of the class's CAs, for what a daemon fetches over HTTPS from
 * another pod (a namenode the image from the other, the edit segments from the journalnodes; a
 * journalnode the segments it lacks from the others; `hdfs fsck`). Hadoop 3.4's key store factory
 * opens only Java key store types (`KeyStore.getInstance(type)`), so not the PEM file itself: the
 * start builds a PKCS#12 trust store from `ca.crt`. Hadoop checks the server's name
 * (`hadoop.ssl.hostname.verifier`, DEFAULT) against the address it dialled: the pod DNS names
 * the hdfs-site lists, which the pods' certificates carry.
 */
export function sslClient(): Record<string, string> {
  return hadoopSslClient();
}

/**
 * Script lines that build the pod's key store (PKCS#12 from `tls.pem`, the key and its chain in one
 * file, under a random password of this start exported to the daemon) and trust store (every CA of
 * `ca.crt`, two during a CA rotation, each imported by `keytool`: Java trusts only certificates
 * stored as trusted entries, which `openssl pkcs12` of Debian 12 cannot write) in a folder only the
 * pod's user reads. `keyStore` false: the trust store only (a process that serves nothing).
 */
export function storesScript(tls: RoleGroupTls, keyStore = true): string[] {
  if (!tls.server) return [];
  return javaStoresScript(
    tls.server,
    { keystorePasswordEnv: HDFS_KEYSTORE_PASSWORD_ENV, alias: 'hdfs' },
    keyStore,
  );
}

/** The Hadoop TLS files of a role group with server TLS (none without). */
function sslFiles(tls: RoleGroupTls): Record<string, string> {
  if (!tls.server) return {};
  return {
    [SSL_SERVER]: renderConfigFile('hadoop-xml', sslServer()),
    [SSL_CLIENT]: renderConfigFile('hadoop-xml', sslClient()),
  };
}

/** `dfs.replication`: the spec's, else 3, at most the number of datanodes. */
export function replication(stacklet: StackletContext): number {
  const wanted = (stacklet.spec as HdfsSpec).clusterConfig?.dfsReplication;
  const datanodes = groupsOf(stacklet, 'datanodes').reduce((n, rg) => n + rg.replicas, 0);
  return wanted ?? Math.max(1, Math.min(3, datanodes));
}

/**
 * The datanode pods of `spec.clusterConfig.decommissionDatanodes`, each with its stable address
 * (`<pod>.<headless Service>.<namespace>.svc.<domain>`), or the problem with a name that is not a
 * datanode pod's.
 */
export function decommissionedDatanodes(stacklet: StackletContext): {
  pods: { name: string; address: string }[];
  problems: string[];
} {
  const names = (stacklet.spec as HdfsSpec).clusterConfig?.decommissionDatanodes ?? [];
  const groups = stacklet.roleGroups.filter((rg) => rg.role === 'datanodes');
  const pods: { name: string; address: string }[] = [];
  const problems: string[] = [];
  for (const name of names) {
    const rg = groups.find((g) => new RegExp(`^${g.names.workload}-(0|[1-9][0-9]*)$`).test(name));
    if (!rg) {
      problems.push(
        `spec.clusterConfig.decommissionDatanodes: "${name}" is not a datanode pod; name one as ` +
          `${groups.map((g) => `${g.names.workload}-<ordinal>`).join(' or ')}`,
      );
      continue;
    }
    const namespace = stacklet.namespace ?? 'default';
    pods.push({
      name,
      address: `${name}.${rg.names.headlessService}.${namespace}.svc.${stacklet.clusterDomain}`,
    });
  }
  return { pods, problems };
}

/** The exclude file's text: one datanode address a line (Hadoop resolves each at every refresh). */
export function excludeFile(stacklet: StackletContext): string {
  return decommissionedDatanodes(stacklet)
    .pods.map((p) => `${p.address}\n`)
    .join('');
}

/** core-site.xml of clients and of every role. */
export function hdfsCoreSite(stacklet: StackletContext): Record<string, string> {
  return { 'fs.defaultFS': fileSystemUri(stacklet), ...coreSiteKerberos(stacklet) };
}

/**
 * core-site.xml of the daemons. With a kerberos class, Hadoop's service-level authorization
 * (`hadoop.security.authorization`) stays off, on purpose: it pins the client principal of each
 * daemon-to-daemon protocol (datanode → namenode, namenode → journalnode) to `_HOST` filled in
 * with a reverse DNS lookup of the caller's pod IP, which has no entry, so it would refuse every
 * datanode and namenode; its default ACLs admit every authenticated user anyway. Who may do what
 * is HDFS' own: Kerberos logins, the `hdfs` superuser, file permissions.
 */
function daemonCoreSite(stacklet: StackletContext): Record<string, string> {
  return {
    ...hdfsCoreSite(stacklet),
    ...(kerberosRealm(stacklet) ? { 'hadoop.security.authorization': 'false' } : {}),
    ...webAuthentication(stacklet),
  };
}

/** The web servers' paths that answer without SPNEGO under Kerberos (the operator, monitoring). */
export const HDFS_UNAUTHENTICATED_WEB_PATHS = ['/jmx'] as const;

/**
 * SPNEGO on every web server of a daemon, with a kerberos class: Hadoop 3.4's namenode puts no
 * authentication filter on WebHDFS by itself (it refuses every request then), so HDFS' own
 * `AuthFilterInitializer` puts its `AuthFilter` on all paths of each web server (WebHDFS, the UI,
 * /conf, /logs …). That filter lets a WebHDFS request carrying a delegation token through to the
 * servlet, which checks the token (the namenode's redirects to a datanode carry one). `*` accepts
 * a client's ticket for any `HTTP/…` principal of the pod's keytab — its pod DNS name, and a
 * datanode's outside address with an external class. /jmx is on Hadoop's endpoint whitelist
 * (`kerberos.endpoint.whitelist`, an exact servlet path): the operator's decommission check and the
 * web UI's pages read it without SPNEGO. keelson's metrics come from the JMX exporter agent on a
 * port of its own, the probes are TCP: neither goes through these web servers.
 */
function webAuthentication(stacklet: StackletContext): Record<string, string> {
  if (!kerberosRealm(stacklet)) return {};
  return {
    'hadoop.http.filter.initializers': 'org.apache.hadoop.hdfs.web.AuthFilterInitializer',
    'hadoop.http.authentication.type': 'kerberos',
    'hadoop.http.authentication.kerberos.principal': '*',
    'hadoop.http.authentication.kerberos.keytab': KERBEROS_KEYTAB,
    'hadoop.http.authentication.kerberos.endpoint.whitelist': HDFS_UNAUTHENTICATED_WEB_PATHS.join(','),
  };
}

/**
 * hdfs-site.xml of a role: the client keys plus what the role's own process reads. With server TLS
 * (`dfs.http.policy` HTTPS_ONLY, from the client keys) each web port is bound as the HTTPS address
 * instead of the HTTP one, on the same port number: the Services, NetworkPolicies and listener
 * ports stay as they are when TLS is switched.
 */
export function hdfsSite(
  stacklet: StackletContext,
  role: HdfsRole,
  rg?: HdfsRoleGroup,
): Record<string, string> {
  const client = { ...clientHdfsSite(stacklet), ...hdfsSiteKerberos(stacklet) };
  switch (role) {
    case 'namenodes':
      return {
        ...client,
        'dfs.ha.namenode.id': NAMENODE_ID_PLACEHOLDER,
        'dfs.namenode.name.dir': HDFS_DATA_DIRS.namenodes,
        'dfs.namenode.shared.edits.dir': sharedEditsDir(stacklet),
        'dfs.ha.automatic-failover.enabled': 'true',
        'dfs.ha.fencing.methods': 'shell(/bin/true)',
        'dfs.ha.zkfc.port': String(HDFS_PORTS.zkfc),
        // Listen on every interface: the pod's DNS name may not resolve before the pod is ready.
        'dfs.namenode.rpc-bind-host': '0.0.0.0',
        'dfs.namenode.servicerpc-bind-host': '0.0.0.0',
        [`dfs.namenode.${stacklet.tls.server ? 'https' : 'http'}-bind-host`]: '0.0.0.0',
        // Datanodes register from pod IPs that have no reverse DNS entry.
        'dfs.namenode.datanode.registration.ip-hostname-check': 'false',
        // Read at start and at every `dfsadmin -refreshNodes` (the refresh sidecar).
        'dfs.hosts.exclude': `${CONFIG_DIR}/${EXCLUDE_FILE}`,
        // A datanode whose rack is not known yet registers again later (see topologyScript).
        ...(rackAwareness(stacklet) ? { 'dfs.namenode.reject-unresolved-dn-topology-mapping': 'true' } : {}),
      };
    case 'journalnodes':
      return {
        ...client,
        'dfs.journalnode.edits.dir': HDFS_DATA_DIRS.journalnodes,
        'dfs.journalnode.rpc-address': `0.0.0.0:${HDFS_PORTS.journalnodeRpc}`,
        [`dfs.journalnode.${stacklet.tls.server ? 'https' : 'http'}-address`]: `0.0.0.0:${HDFS_PORTS.journalnodeHttp}`,
      };
    case 'datanodes': {
      // An external class: the datanode listens on, and registers, its node's address and nodePorts
      // (filled in at start); clients inside still reach it at its pod IP, on those ports.
      const external = rg?.listener !== undefined;
      const ph = DATANODE_LISTENER_PLACEHOLDERS;
      return {
        ...client,
        'dfs.datanode.data.dir': HDFS_DATA_DIRS.datanodes,
        'dfs.datanode.address': `0.0.0.0:${external ? ph.data : HDFS_PORTS.datanodeData}`,
        [`dfs.datanode.${stacklet.tls.server ? 'https' : 'http'}.address`]: `0.0.0.0:${external ? ph.http : HDFS_PORTS.datanodeHttp}`,
        'dfs.datanode.ipc.address': `0.0.0.0:${HDFS_PORTS.datanodeIpc}`,
        ...(external ? { 'dfs.datanode.hostname': ph.host } : {}),
      };
    }
  }
}

/** core-site.xml of the namenodes: the failover controllers' ZooKeeper too. */
function namenodeCoreSite(stacklet: StackletContext): Record<string, string> {
  return {
    ...daemonCoreSite(stacklet),
    'ha.zookeeper.quorum': zookeeper(stacklet)?.[ZOOKEEPER_HOSTS_KEY] ?? '',
    'ha.zookeeper.parent-znode': failoverZnode(stacklet),
    // The init container copies the script there, executable (ConfigMap files are not).
    ...(rackAwareness(stacklet) ? { 'net.topology.script.file.name': `${RUN_DIR}/${TOPOLOGY_SCRIPT}` } : {}),
  };
}

/**
 * The exporter's rules: Hadoop's metrics MBeans (`Hadoop:service=NameNode,name=FSNamesystem`) become
 * `hadoop_<service>_<name>_<attribute>` gauges; JVM metrics come with the agent.
 */
export function hdfsExporterConfig(): object {
  return {
    lowercaseOutputName: true,
    lowercaseOutputLabelNames: true,
    rules: [
      // The namenode's HA state is a string attribute: one series per state, of value 1.
      {
        pattern: 'Hadoop<service=NameNode, name=NameNodeStatus><>State: (\\w+)',
        name: 'hadoop_namenode_ha_state',
        labels: { state: '$1' },
        value: 1,
        type: 'GAUGE',
      },
      { pattern: 'Hadoop<service=(\\w+), name=(\\w+)><>(\\w+)', name: 'hadoop_$1_$2_$3', type: 'GAUGE' },
    ],
  };
}

/** Where a role group's main container reads its Log4j 2 file: keelson's, or the user's own ConfigMap. */
function logConfig(rg: HdfsRoleGroup) {
  return logConfigLocation(containerLogging(rg.config.logging, CONTAINER), CONFIG_DIR, LOG4J2_FILE);
}

/** The failover controller's Log4j 2 file (always keelson's: `custom` applies to the main container). */
const ZKFC_LOG4J2_PATH = `${CONFIG_DIR}/${ZKFC_LOG4J2_FILE}`;

/** `java` on the image's classpath with `confDir` first, as one shell command line. */
function java(
  confDir: string,
  args: readonly string[],
  mainClass: string,
  mainArgs: readonly string[] = [],
): string {
  return ['java', ...args, '-cp', `${confDir}:${HADOOP_CLASSPATH}`, mainClass, ...mainArgs]
    .map(shellQuote)
    .join(' ');
}

/**
 * The environment of every container of a role group's pods. With a kerberos class, a Hadoop client
 * run in the pod (the refresh sidecar's `dfsadmin`, an `hdfs fsck` or `haadmin` someone runs there)
 * logs in as the pod's `hdfs/…` principal from its keytab (Hadoop's `KRB5PRINCIPAL` and
 * `KRB5KEYTAB`) and reads keelson's krb5.conf (`HADOOP_CLIENT_OPTS` of the `hdfs` script; keep it
 * when adding options: `HADOOP_CLIENT_OPTS="$HADOOP_CLIENT_OPTS -Xmx96m"`).
 */
function podEnv(stacklet: StackletContext, rg: HdfsRoleGroup) {
  const realm = kerberosRealm(stacklet);
  return [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    // Hadoop's login takes the user from here before asking the operating system (not with Kerberos).
    { name: 'HADOOP_USER_NAME', value: 'keelson' },
    { name: 'HOME', value: '/tmp' },
    ...(realm
      ? [
          { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          {
            name: 'KRB5PRINCIPAL',
            value: `${HDFS_KERBEROS_SERVICE}/${podAddressScript(stacklet, rg, '$(', ')')}@${realm}`,
          },
          { name: 'KRB5KEYTAB', value: KERBEROS_KEYTAB },
          { name: 'HADOOP_CLIENT_OPTS', value: krb5JvmArguments(stacklet).join(' ') },
        ]
      : []),
  ];
}

/**
 * The daemon's start: with server TLS its key and trust stores (storesScript), then `exec java` with
 * the role group's JVM arguments, log4j file and exporter.
 */
function daemonScript(rg: HdfsRoleGroup, confDir: string, mainClass: string, krb5: string[] = []): string {
  const agent = jmxExporterAgentArgument(HDFS_PORTS.metrics, `${CONFIG_DIR}/${EXPORTER_FILE}`);
  return [
    'set -eu',
    ...storesScript(rg.tls),
    `exec ${java(confDir, [...HADOOP_JAVA17_OPTIONS, ...krb5, ...rg.jvmArguments, `-Dlog4j2.configurationFile=${logConfig(rg).path}`, agent], mainClass)}`,
  ].join('\n');
}

/**
 * A datanode of an external class: it waits for the address the operator writes (its node's address
 * and its Service's nodePorts), writes its config with them, and starts on it.
 */
export function datanodeListenerScript(rg: HdfsRoleGroup, mainClass: string, krb5: string[] = []): string {
  const ph = DATANODE_LISTENER_PLACEHOLDERS;
  const daemon = daemonScript(rg, DATANODE_RUN_DIR, mainClass, krb5).split('\n').slice(1);
  return [
    'set -eu',
    ...listenerAddressScript(rg.listener!),
    'echo "registering ${listener_host} with data port ${listener_port_data} and HTTP port ${listener_port_http}"',
    `mkdir -p ${DATANODE_RUN_DIR}`,
    `sed -e "s/${ph.host}/\${listener_host}/g" -e "s/${ph.data}/\${listener_port_data}/g" ` +
      `-e "s/${ph.http}/\${listener_port_http}/g" ${CONFIG_DIR}/${HDFS_SITE} > ${DATANODE_RUN_DIR}/${HDFS_SITE}`,
    ...[CORE_SITE, ...Object.keys(sslFiles(rg.tls))].map(
      (f) => `cp ${CONFIG_DIR}/${f} ${DATANODE_RUN_DIR}/${f}`,
    ),
    ...daemon,
  ].join('\n');
}

/**
 * The namenode init container's script: the pod's config with its namenode id (and, with server
 * TLS, the trust store: `-bootstrapStandby` fetches the image from the other namenode over HTTPS),
 * then — only when the volume holds no namespace yet — format (first namenode) or bootstrap from
 * the running one.
 */
export function formatScript(stacklet: StackletContext, log4jPath: string, tls: RoleGroupTls = {}): string {
  const first = namenodeIds(stacklet)[0];
  // With Kerberos both log in from the pod's keytab as the namenode (`dfs.namenode.keytab.file`,
  // `dfs.namenode.kerberos.principal` with `_HOST` its rpc-address host) by themselves.
  const opts = [
    ...jvmHeapFromMemory(FORMAT_MEMORY),
    ...krb5JvmArguments(stacklet),
    `-Dlog4j2.configurationFile=${log4jPath}`,
  ];
  const namenode = (args: string[]) => java(RUN_DIR, opts, HDFS_MAIN_CLASSES.namenode, args);
  return [
    'set -u',
    `sed "s/${NAMENODE_ID_PLACEHOLDER}/\${POD_NAME}/g" ${CONFIG_DIR}/${HDFS_SITE} > ${RUN_DIR}/${HDFS_SITE}`,
    ...[CORE_SITE, ...Object.keys(sslFiles(tls))].map((f) => `cp ${CONFIG_DIR}/${f} ${RUN_DIR}/${f}`),
    ...(tls.server ? ['set -e', ...storesScript(tls, false), 'set +e'] : []),
    ...(rackAwareness(stacklet)
      ? [`install -m 0755 ${CONFIG_DIR}/${TOPOLOGY_SCRIPT} ${RUN_DIR}/${TOPOLOGY_SCRIPT}`]
      : []),
    `if [ -f ${HDFS_DATA_DIRS.namenodes}/current/VERSION ]; then`,
    `  echo "keelson: ${HDFS_DATA_DIRS.namenodes} holds a formatted namespace; starting the namenode as it is"`,
    '  exit 0',
    'fi',
    'while true; do',
    `  if [ "\${POD_NAME}" = ${shellQuote(first ?? '')} ]; then`,
    `    ${namenode(['-format', '-nonInteractive', '-clusterId', hdfsClusterId(stacklet)])} && exit 0`,
    '    echo "keelson: not formatted (journalnodes not up yet, or already formatted): trying to bootstrap from another namenode"',
    '  fi',
    `  ${namenode(['-bootstrapStandby', '-nonInteractive'])} && exit 0`,
    '  echo "keelson: no namenode to bootstrap from yet; trying again in 10 s"',
    '  sleep 10',
    'done',
  ].join('\n');
}

/**
 * The failover controller: `-formatZK` creates its znode (a no-op answered with exit code 2 when
 * it exists), then the controller runs until the pod ends.
 */
export function zkfcScript(log4jPath: string, krb5: string[] = []): string {
  // With Kerberos the controller logs in as its namenode (its keytab and principal keys) by itself.
  const opts = [...jvmHeapFromMemory(ZKFC_MEMORY), ...krb5, `-Dlog4j2.configurationFile=${log4jPath}`];
  return [
    'set -u',
    `${java(RUN_DIR, opts, HDFS_MAIN_CLASSES.zkfc, ['-formatZK', '-nonInteractive'])} || true`,
    `exec ${java(RUN_DIR, opts, HDFS_MAIN_CLASSES.zkfc)}`,
  ].join('\n');
}

/**
 * The refresh sidecar: every few seconds it compares the exclude file (which the kubelet updates
 * when the ConfigMap changes) with the one its namenode last read, and on a change runs
 * `dfsadmin -refreshNodes` against its own namenode only (each namenode pod refreshes its own, the
 * active and the standby alike), until that succeeds. The namenode reads the file at its start, so
 * the file as it is when the sidecar starts counts as read.
 */
export function refreshNodesScript(log4jPath: string, krb5: string[] = []): string {
  // With Kerberos, dfsadmin logs in as the pod's principal (KRB5PRINCIPAL, KRB5KEYTAB: podEnv), the
  // superuser; it accepts the namenode's principal at 127.0.0.1 by the principal pattern.
  const opts = [...jvmHeapFromMemory(REFRESH_MEMORY), ...krb5, `-Dlog4j2.configurationFile=${log4jPath}`];
  const file = `${CONFIG_DIR}/${EXCLUDE_FILE}`;
  return [
    'set -u',
    ...(krb5.length > 0 ? serviceDirectoriesScript(opts) : []),
    `read_sum() { cksum < ${file} 2>/dev/null || echo none; }`,
    'last=$(read_sum)',
    'while true; do',
    `  sleep ${REFRESH_CHECK_SECONDS}`,
    '  now=$(read_sum)',
    '  [ "$now" = "$last" ] && continue',
    `  echo "keelson: ${file} changed; the namenode reads it again: $(tr '\\n' ' ' < ${file})"`,
    `  if ${java(RUN_DIR, opts, HDFS_MAIN_CLASSES.dfsadmin, ['-fs', `hdfs://127.0.0.1:${HDFS_PORTS.namenodeRpc}`, '-refreshNodes'])}; then`,
    '    last=$now',
    '  fi',
    'done',
  ].join('\n');
}

/**
 * The directories an HDFS with Kerberos makes for keelson's products, each owned by the user the
 * product's service principals map to (`hbase/<host>@REALM` → `hbase`, hdfsAuthToLocal): under
 * Kerberos a product is no longer the superuser, and `/` is the superuser's. The product gets its
 * directory and nothing more: no superuser group, no write access to `/`.
 */
export const HDFS_SERVICE_DIRECTORIES: Readonly<Record<string, string>> = {
  /** keelson's HBase keeps `hbase.rootdir` at `/hbase/<namespace>/<name>`. */
  '/hbase': 'hbase',
};

/**
 * Lines of the refresh sidecar with Kerberos: in the background, as the superuser (the pod's
 * `hdfs/…` principal), make each service directory and give it to its user, retrying until the
 * active namenode takes it (the client follows the nameservice to the active one); both namenodes'
 * sidecars do it, idempotently, at every start.
 */
function serviceDirectoriesScript(opts: readonly string[]): string[] {
  const steps = Object.entries(HDFS_SERVICE_DIRECTORIES).flatMap(([dir, owner]) => [
    java(RUN_DIR, opts, HDFS_MAIN_CLASSES.dfs, ['-mkdir', '-p', dir]),
    java(RUN_DIR, opts, HDFS_MAIN_CLASSES.dfs, ['-chown', `${owner}:${owner}`, dir]),
  ]);
  return [
    `( until ${steps.join(' && ')}; do sleep 30; done`,
    `  echo "keelson: service directories ready: ${Object.entries(HDFS_SERVICE_DIRECTORIES)
      .map(([dir, owner]) => `${dir} (${owner})`)
      .join(', ')}" ) &`,
  ];
}

/** Replaying a long edit log or scanning many blocks takes long: an hour before liveness counts. */
function tcpProbes(port: number): ReturnType<typeof tcpPortProbes> {
  return tcpPortProbes(port, 60);
}

/** Resources of the small JVM containers beside the main one. */
function smallContainerResources(memory: string) {
  return { requests: { cpu: '50m', memory }, limits: { cpu: '500m', memory } };
}

function defaults(memory: string, storage: string) {
  return (): ResolvedCommonConfig => ({
    resources: {
      cpu: { min: '250m', max: '1' },
      memory: { limit: memory },
      storage: { data: { capacity: storage } },
    },
    logging: {},
    gracefulShutdownTimeout: '2m',
  });
}

const FILE_FORMATS = {
  [CORE_SITE]: 'hadoop-xml',
  [HDFS_SITE]: 'hadoop-xml',
  [LOG4J2_FILE]: 'properties',
  [EXPORTER_FILE]: 'yaml',
} as const;

const common = {
  config: {},
  configMountPath: CONFIG_DIR,
  storageMounts: { data: DATA_DIR },
  // LOG_DIR: the structured log files (lib/logging).
  writableDirs: ['/tmp', LOG_DIR],
  jvm: { arguments: ['-XX:+UseG1GC', '-XX:+ExitOnOutOfMemoryError', '-Djava.net.preferIPv4Stack=true'] },
  maxUnavailable: 1,
  configFiles: FILE_FORMATS,
  // The web ports (namenode 9870, journalnode 8480, datanode 9864) speak HTTPS only with server TLS
  // (hdfsSite). The key store is built once, at start (storesScript): the operator restarts a pod
  // before the certificate it started with expires, and after a new CA of the class is published.
  tls: ['server'] as const,
  certificateReload: { server: 'restart' } as const,
};

function files(
  stacklet: StackletContext,
  rg: HdfsRoleGroup,
  role: HdfsRole,
  core = daemonCoreSite(stacklet),
) {
  return {
    [CORE_SITE]: core,
    [HDFS_SITE]: hdfsSite(stacklet, role, rg),
    [LOG4J2_FILE]: log4j2Config(containerLogging(rg.config.logging, CONTAINER), CONSOLE_PATTERN),
    [EXPORTER_FILE]: hdfsExporterConfig(),
  };
}

/** A journalnode's or datanode's pod: its daemon on the role group's files as they are. */
function simplePod(
  stacklet: StackletContext,
  rg: HdfsRoleGroup,
  role: HdfsRole,
  mainClass: string,
  port: number,
) {
  const log = logConfig(rg);
  const listener = role === 'datanodes' ? rg.listener : undefined;
  const kerberos = hdfsKerberos(stacklet, rg);
  const krb5 = krb5JvmArguments(stacklet);
  return {
    container: {
      command: [
        '/bin/bash',
        '-c',
        listener
          ? datanodeListenerScript(rg, mainClass, krb5)
          : daemonScript(rg, CONFIG_DIR, mainClass, krb5),
      ],
      env: [...podEnv(stacklet, rg), { name: 'HADOOP_CONF_DIR', value: CONFIG_DIR }],
      volumeMounts: [...log.volumeMounts, ...(kerberos?.mounts ?? [])],
      // A datanode of an external class listens for data on its nodePort: the IPC port stays put.
      ...tcpProbes(listener ? HDFS_PORTS.datanodeIpc : port),
    },
    // A kerberos class: the keytab of the pod's principals, written before the daemon starts.
    initContainers: kerberos ? [kerberos.initContainer] : undefined,
    configFiles: files(stacklet, rg, role),
    extraFiles: { ...sslFiles(rg.tls), ...(kerberos?.files ?? {}) },
    // Log4j 2 checks its file (monitorInterval) and applies a level change by itself: no roll.
    reloadedFiles: [LOG4J2_FILE],
    volumes: [...log.volumes, ...(kerberos?.volumes ?? [])],
  };
}

/** The HDFS product, as the framework and the operator see it. */
export const HDFS: ProductDefinition<HdfsSpec> = {
  name: 'hdfs',
  kind: 'HdfsCluster',
  plural: 'hdfsclusters',
  shortNames: ['hdfs'],
  description: 'An HDFS: namenodes with automatic failover through ZooKeeper, journalnodes and datanodes.',
  specSchema: HdfsSpecSchema,
  monitoring: HDFS_MONITORING,
  images: {
    repository: HDFS_IMAGE_REPOSITORY,
    versions: HDFS_IMAGE_TAGS,
    defaultVersion: '3.4.2',
  },
  roles: [
    defineRole({
      ...common,
      name: 'namenodes',
      defaultReplicas: 2,
      defaults: defaults('1Gi', '2Gi'),
      // The run directory holds the pod's own config, written by its init container.
      writableDirs: ['/tmp', RUN_DIR, LOG_DIR],
      configFiles: { ...FILE_FORMATS, [ZKFC_LOG4J2_FILE]: 'properties' },
      ports: [
        { name: 'rpc', port: HDFS_PORTS.namenodeRpc, client: true },
        // The operator follows a datanode decommission in the active namenode's JMX here.
        { name: 'http', port: HDFS_PORTS.namenodeHttp, client: true, readByOperator: true },
        { name: 'zkfc', port: HDFS_PORTS.zkfc },
        { name: 'metrics', port: HDFS_PORTS.metrics },
      ],
      pod: (stacklet, rg) => {
        const log = logConfig(rg);
        // A kerberos class: the keytab init container runs first; every container of the pod
        // (the format init container's `-format` and `-bootstrapStandby` too) reads the keytab.
        const kerberos = hdfsKerberos(stacklet, rg);
        const krb5 = krb5JvmArguments(stacklet);
        const mounts = [
          { name: CONFIG_VOLUME, mountPath: CONFIG_DIR, readOnly: true },
          { name: writableVolumeName(RUN_DIR), mountPath: RUN_DIR },
          { name: writableVolumeName('/tmp'), mountPath: '/tmp' },
          { name: writableVolumeName(LOG_DIR), mountPath: LOG_DIR },
          ...log.volumeMounts,
          ...(kerberos?.mounts ?? []),
        ];
        const env = [...podEnv(stacklet, rg), { name: 'HADOOP_CONF_DIR', value: RUN_DIR }];
        return {
          container: {
            command: ['/bin/bash', '-c', daemonScript(rg, RUN_DIR, HDFS_MAIN_CLASSES.namenode, krb5)],
            env,
            volumeMounts: [...log.volumeMounts, ...(kerberos?.mounts ?? [])],
            ...tcpProbes(HDFS_PORTS.namenodeRpc),
          },
          initContainers: [
            ...(kerberos ? [kerberos.initContainer] : []),
            {
              name: FORMAT_CONTAINER,
              command: ['/bin/bash', '-c', formatScript(stacklet, log.path, rg.tls)],
              env,
              resources: smallContainerResources(FORMAT_MEMORY),
              volumeMounts: [
                ...mounts,
                { name: 'data', mountPath: DATA_DIR },
                // The framework mounts the certificate in the main container; the trust store needs it here.
                ...(rg.tls.server
                  ? [{ name: tlsVolumeName('server'), mountPath: rg.tls.server.dir, readOnly: true }]
                  : []),
              ],
            },
          ],
          sidecars: [
            {
              name: ZKFC_CONTAINER,
              command: ['/bin/bash', '-c', zkfcScript(ZKFC_LOG4J2_PATH, krb5)],
              env,
              resources: smallContainerResources(ZKFC_MEMORY),
              volumeMounts: mounts,
            },
            {
              name: REFRESH_CONTAINER,
              command: ['/bin/bash', '-c', refreshNodesScript(ZKFC_LOG4J2_PATH, krb5)],
              env,
              resources: smallContainerResources(REFRESH_MEMORY),
              volumeMounts: mounts,
            },
          ],
          // The failover controller writes its own structured file; the log agent ships it too.
          loggedSidecars: [ZKFC_CONTAINER],
          // The exclude file is read again through the refresh sidecar: no roll.
          extraFiles: {
            ...sslFiles(rg.tls),
            ...(kerberos?.files ?? {}),
            [EXCLUDE_FILE]: excludeFile(stacklet),
            ...(rackAwareness(stacklet) ? { [TOPOLOGY_SCRIPT]: topologyScript() } : {}),
          },
          // The operator writes each datanode's rack (lib/topology); the script reads it at each call.
          ...(rackAwareness(stacklet)
            ? {
                nodeTopology: {
                  key: TOPOLOGY_TABLE,
                  nodeLabels: rackAwareness(stacklet)!.nodeLabels,
                  role: 'datanodes',
                },
              }
            : {}),
          configFiles: {
            ...files(stacklet, rg, 'namenodes', namenodeCoreSite(stacklet)),
            [ZKFC_LOG4J2_FILE]: log4j2Config(
              containerLogging(rg.config.logging, ZKFC_CONTAINER),
              CONSOLE_PATTERN,
            ),
          },
          // Log4j 2 checks its files (monitorInterval) and applies a level change by itself: no roll.
          reloadedFiles: [LOG4J2_FILE, ZKFC_LOG4J2_FILE, EXCLUDE_FILE],
          volumes: [...log.volumes, ...(kerberos?.volumes ?? [])],
        };
      },
    }),
    defineRole({
      ...common,
      name: 'journalnodes',
      defaultReplicas: 3,
      defaults: defaults('512Mi', '1Gi'),
      ports: [
        { name: 'rpc', port: HDFS_PORTS.journalnodeRpc },
        { name: 'http', port: HDFS_PORTS.journalnodeHttp },
        { name: 'metrics', port: HDFS_PORTS.metrics },
      ],
      pod: (stacklet, rg) =>
        simplePod(stacklet, rg, 'journalnodes', HDFS_MAIN_CLASSES.journalnode, HDFS_PORTS.journalnodeRpc),
    }),
    defineRole({
      ...common,
      name: 'datanodes',
      defaultReplicas: 3,
      defaults: defaults('1Gi', '10Gi'),
      ports: [
        // Clients write and read blocks on the datanodes directly.
        { name: 'data', port: HDFS_PORTS.datanodeData, client: true },
        { name: 'http', port: HDFS_PORTS.datanodeHttp },
        { name: 'ipc', port: HDFS_PORTS.datanodeIpc },
        { name: 'metrics', port: HDFS_PORTS.metrics },
      ],
      // Clients read and write blocks at each datanode's own address: outside the cluster, that of an
      // external class. A datanode registers the ports it listens on, so it listens on its nodePorts.
      podListener: { ports: DATANODE_LISTENER_PORTS, bindsAdvertisedPort: true },
      pod: (stacklet, rg) =>
        simplePod(stacklet, rg, 'datanodes', HDFS_MAIN_CLASSES.datanode, HDFS_PORTS.datanodeData),
      // Under the operator, the leaving datanodes decommission before their pods go.
      scaleDown: DATANODE_DECOMMISSION,
    }),
  ],
  // Kerberos: every daemon and client logs in to the realm (RPC SASL, SPNEGO on the web ports).
  authenticationProviders: ['kerberos'],
  dependencies: (spec): Record<string, string> => {
    const name = spec.clusterConfig?.zookeeperConfigMapName;
    return name ? { 'spec.clusterConfig.zookeeperConfigMapName': name } : {};
  },
  validate: (stacklet) => {
    const problems: string[] = [];
    const name = stacklet.spec.clusterConfig?.zookeeperConfigMapName;
    problems.push(...zookeeperReferenceProblems(stacklet.dependencies, name, 'HDFS'));
    const count = (role: HdfsRole) => groupsOf(stacklet, role).reduce((n, rg) => n + rg.replicas, 0);
    const namenodes = count('namenodes');
    if (namenodes < 2) {
      // Every namenode is one of an HA nameservice (shared edit log, a failover controller each);
      // Hadoop runs no such nameservice with a single namenode, which would never start.
      problems.push(
        `spec.namenodes: ${namenodes} namenode${namenodes === 1 ? '' : 's'}; keelson runs HDFS' namenodes highly ` +
          'available, which Hadoop starts only with two or more: run 2',
      );
    }
    const journals = count('journalnodes');
    if (journals < 1 || journals % 2 === 0) {
      problems.push(
        `spec.journalnodes: ${journals} journalnodes; the edit log needs a majority of them, so run an odd number (3 or 5)`,
      );
    }
    if (count('datanodes') < 1) problems.push('spec.datanodes: an HDFS needs at least one datanode');
    const wanted = stacklet.spec.clusterConfig?.dfsReplication;
    if (wanted !== undefined && wanted > count('datanodes')) {
      problems.push(
        `spec.clusterConfig.dfsReplication: ${wanted} copies of each block need as many datanodes; there are ${count('datanodes')}`,
      );
    }
    const leaving = decommissionedDatanodes(stacklet);
    problems.push(...leaving.problems);
    const serving = count('datanodes') - leaving.pods.filter((p) => isRunning(stacklet, p.name)).length;
    if (leaving.problems.length === 0 && leaving.pods.length > 0 && serving < replication(stacklet)) {
      problems.push(
        `spec.clusterConfig.decommissionDatanodes: decommissioning ${leaving.pods.length} datanode(s) leaves ` +
          `${serving} in service, fewer than dfs.replication (${replication(stacklet)}): the namenodes would ` +
          'never finish; lower spec.clusterConfig.dfsReplication first',
      );
    }
    if (rackAwareness(stacklet) && !stacklet.builtByOperator) {
      problems.push(
        'spec.clusterConfig.rackAwareness: the datanodes’ racks come from their nodes’ labels, which the keelson ' +
          'operator writes for the namenodes; synth mode has no operator: remove rackAwareness, or let the ' +
          'operator reconcile the stacklet (write its custom resource)',
      );
    }
    problems.push(...tlsProblems(stacklet));
    problems.push(...kerberosProblems(stacklet));
    return problems;
  },
  discovery: (stacklet) => ({
    [HDFS_DISCOVERY_KEY]: fileSystemUri(stacklet),
    [CORE_SITE]: renderConfigFile('hadoop-xml', hdfsCoreSite(stacklet)),
    [HDFS_SITE]: renderConfigFile('hadoop-xml', clientHdfsSite(stacklet)),
    ...(stacklet.tls.server ? { [HDFS_TLS_DISCOVERY_KEY]: stacklet.tls.server.name } : {}),
    ...hdfsKerberosDiscovery(stacklet),
  }),
};

/** The discovery keys of a kerberos class: its realm and its name. */
function hdfsKerberosDiscovery(stacklet: StackletContext): Record<string, string> {
  const info = kerberosClassOf(stacklet.authentication);
  if (!info) return {};
  return {
    [HDFS_KERBEROS_REALM_DISCOVERY_KEY]: info.spec.kerberos.realm,
    [HDFS_KERBEROS_CLASS_DISCOVERY_KEY]: info.name,
  };
}

/**
 * What of `clusterConfig.authentication` HDFS cannot do: more than one kerberos class (each daemon
 * has one principal, of one realm), and Kerberos without server TLS — a secure datanode on
 * unprivileged ports must protect block transfer with SASL (`dfs.data.transfer.protection`) and
 * serve its web port over HTTPS only, or Hadoop refuses to start it.
 */
function kerberosProblems(stacklet: StackletContext<HdfsSpec>): string[] {
  const classes = stacklet.authentication.filter((c) => c.provider === 'kerberos');
  if (classes.length > 1) {
    return [
      'spec.clusterConfig.authentication: each HDFS daemon has one Kerberos principal, of one realm; name one ' +
        `kerberos AuthenticationClass, not ${classes.length} (${classes.map((c) => c.name).join(', ')})`,
    ];
  }
  if (classes.length === 1 && !stacklet.tls.server) {
    return [
      `spec.clusterConfig.authentication: Kerberos (the AuthenticationClass "${classes[0].name}") needs server ` +
        'TLS: secure datanodes on unprivileged ports protect block transfer with SASL and serve their web port ' +
        'over HTTPS only, or Hadoop refuses to start them; set spec.clusterConfig.tls.serverTlsClass (or create ' +
        'the TlsClass "tls")',
    ];
  }
  return [];
}

/**
 * What of `clusterConfig.tls` HDFS cannot do: internal TLS, and a cert-manager class's certificate
 * (one per role group) for datanodes each reached at an address outside the cluster.
 */
function tlsProblems(stacklet: StackletContext<HdfsSpec>): string[] {
  const problems: string[] = [];
  if (stacklet.spec.clusterConfig?.tls?.internalTlsClass !== undefined) {
    problems.push(
      'spec.clusterConfig.tls.internalTlsClass: keelson’s HDFS has no internal TLS. Its traffic between pods ' +
        'is Hadoop RPC (namenode 8020, journalnode 8485, failover controller 8019, datanode IPC 9867) and block ' +
        'transfer (9866), which Hadoop protects with SASL (hadoop.rpc.protection privacy, ' +
        'dfs.encrypt.data.transfer) under Kerberos, not with certificates; its web ports between pods follow ' +
        'the server class. Remove internalTlsClass',
    );
  }
  const server = stacklet.tls.server;
  const datanodesClass = stacklet.listenerClasses.datanodes;
  if (server?.certManagerIssuer && datanodesClass && datanodesClass.spec.serviceType !== 'ClusterIP') {
    problems.push(
      `spec.datanodes.roleConfig.listenerClass: the ListenerClass "${datanodesClass.name}" reaches each datanode ` +
        `at an address outside the cluster, which a certificate of the cert-manager TlsClass "${server.name}" ` +
        '(one per role group) cannot name, so a WebHDFS client over HTTPS would refuse it: name a ClusterIP ' +
        'class, or a keelsonCa or secretCa class as the server class (spec.clusterConfig.tls.serverTlsClass), ' +
        'whose pod certificates do',
    );
  }
  return problems;
}

/** Props of an HdfsCluster in synth mode: the custom resource's spec plus a typed ZooKeeper. */
export interface HdfsClusterProps extends HdfsSpec {
  /**
   * The ZookeeperZnode (best: a chroot of its own) or ZookeeperCluster of the failover controllers.
   * @default - `clusterConfig.zookeeperConfigMapName`
   */
  readonly zookeeper?: IStacklet;
}

/**
 * An HDFS. Its discovery ConfigMap (named like it) holds `HDFS` (`hdfs://<name>`) and the client
 * files `core-site.xml` and `hdfs-site.xml`.
 */
export class HdfsCluster extends Stacklet<HdfsSpec> {
  /** `hdfs://<name>`, the file system's URI for clients with the discovery's config files. */
  public readonly fileSystemUri: string;

  constructor(scope: Construct, id: string, props: HdfsClusterProps = {}, options: StackletOptions = {}) {
    const { zookeeper, ...spec } = props;
    const withRef: HdfsSpec = zookeeper
      ? {
          ...spec,
          clusterConfig: { ...spec.clusterConfig, zookeeperConfigMapName: zookeeper.discoveryConfigMapName },
        }
      : spec;
    super(scope, id, HDFS, withRef, {
      ...options,
      dependencies: {
        ...options.dependencies,
        ...(zookeeper ? { [zookeeper.discoveryConfigMapName]: zookeeper.discoveryData } : {}),
      },
    });
    zookeeper?.addAllowedClient(this);
    this.fileSystemUri = this.discoveryData[HDFS_DISCOVERY_KEY];
  }
}
