/**
 * ZooKeeper: one role, `servers`, whose role groups together form one ensemble.
 *
 * The image is the Docker Official Image `zookeeper` (docker.io/library/zookeeper, built from
 * github.com/31z4/zookeeper-docker; checked for 3.9.3 and 3.9.4) or keelson's own build of
 * it (`image.ts`, same layout): the distribution lives in `/apache-zookeeper-<version>-bin` with its
 * jars in `lib/`, the config is read from `/conf`, data is kept in `/data` and logs in `/logs`, and
 * the image ships `bash` and `nc`. keelson replaces the image's entrypoint (which only writes a
 * `zoo.cfg` and `myid` from variables, and switches users when started as root): it mounts its own
 * `/conf`, writes `myid` itself and starts the server with `java` and an explicit classpath
 * (`lib/*` and `/conf`, where logback finds keelson's `logback.xml`) as a non-root user above 10000
 * (the image's own user is 1000), so it depends on no script of the release tarball.
 */
import { Type } from '@sinclair/typebox';
import type { Construct } from 'constructs';
import {
  defaultIdOffset,
  defineRole,
  startupProbe,
  ordinalIdProblems,
  containerLogging,
  LOG_DIR as STRUCTURED_LOG_DIR,
  logbackConfig,
  logConfigLocation,
  Stacklet,
  stackletSpecSchema,
  type OrdinalIdScheme,
  type StackletOptions,
  type ProductDefinition,
  type ResolvedCommonConfig,
  type ResolvedRoleGroup,
  type RoleGroupTls,
  type StackletContext,
  type TlsFiles,
  tlsTrustFile,
  tlsTrustVolumes,
} from '../../lib';

/** The ports of a ZooKeeper server. */
export const ZOOKEEPER_PORTS = {
  /** Clients connect here. */
  client: 2181,
  /** Followers connect to the leader here. */
  peer: 2888,
  /** Servers elect the leader here. */
  leaderElection: 3888,
  /** The Prometheus metrics provider serves `/metrics` here. */
  metrics: 7000,
} as const;

/** The keys of a ZooKeeper discovery ConfigMap (a cluster's or a ZNode's). */
export const ZOOKEEPER_DISCOVERY_KEYS = {
  /** The connection string with the chroot: `host:2181,host:2181/znode-…`. */
  connectString: 'ZOOKEEPER',
  /** The servers without a chroot: `host:2181,host:2181`. */
  hosts: 'ZOOKEEPER_HOSTS',
  clientPort: 'ZOOKEEPER_CLIENT_PORT',
  /** The chroot: `/` for a cluster, `/znode-…` for a ZNode. */
  chroot: 'ZOOKEEPER_CHROOT',
  /**
   * Present only when the client port speaks TLS: the TlsClass whose CA (its ClusterTrustBundles,
   * signer `keelson.dev/<class>`) a client trusts. Absent means plaintext.
   */
  tlsClass: 'ZOOKEEPER_TLS_CLASS',
  /**
   * Present only when the client port asks every client for a certificate (a `tls`
   * AuthenticationClass): the TlsClass whose CAs must have signed it. Absent: no client certificate.
   */
  clientCertificateClass: 'ZOOKEEPER_CLIENT_CERTIFICATE_CLASS',
} as const;

/** Where each piece lives inside the pod. */
const CONFIG_DIR = '/conf';
const DATA_DIR = '/data';
const LOG_DIR = '/logs';

/**
 * Server ids (`myid`): ZooKeeper wants them unique in the ensemble and, where TTL nodes are used,
 * within 1-254. By default each role group gets a block of 10 ids chosen by its name.
 */
export const MYID_SCHEME: OrdinalIdScheme = { first: 1, stride: 10, slots: 25, max: 254 };

const serverConfig = {
  myidOffset: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 254,
      description:
        "The myid of the role group's first pod; pod N gets myidOffset + N. Role groups' ids must not overlap. " +
        '@default - a block of 10 ids derived from the role group name',
    }),
  ),
};

export const ZookeeperSpecSchema = stackletSpecSchema({
  description: 'A ZooKeeper ensemble.',
  clusterConfig: {},
  roles: {
    servers: { config: serverConfig, configFiles: ['zoo.cfg'], jvm: true },
  },
});
/** The spec of a ZookeeperCluster. */
import type { ZookeeperSpec } from './spec.generated';
import { ZOOKEEPER_MONITORING } from './monitoring';
export type { ZookeeperSpec };

/** A server role group's config after defaults were merged in. */
export interface ZookeeperServerConfig extends ResolvedCommonConfig {
  readonly myidOffset: number;
}

function servers(stacklet: StackletContext): ResolvedRoleGroup<ZookeeperServerConfig>[] {
  return stacklet.roleGroups.filter(
    (rg) => rg.role === 'servers',
  ) as ResolvedRoleGroup<ZookeeperServerConfig>[];
}

/**
 * `server.<myid>=<address>:2888:3888;2181` for every server of every role group. With server TLS
 * the `;2181` is left out: ZooKeeper opens a plaintext client port at a server line's client
 * address (QuorumPeerConfig takes it as `clientPortAddress`), and the TLS port is
 * `secureClientPort`, which a server line cannot name.
 */
export function serverList(stacklet: StackletContext): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const rg of servers(stacklet)) {
    const client = rg.tls.server ? '' : `;${ZOOKEEPER_PORTS.client}`;
    rg.podAddresses.forEach((address, ordinal) => {
      entries[`server.${rg.config.myidOffset + ordinal}`] =
        `${address}:${ZOOKEEPER_PORTS.peer}:${ZOOKEEPER_PORTS.leaderElection}${client}`;
    });
  }
  return entries;
}

/**
 * zoo.cfg's client port and TLS keys for the files of keelson's mount contract (lib/tls). ZooKeeper
 * 3.9 reads PEM directly: `ssl*.keyStore.type=PEM` takes one file holding the PKCS#8 key and the
 * chain (`tls.pem`), `ssl*.trustStore.type=PEM` every certificate in `ca.crt`. Keys ZooKeeper's
 * config parser does not know (`ssl.*`, `serverCnxnFactory`, `fips-mode`) become `zookeeper.<key>`
 * system properties, which is where its TLS code reads them.
 *
 * - Server TLS: the client port 2181 is `secureClientPort` and there is no `clientPort`, so nothing
 *   listens in plaintext. It needs the Netty connection factory (the NIO one has no TLS). Clients
 *   are not asked for a certificate (`ssl.clientAuth=none`) unless a `tls` AuthenticationClass
 *   asks for one (`clientTrust`, the file of its CAs; {@link clientCertificateCfg}): server TLS
 *   encrypts and proves the server; client certificates are authentication, a separate concern. Netty builds the TLS
 *   context from the files for every new connection, so a renewed certificate is served without a
 *   restart.
 * - Internal TLS: the quorum (2888, 3888) is TLS only (`sslQuorum=true`, `portUnification=false`)
 *   with mutual authentication (ZooKeeper's default `ssl.quorum.clientAuth=need`): a peer must
 *   present a certificate of the internal class. A server checks the name of the peer it connects
 *   to against that peer's certificate (the `server.<myid>` address, the pod's DNS name). That
 *   check runs only in ZooKeeper's own trust manager, which 3.9 replaces by the JDK's when
 *   `fips-mode` is true (its default), so keelson sets `fips-mode=false`; the check of the
 *   connecting peer's name (`ssl.quorum.clientHostnameVerification`) is off, because it needs a
 *   reverse DNS lookup of the peer's IP whose answer depends on the cluster's DNS.
 */
export function zooCfgTls(tls: RoleGroupTls, clientTrust?: string): Record<string, string> {
  const cfg: Record<string, string> = {};
  if (tls.server) {
    Object.assign(cfg, {
      secureClientPort: String(ZOOKEEPER_PORTS.client),
      serverCnxnFactory: 'org.apache.zookeeper.server.NettyServerCnxnFactory',
      'ssl.keyStore.location': tls.server.bundle,
      'ssl.keyStore.type': 'PEM',
      'ssl.trustStore.location': clientTrust ?? tls.server.trust,
      'ssl.trustStore.type': 'PEM',
      ...(clientTrust ? clientCertificateCfg() : { 'ssl.clientAuth': 'none' }),
    });
  } else {
    cfg.clientPort = String(ZOOKEEPER_PORTS.client);
  }
  if (tls.internal) {
    Object.assign(cfg, {
      sslQuorum: 'true',
      portUnification: 'false',
      'ssl.quorum.keyStore.location': tls.internal.bundle,
      'ssl.quorum.keyStore.type': 'PEM',
      'ssl.quorum.trustStore.location': tls.internal.trust,
      'ssl.quorum.trustStore.type': 'PEM',
      'ssl.quorum.hostnameVerification': 'true',
      'ssl.quorum.clientHostnameVerification': 'false',
      'fips-mode': 'false',
    });
  }
  return cfg;
}

/**
 * With a `tls` AuthenticationClass the client port asks every client for a certificate signed by
 * one of the class's CAs (`ssl.trustStore`, which then holds the class's CAs instead of the
 * server's) and refuses the handshake without one (`ssl.clientAuth=need`). ZooKeeper then hands
 * the verified chain to its x509 authentication provider, which must be registered for that
 * (`authProvider.x509`); it makes the certificate's subject the session's `x509` identity, which
 * znode ACLs can name. A client certificate names a user, not a host: the check of the client's
 * address against it (`ssl.clientHostnameVerification`, on by default with `fips-mode=false`,
 * which internal TLS sets) would need a reverse DNS lookup of the client's IP, so it is off.
 */
function clientCertificateCfg(): Record<string, string> {
  return {
    'ssl.clientAuth': 'need',
    'ssl.clientHostnameVerification': 'false',
    'authProvider.x509': 'org.apache.zookeeper.server.auth.X509AuthenticationProvider',
  };
}

/** The TlsClass whose CAs sign the client certificates the servers accept, from a tls AuthenticationClass. */
export function clientCertificateClass(stacklet: StackletContext): string | undefined {
  return stacklet.authentication.find((c) => c.provider === 'tls')?.spec.tls?.tlsClass;
}

/**
 * What a server needs for client certificates: the file of the CAs it accepts (its server trust
 * bundle when the class is the server class, its internal one when it is the internal class, else
 * that class's bundle mounted as a client's: `mounted`), and the pod's own certificate its probe
 * shows (`probe`): one of the server's or the internal class when either is the client class.
 */
function clientCertificates(
  stacklet: StackletContext,
  tls: RoleGroupTls,
): { trust: string; mounted?: string; probe?: TlsFiles } | undefined {
  const tlsClass = clientCertificateClass(stacklet);
  if (tlsClass === undefined || !tls.server) return undefined;
  if (stacklet.tls.server?.name === tlsClass) return { trust: tls.server.trust, probe: tls.server };
  if (stacklet.tls.internal?.name === tlsClass && tls.internal)
    return { trust: tls.internal.trust, probe: tls.internal };
  return { trust: tlsTrustFile(tlsClass), mounted: tlsClass };
}

/** ZooKeeper maps one tls AuthenticationClass, onto a client port that speaks TLS. */
function clientAuthenticationProblems(stacklet: StackletContext): string[] {
  const tlsClasses = stacklet.authentication.filter((c) => c.provider === 'tls');
  if (tlsClasses.length === 0) return [];
  const problems: string[] = [];
  if (tlsClasses.length > 1) {
    problems.push(
      'spec.clusterConfig.authentication: ZooKeeper checks client certificates against one TlsClass; name one ' +
        `tls AuthenticationClass, not ${tlsClasses.length} (${tlsClasses.map((c) => c.name).join(', ')})`,
    );
  }
  const first = tlsClasses[0];
  if (!stacklet.tls.server) {
    problems.push(
      `spec.clusterConfig.authentication: the AuthenticationClass "${first.name}" asks clients for a ` +
        "certificate, which needs the servers' client port on TLS: set spec.clusterConfig.tls.serverTlsClass " +
        '(or create the default TlsClass "tls")',
    );
    return problems;
  }
  const tlsClass = first.spec.tls?.tlsClass;
  if (tlsClass !== stacklet.tls.server.name && tlsClass !== stacklet.tls.internal?.name) {
    problems.push(
      `spec.clusterConfig.authentication: the AuthenticationClass "${first.name}" accepts certificates of the ` +
        `TlsClass "${tlsClass}", but the servers' own probe (srvr and ruok on the client port) shows the pod's ` +
        `certificate, which is of the server class "${stacklet.tls.server.name}"` +
        (stacklet.tls.internal ? ` or the internal class "${stacklet.tls.internal.name}"` : '') +
        ': give the AuthenticationClass one of those TlsClasses',
    );
  }
  return problems;
}

/**
 * A four-letter word sent to the server's own client port, its answer on stdout: `nc` in
 * plaintext, `openssl s_client` over TLS (`-quiet` waits for the server to close the connection,
 * as ZooKeeper does after answering). The probe trusts no CA: it asks the server for its state,
 * the certificate's validity is the clients' check. When the port asks for a client certificate
 * the probe shows the pod's own (`clientCertificate`: key and chain in one file).
 */
function fourLetterWord(word: string, tls: RoleGroupTls, clientCertificate?: TlsFiles): string {
  const port = ZOOKEEPER_PORTS.client;
  const cert = clientCertificate ? ` -cert ${clientCertificate.bundle} -key ${clientCertificate.bundle}` : '';
  return tls.server
    ? `echo ${word} | openssl s_client -connect 127.0.0.1:${port}${cert} -quiet 2>/dev/null`
    : `echo ${word} | nc 127.0.0.1 ${port}`;
}

/**
 * How long a server may take to join a quorum after it starts (loading a large snapshot, or waiting
 * for a majority to come back) before the kubelet restarts it.
 */
const STARTUP_MINUTES = 30;

/** The container whose levels `config.logging.containers` sets. */
const CONTAINER = 'zookeeper';
/** keelson's logback config, in the role group's ConfigMap. */
const LOGBACK_FILE = 'logback.xml';

/** The main class of a ZooKeeper server (a quorum peer; it also runs a single server). */
export const ZOOKEEPER_SERVER_MAIN = 'org.apache.zookeeper.server.quorum.QuorumPeerMain';

/** The distribution folder of a version in the image (upstream's layout). */
export function zookeeperDistDir(version: string): string {
  return `/apache-zookeeper-${version}-bin`;
}

/**
 * The server's start: the pod's ordinal (the suffix of its StatefulSet pod name) plus the role
 * group's offset is its `myid`, written on the data volume before ZooKeeper reads it; then the
 * JVM runs the server with the distribution's jars and `/conf` on the classpath and logback's
 * config at `logbackPath` (keelson's `logback.xml` or the user's own). `SERVER_JVMFLAGS` (keelson's
 * heap and JVM arguments) is split into words as zkServer.sh does.
 */
function startScript(myidOffset: number, productVersion: string, logbackPath: string): string {
  return [
    'set -eu',
    'ordinal="${POD_NAME##*-}"',
    `echo "$((ordinal + ${myidOffset}))" > ${DATA_DIR}/myid`,
    `exec java $SERVER_JVMFLAGS -Dlogback.configurationFile=${logbackPath} -cp "${zookeeperDistDir(productVersion)}/lib/*:${CONFIG_DIR}" ${ZOOKEEPER_SERVER_MAIN} ${CONFIG_DIR}/zoo.cfg`,
  ].join('\n');
}

/** The ZooKeeper product, as the framework and the operator see it. */
export const ZOOKEEPER: ProductDefinition<ZookeeperSpec> = {
  name: 'zookeeper',
  kind: 'ZookeeperCluster',
  plural: 'zookeeperclusters',
  shortNames: ['zk'],
  description: 'A ZooKeeper ensemble: one role, servers, whose role groups form one ensemble.',
  specSchema: ZookeeperSpecSchema,
  monitoring: ZOOKEEPER_MONITORING,
  images: {
    repository: 'docker.io/library/zookeeper',
    versions: { '3.9.3': '3.9.3', '3.9.4': '3.9.4' },
    defaultVersion: '3.9.4',
  },
  roles: [
    defineRole<ZookeeperServerConfig>({
      name: 'servers',
      config: serverConfig,
      defaultReplicas: 3,
      defaults: (_stacklet, roleGroup) => ({
        resources: {
          cpu: { min: '250m', max: '1' },
          memory: { limit: '1Gi' },
          storage: { data: { capacity: '2Gi' } },
        },
        logging: {},
        gracefulShutdownTimeout: '2m',
        myidOffset: defaultIdOffset(MYID_SCHEME, 'servers', roleGroup),
      }),
      ports: [
        { name: 'client', port: ZOOKEEPER_PORTS.client, client: true },
        { name: 'peer', port: ZOOKEEPER_PORTS.peer },
        { name: 'election', port: ZOOKEEPER_PORTS.leaderElection },
        { name: 'metrics', port: ZOOKEEPER_PORTS.metrics },
      ],
      configFiles: { 'zoo.cfg': 'properties' },
      configMountPath: CONFIG_DIR,
      storageMounts: { data: DATA_DIR },
      writableDirs: ['/tmp', LOG_DIR, STRUCTURED_LOG_DIR],
      jvm: { arguments: ['-XX:+ExitOnOutOfMemoryError'] },
      // Losing one server of three keeps the quorum; losing two does not.
      maxUnavailable: 1,
      // zoo.cfg lists every server (`server.<myid>`, static membership): the operator changes the
      // ensemble's members only while it is stopped (lib/operator/quorum.ts says why).
      quorum: true,
      // Server TLS on the client port, internal TLS on the quorum ports (zooCfgTls).
      tls: ['server', 'internal'],
      // The client port's Netty server builds its TLS context from the files for each new
      // connection; the quorum keeps what it loaded at start (sslQuorumReloadCertFiles waits for a
      // file event naming tls.pem, which a projected volume's `..data` symlink swap never sends).
      certificateReload: { server: 'files', internal: 'restart' },
      pod: (stacklet, rg) => {
        const logging = containerLogging(rg.config.logging, CONTAINER);
        const logConfig = logConfigLocation(logging, CONFIG_DIR, LOGBACK_FILE);
        const clients = clientCertificates(stacklet, rg.tls);
        const clientTrust = tlsTrustVolumes(clients?.mounted ? [clients.mounted] : []);
        const inQuorum = {
          exec: {
            command: [
              '/bin/bash',
              '-c',
              `${fourLetterWord('srvr', rg.tls, clients?.probe)} | grep -q '^Mode:'`,
            ],
          },
          initialDelaySeconds: 5,
          timeoutSeconds: 5,
        };
        return {
          container: {
            command: [
              '/bin/bash',
              '-c',
              startScript(rg.config.myidOffset, stacklet.image.productVersion, logConfig.path),
            ],
            volumeMounts: [...(logConfig.volumeMounts ?? []), ...clientTrust.mounts],
            env: [
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              // ZooKeeper's name for the server's JVM flags (zkServer.sh's too); the start script expands it.
              { name: 'SERVER_JVMFLAGS', value: rg.jvmArguments.join(' ') },
              { name: 'ZOOCFGDIR', value: CONFIG_DIR },
              { name: 'ZOO_LOG_DIR', value: LOG_DIR },
            ],
            // A server is ready once it serves clients, i.e. it is in a quorum (`srvr` then reports a
            // Mode). Until its first success the startup probe asks every 5 s: a server joins a few
            // seconds after it starts, and a rolling restart waits for that server after server.
            // Afterwards readiness asks every 10 s, as Kubernetes does by default: each ask is an exec
            // through the container runtime, which costs far more CPU than the question.
            startupProbe: startupProbe(inQuorum, STARTUP_MINUTES),
            readinessProbe: { ...inQuorum, periodSeconds: 10 },
            // Alive while it answers on the client port. Over TLS a bare TCP connect would make the
            // server log an unsuccessful handshake at ERROR on every probe, so it asks `ruok` instead.
            livenessProbe: rg.tls.server
              ? {
                  exec: {
                    command: [
                      '/bin/bash',
                      '-c',
                      `${fourLetterWord('ruok', rg.tls, clients?.probe)} | grep -q '^imok'`,
                    ],
                  },
                  initialDelaySeconds: 30,
                  periodSeconds: 10,
                  timeoutSeconds: 5,
                }
              : {
                  tcpSocket: { port: ZOOKEEPER_PORTS.client as never },
                  initialDelaySeconds: 30,
                  periodSeconds: 10,
                },
          },
          configFiles: {
            'zoo.cfg': {
              tickTime: '2000',
              initLimit: '10',
              syncLimit: '5',
              dataDir: DATA_DIR,
              ...zooCfgTls(rg.tls, clients?.trust),
              // Bind the quorum ports on every interface: a pod's own DNS name may not resolve to it yet.
              quorumListenOnAllIPs: 'true',
              'autopurge.snapRetainCount': '3',
              'autopurge.purgeInterval': '1',
              '4lw.commands.whitelist': 'srvr,ruok,mntr,conf',
              'admin.enableServer': 'false',
              'metricsProvider.className':
                'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider',
              'metricsProvider.httpPort': String(ZOOKEEPER_PORTS.metrics),
              ...serverList(stacklet),
            },
          },
          // A file of its own (not a key/value config file): it has two appenders with levels of their
          // own, which config.logging sets.
          extraFiles: logging.customConfigMap ? undefined : { [LOGBACK_FILE]: logbackConfig(logging) },
          // logback scans it and applies a level change by itself: no roll.
          reloadedFiles: [LOGBACK_FILE],
          volumes: [...(logConfig.volumes ?? []), ...clientTrust.volumes],
        };
      },
    }),
  ],
  // Clients prove who they are with a certificate of the class's TlsClass (mutual TLS on 2181).
  authenticationProviders: ['tls'],
  validate: (stacklet) => [
    ...clientAuthenticationProblems(stacklet),
    ...ordinalIdProblems(
      MYID_SCHEME,
      servers(stacklet).map((rg) => ({
        path: `spec.servers.roleGroups.${rg.roleGroup}.config.myidOffset`,
        offset: rg.config.myidOffset,
        replicas: rg.replicas,
      })),
    ),
  ],
  discovery: (stacklet) => {
    const hosts = servers(stacklet)
      .flatMap((rg) => rg.podAddresses.map((a) => `${a}:${ZOOKEEPER_PORTS.client}`))
      .join(',');
    const server = stacklet.tls.server?.name;
    return zookeeperDiscovery(hosts, '/', server, server ? clientCertificateClass(stacklet) : undefined);
  },
};

/**
 * The discovery data of a ZooKeeper connection: a cluster's (chroot `/`) or a ZNode's, with
 * `ZOOKEEPER_TLS_CLASS` when the client port speaks TLS and `ZOOKEEPER_CLIENT_CERTIFICATE_CLASS`
 * when it asks every client for a certificate of that TlsClass.
 */
export function zookeeperDiscovery(
  hosts: string,
  chroot: string,
  tlsClass?: string,
  clientCertificateClass?: string,
): Record<string, string> {
  return {
    [ZOOKEEPER_DISCOVERY_KEYS.connectString]: chroot === '/' ? hosts : `${hosts}${chroot}`,
    [ZOOKEEPER_DISCOVERY_KEYS.hosts]: hosts,
    [ZOOKEEPER_DISCOVERY_KEYS.clientPort]: String(ZOOKEEPER_PORTS.client),
    [ZOOKEEPER_DISCOVERY_KEYS.chroot]: chroot,
    ...(tlsClass ? { [ZOOKEEPER_DISCOVERY_KEYS.tlsClass]: tlsClass } : {}),
    ...(clientCertificateClass
      ? { [ZOOKEEPER_DISCOVERY_KEYS.clientCertificateClass]: clientCertificateClass }
      : {}),
  };
}

/** A ZookeeperCluster: the props are the custom resource's spec. */
export type ZookeeperClusterProps = ZookeeperSpec;

/**
 * A ZooKeeper ensemble. An even number of servers is accepted (scaling 3 → 5 passes through 4),
 * though it tolerates no more failures than one server fewer. Its discovery ConfigMap (named like it) holds the connection string under
 * `ZOOKEEPER`, `ZOOKEEPER_HOSTS`, `ZOOKEEPER_CLIENT_PORT` and `ZOOKEEPER_CHROOT` (`/`); give each
 * consumer a `ZookeeperZnode` of its own rather than the whole ensemble.
 */
export class ZookeeperCluster extends Stacklet<ZookeeperSpec> {
  /** The servers' `host:port` list. */
  public readonly hosts: string;

  constructor(
    scope: Construct,
    id: string,
    props: ZookeeperClusterProps = {},
    options: StackletOptions = {},
  ) {
    super(scope, id, ZOOKEEPER, props, options);
    this.hosts = this.discoveryData[ZOOKEEPER_DISCOVERY_KEYS.hosts];
  }
}
