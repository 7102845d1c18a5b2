/**
 * Trino: a coordinator that plans queries and workers that run them, with the catalogs the
 * cluster selects (`clusterConfig.catalogLabelSelector`, see `TrinoCatalog`).
 *
 * The image is `trinodb/trino` (docker.io/trinodb/trino, built from core/docker in the Trino
 * repository; checked for 455–476): the server in `/usr/lib/trino` (`bin/launcher`), its default
 * config in `/etc/trino`, data in `/data/trino`, running as `trino` (uid 1000), with `curl`.
 * keelson replaces the image's `run-trino` (which only adds a node id): it runs
 * `launcher run --etc-dir=/keelson/config` with the node id set to the pod's name, reading catalogs
 * from `/keelson/catalog`, as a non-root user above 10000.
 *
 * The internal shared secret (`internal-communication.shared-secret`), which every node must
 * share, is read from the Secret `clusterConfig.internalSecretName` (key `internalSharedSecret`)
 * as an environment variable. keelson never puts it in a synthesized object: a random value would
 * change at every synth (and every reconcile) and roll the cluster. Create the Secret once
 * yourself, in either mode
 * (`kubectl create secret generic <name>-internal-secret --from-literal=internalSharedSecret=$(openssl rand -hex 32)`);
 * the pods do not start before it exists, and keelson never changes it.
 *
 * TLS (`clusterConfig.tls`, lib/tls): Trino serves clients and its own nodes on one port, so a pod
 * has one listener and one certificate. When either use is on, port 8080 speaks HTTPS only
 * (`http-server.http.enabled=false`), with the PEM key and chain of keelson's mount contract as
 * `http-server.https.keystore.path` (the server certificate when server TLS is on, the internal
 * one otherwise), and the nodes talk to each other over HTTPS too
 * (`internal-communication.https.required`, which Trino allows only with the shared secret above),
 * verifying each peer's certificate and name against `ca.crt` of the same use: each node announces
 * its stable DNS name (`node.internal-address`) instead of its IP, which no certificate names.
 * airlift checks the key and trust files every minute (`http-server.https.ssl-context.refresh-time`)
 * and reloads them when they change, so a renewed pod certificate needs no restart. The nodes'
 * internal HTTP client reads its trust only at start, so a new CA of the class (a `keelsonCa`
 * rotation, a `secretCa` switch) restarts them, one at a time (`trustReload`, lib/operator).
 */
import { Type } from '@sinclair/typebox';
import type { EnvVar } from '../../imports/k8s-wire';
import type { Construct } from 'constructs';
import {
  CLOSED,
  opaAuthorizationSchema,
  opaDependencies,
  opaReferenceProblems,
  opaRuleUrl,
  type OpaReference,
  defineRole,
  jmxExporterAgentArgument,
  METRICS_PORT_NAME,
  jvmHeapMiB,
  matchesLabelSelector,
  parseDurationSeconds,
  renderProperties,
  airliftLevels,
  airliftLogSettings,
  containerLogging,
  LOG_DIR,
  logConfigLocation,
  Stacklet,
  stackletSpecSchema,
  type LabelSelector,
  type ObjectReference,
  type ProductDefinition,
  type ReferencedObject,
  type ResolvedCommonConfig,
  type ResolvedReferences,
  type ResolvedRoleGroup,
  type StackletContext,
  type StackletOptions,
  type RoleGroupTls,
  type TlsClassInfo,
  type TlsFiles,
  tlsTrustVolumes,
  type IStacklet,
  startupProbe,
  kerberosClassOf,
  kerberosPodParts,
  type KerberosPodParts,
} from '../../lib';
import {
  catalogDependencies,
  catalogKerberosClass,
  catalogMetastorePath,
  catalogProblems,
  catalogReferences,
  KERBEROS_PRINCIPAL_ENV,
  renderCatalog,
  TRINO_CATALOG_KIND,
  type TrinoCatalog,
  type TrinoCatalogSpec,
} from './catalog';
import {
  TRINO_AUTHENTICATION_PROVIDERS,
  trinoAuthentication,
  trinoAuthenticationProblems,
} from './authentication';

/** Trino's HTTP port (clients, the coordinator and workers). */
export const TRINO_HTTP_PORT = 8080;

/**
 * The Prometheus JMX exporter agent serves every node's metrics at `/metrics` here. Trino's own
 * `/metrics` is on its client port, behind the same authentication as queries; a port of its own
 * can be opened to scrapers (the NetworkPolicy admits any namespace on metrics ports) without
 * opening the query API.
 */
export const TRINO_METRICS_PORT = 9404;

/** The exporter's rules (trinoExporterConfig). */
const EXPORTER_FILE = 'jmx-exporter.yaml';

/**
 * The exporter's rules: Trino's MBeans (domains `trino.*`) with a `name` key become
 * `trino_<domain>_<name>_<attribute>` (a `CounterStat`'s `TotalCount` as `…_total`, e.g.
 * `trino_execution_querymanager_completedqueries_total`), those with `type` and `name` keys
 * `trino_<domain>_<type>_<attribute>` with a `name` label (memory pools); lower case, dots as `_`.
 * The agent adds its JVM metrics; other MBeans are left out. The exporter matches each rule
 * within `domain<keys><>attribute: value`; the `: ` ends the attribute, so that a `CounterStat`'s
 * dotted attributes (`CompletedQueries.OneMinute.Count`) match no rule, where they would take the
 * counter's name and turn it into an untyped family with an `_objectname` label.
 */
export function trinoExporterConfig(): object {
  return {
    lowercaseOutputName: true,
    lowercaseOutputLabelNames: true,
    includeObjectNames: ['trino.*:*'],
    rules: [
      {
        pattern: 'trino.([\\w.]+)<name=(\\w+)><>(\\w+)\\.TotalCount: ',
        name: 'trino_$1_$2_$3_total',
        type: 'COUNTER',
      },
      { pattern: 'trino.([\\w.]+)<name=(\\w+)><>(\\w+): ', name: 'trino_$1_$2_$3', type: 'GAUGE' },
      {
        pattern: 'trino.([\\w.]+)<type=(\\w+), name=([^,>]+)><>(\\w+): ',
        name: 'trino_$1_$2_$4',
        type: 'GAUGE',
        labels: { name: '$3' },
      },
    ],
  };
}

/** The key of the coordinator's URL in a Trino discovery ConfigMap. */
export const TRINO_DISCOVERY_KEY = 'TRINO';

/**
 * The key, present only when the coordinator speaks HTTPS, of the TlsClass whose CA (its
 * ClusterTrustBundles, label `keelson.dev/tls-class`) a client trusts to verify the coordinator.
 */
export const TRINO_TLS_CLASS_KEY = 'TRINO_TLS_CLASS';

/** The key of the shared secret in the internal Secret. */
export const INTERNAL_SECRET_KEY = 'internalSharedSecret';

const CONFIG_DIR = '/keelson/config';
const CATALOG_DIR = '/keelson/catalog';
const DATA_DIR = '/data/trino';
const INTERNAL_SECRET_ENV = 'TRINO_INTERNAL_SHARED_SECRET';
/** The pod's stable DNS name, which a node announces to its peers when it speaks HTTPS. */
const NODE_ADDRESS_ENV = 'TRINO_NODE_ADDRESS';

/** Where a cluster's references to catalogs start. */
const CATALOGS_PATH = 'spec.clusterConfig.catalogLabelSelector';
/** The heap share query memory may use on a node; the headroom is for everything else. */
const QUERY_MEMORY_SHARE = 0.6;
const HEADROOM_SHARE = 0.3;
/**
 * The user the workers' preStop hook drains them as. Trino's default access control refuses
 * graceful shutdown to every user ("Management only resource"), so workers run file-based access
 * control that lets this user write system information (the shutdown) and everyone read it; the
 * coordinator authorizes queries and keeps Trino's default.
 */
export const DRAIN_USER = 'keelson-drain';
const ACCESS_CONTROL_FILE = 'access-control.properties';
const ACCESS_CONTROL_RULES_FILE = 'access-control-rules.json';
/** Workers stop taking tasks this long before and after draining. */
const SHUTDOWN_GRACE_SECONDS = 30;

const LabelSelectorSchema = Type.Object(
  {
    matchLabels: Type.Optional(Type.Record(Type.String(), Type.String())),
    matchExpressions: Type.Optional(
      Type.Array(
        Type.Object(
          {
            key: Type.String(),
            operator: Type.Union([
              Type.Literal('In'),
              Type.Literal('NotIn'),
              Type.Literal('Exists'),
              Type.Literal('DoesNotExist'),
            ]),
            values: Type.Optional(Type.Array(Type.String())),
          },
          CLOSED,
        ),
      ),
    ),
  },
  {
    ...CLOSED,
    description:
      'The TrinoCatalogs (in the namespace) the cluster serves. @default - every TrinoCatalog in the namespace',
  },
);

export const TrinoSpecSchema = stackletSpecSchema({
  description: 'A Trino cluster: coordinators and workers.',
  clusterConfig: {
    catalogLabelSelector: Type.Optional(LabelSelectorSchema),
    internalSecretName: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'The Secret holding the shared secret of internal communication (key internalSharedSecret). ' +
          '@default "<name>-internal-secret"',
      }),
    ),
    authorization: Type.Optional(
      opaAuthorizationSchema({
        product: 'Trino',
        packageExample: 'trino',
        packageUse: 'the coordinator asks its rule `allow`.',
        whenUnset: 'Trino allows every query of every user',
      }),
    ),
  },
  roles: {
    coordinators: {
      config: {},
      configFiles: ['config.properties', 'node.properties', 'log.properties', 'jmx-exporter.yaml'],
      jvm: true,
    },
    workers: {
      config: {},
      configFiles: ['config.properties', 'node.properties', 'log.properties', 'jmx-exporter.yaml'],
      jvm: true,
    },
  },
});
/** The spec of a TrinoCluster. */
import type { TrinoSpec } from './spec.generated';
import { TRINO_MONITORING } from './monitoring';
import { AOT_CACHE_FILE } from './aot-cache';

/** Where keelson's image has its AOT cache. */
const AOT_CACHE = `/usr/lib/trino/${AOT_CACHE_FILE}`;
export type { TrinoSpec };

/** The name of the Secret with the internal shared secret. */
export function internalSecretName(name: string, spec: TrinoSpec): string {
  return spec.clusterConfig?.internalSecretName ?? `${name}-internal-secret`;
}

/** The catalogs a cluster serves, from its resolved references. */
function catalogsOf(references: ResolvedReferences): readonly ReferencedObject[] {
  return references[CATALOGS_PATH] ?? [];
}

const catalogPrefix = (name: string) => `TrinoCatalog ${name} spec`;

/**
 * The files of a Trino pod's one HTTPS listener (see the file comment): the server certificate
 * when server TLS is on, the internal one otherwise; none when the pod speaks plain HTTP.
 */
export function listenerTls(tls: RoleGroupTls): TlsFiles | undefined {
  return tls.server ?? tls.internal;
}

/** The class of the certificate the coordinator presents, when it speaks HTTPS. */
function listenerClass(stacklet: StackletContext): TlsClassInfo | undefined {
  return stacklet.tls.server ?? stacklet.tls.internal;
}

/** The coordinator's URL: its client Service, `https` when it speaks TLS. */
export function coordinatorUrl(stacklet: StackletContext): string {
  const scheme = listenerClass(stacklet) ? 'https' : 'http';
  return `${scheme}://${stacklet.name}-coordinators.${stacklet.namespace ?? 'default'}.svc.${stacklet.clusterDomain}:${TRINO_HTTP_PORT}`;
}

/**
 * config.properties for a pod's listener: HTTPS only on the one port, and the nodes talking
 * over HTTPS, trusting the CA of the same use, to each one's DNS name (see the file comment).
 */
export function httpsProperties(tls: RoleGroupTls): Record<string, string> {
  const files = listenerTls(tls);
  if (!files) return { 'http-server.http.port': String(TRINO_HTTP_PORT) };
  return {
    'http-server.http.enabled': 'false',
    'http-server.https.enabled': 'true',
    'http-server.https.port': String(TRINO_HTTP_PORT),
    'http-server.https.keystore.path': files.bundle,
    'internal-communication.https.required': 'true',
    'internal-communication.https.truststore.path': files.trust,
    'node.internal-address': `\${ENV:${NODE_ADDRESS_ENV}}`,
  };
}

/**
 * A curl of the pod's own server at `urlPath`: over loopback, and over HTTPS verifying the
 * certificate for the pod's DNS name against the trusted CAs (what its peers check).
 */
function curlSelf(tls: RoleGroupTls, options: string, urlPath: string): string {
  const files = listenerTls(tls);
  if (!files) return `curl ${options} http://127.0.0.1:${TRINO_HTTP_PORT}${urlPath}`;
  const host = `\${${NODE_ADDRESS_ENV}}:${TRINO_HTTP_PORT}`;
  return `curl ${options} --cacert ${files.trust} --resolve "${host}:127.0.0.1" "https://${host}${urlPath}"`;
}

/**
 * The cluster-wide user memory limit of one query (`query.max-memory`), the same on every node.
 * Trino already bounds a query on each worker by that worker's `query.max-memory-per-node`, so a
 * query can never hold more than the sum of the per-node limits of the workers it runs on: the
 * whole cluster, whatever its size at the moment. keelson sets no second, smaller cap (Trino's own
 * default is a fixed 20GB): a value computed from the worker replicas would change the coordinator's
 * config at every scale-out or scale-in and restart it, failing the running queries the workers'
 * draining is there to keep. Override it in the coordinators' `config.properties` to cap queries.
 */
export const QUERY_MAX_MEMORY = '1PB';

/**
 * Query memory settings of a node from its own heap (the container memory of its role group):
 * 60 % for queries on the node, 30 % headroom; `query.max-memory` is {@link QUERY_MAX_MEMORY}.
 */
export function memoryProperties(rg: ResolvedRoleGroup): Record<string, string> {
  const heap = jvmHeapMiB(rg.config.resources.memory.limit, { fraction: 0.8 });
  return {
    'query.max-memory-per-node': `${Math.floor(heap * QUERY_MEMORY_SHARE)}MB`,
    'memory.heap-headroom-per-node': `${Math.floor(heap * HEADROOM_SHARE)}MB`,
    'query.max-memory': QUERY_MAX_MEMORY,
  };
}

/** The container whose levels `config.logging.containers` sets. */
const CONTAINER = 'trino';
/** Trino's levels file (airlift's `log.levels-file`), in the config directory. */
const LOG_LEVELS_FILE = 'log.properties';
/** Trino has no root logger of its own: the root level (ROOT) sets io.trino. */
const TRINO_ROOT_LOGGER = 'io.trino';

/** A node.environment: lower case letters, digits and underscores. */
function environmentName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

function catalogFiles(stacklet: StackletContext): {
  files: Record<string, string>;
  env: EnvVar[];
  trustedTlsClasses: string[];
  kerberosClasses: string[];
} {
  const files: Record<string, string> = {};
  const env: EnvVar[] = [];
  const trustedTlsClasses: string[] = [];
  const kerberosClasses: string[] = [];
  for (const catalog of catalogsOf(stacklet.references)) {
    const rendered = renderCatalog(
      catalog.name,
      catalogPrefix(catalog.name),
      catalog.spec as TrinoCatalogSpec,
      stacklet.dependencies,
      stacklet.references,
    );
    files[`catalog.${catalog.name}.properties`] = renderProperties(rendered.properties);
    env.push(...rendered.env);
    trustedTlsClasses.push(...rendered.trustedTlsClasses);
    if (rendered.kerberosClass && !kerberosClasses.includes(rendered.kerberosClass))
      kerberosClasses.push(rendered.kerberosClass);
  }
  return { files, env, trustedTlsClasses, kerberosClasses };
}

/** The service part of Trino's own principals (`trino/<pod DNS name>@REALM`). */
export const TRINO_KERBEROS_SERVICE = 'trino';

/**
 * The Kerberos parts of a Trino pod whose catalogs reach a Kerberos metastore: the keytab of the
 * pod's own principal, from the metastore's class (validated: one class, and it exists), and the
 * variable naming that principal for the catalogs' properties.
 */
function catalogKerberos(
  stacklet: StackletContext,
  rg: ResolvedRoleGroup,
  kerberosClasses: readonly string[],
): (KerberosPodParts & { env: EnvVar[] }) | undefined {
  const info = kerberosClassOf(stacklet.authenticationClasses.filter((c) => c.name === kerberosClasses[0]));
  if (!info) return undefined;
  const address = (pod: string, namespace: string) =>
    `${pod}.${rg.names.headlessService}.${namespace}.svc.${stacklet.clusterDomain}`;
  const parts = kerberosPodParts(info, {
    service: TRINO_KERBEROS_SERVICE,
    podAddress: address('${POD_NAME}', '${POD_NAMESPACE}'),
    configDir: CONFIG_DIR,
  });
  return {
    ...parts,
    env: [
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      // Kubernetes expands $(VAR) of the variables above in the container's environment.
      { name: KERBEROS_PRINCIPAL_ENV, value: parts.principal(address('$(POD_NAME)', '$(POD_NAMESPACE)')) },
    ],
  };
}

/** Problems with the Kerberos classes the catalogs' metastores name: at most one, and it exists. */
function catalogKerberosProblems(stacklet: StackletContext): string[] {
  const byClass = new Map<string, string[]>();
  for (const catalog of catalogsOf(stacklet.references)) {
    const spec = catalog.spec as TrinoCatalogSpec;
    const name = catalogKerberosClass(spec, stacklet.dependencies);
    if (name) byClass.set(name, [...(byClass.get(name) ?? []), catalog.name]);
  }
  if (byClass.size > 1) {
    const listed = [...byClass].map(([name, catalogs]) => `${name} (catalogs ${catalogs.join(', ')})`);
    return [
      `${CATALOGS_PATH}: the catalogs' metastores take Kerberos clients of ${byClass.size} AuthenticationClasses, ` +
        `${listed.join(' and ')}; Trino's pods hold one keytab, of one class: select catalogs of one realm`,
    ];
  }
  const problems: string[] = [];
  for (const [name, catalogs] of byClass) {
    const found = stacklet.authenticationClasses.find((c) => c.name === name);
    if (found?.provider === 'kerberos') continue;
    const catalog = catalogsOf(stacklet.references).find((c) => c.name === catalogs[0])!;
    const path = catalogMetastorePath(catalogPrefix(catalog.name), catalog.spec as TrinoCatalogSpec);
    problems.push(
      `${path}: the metastore takes Kerberos clients of the AuthenticationClass "${name}", which ` +
        (found
          ? `has the ${found.provider} provider, not kerberos`
          : 'does not exist; create it (operator mode) or define it before this stacklet (synth mode)'),
    );
  }
  return problems;
}

/**
 * The coordinator's access control when `clusterConfig.authorization.opa` is set: Trino's OPA
 * plugin (`plugin/opa` of the server tarball) asks `<OPA>v1/data/<package path>/allow` for every
 * check, with the user (`input.context.identity.user`) and the action
 * (`input.action.operation`, `input.action.resource`). Undefined (the policy is missing) denies.
 */
export function opaAccessControl(
  opa: OpaReference,
  dependencies: StackletContext['dependencies'],
): Record<string, string> {
  return { 'access-control.name': 'opa', 'opa.policy.uri': opaRuleUrl(opa, dependencies, 'allow') };
}

/** A worker's access control: see {@link DRAIN_USER}. */
function drainAccessControl(): Record<string, string> {
  const rules = {
    system_information: [{ user: DRAIN_USER, allow: ['read', 'write'] }, { allow: ['read'] }],
  };
  return {
    [ACCESS_CONTROL_FILE]: renderProperties({
      'access-control.name': 'file',
      'security.config-file': `${CONFIG_DIR}/${ACCESS_CONTROL_RULES_FILE}`,
    }),
    [ACCESS_CONTROL_RULES_FILE]: `${JSON.stringify(rules, null, 2)}\n`,
  };
}

/** The JVM arguments of every Trino pod (before the heap and the user's overrides). */
export const TRINO_JVM_ARGUMENTS: readonly string[] = [
  '-XX:+UseG1GC',
  '-XX:G1HeapRegionSize=32M',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-XX:+ExitOnOutOfMemoryError',
  '-XX:-OmitStackTraceInFastThrow',
  '-XX:ReservedCodeCacheSize=512M',
  '-XX:PerMethodRecompilationCutoff=10000',
  '-XX:PerBytecodeRecompilationCutoff=10000',
  '-Djdk.attach.allowAttachSelf=true',
  '-Djdk.nio.maxCachedBufferSize=2000000',
  '-Dfile.encoding=UTF-8',
  '-Djava.io.tmpdir=/tmp',
  // JOL (object sizes for Trino's memory accounting) would start a second JVM to attach to this
  // one through the Serviceability Agent, which needs ptrace: keelson's pods drop every capability,
  // so the attach can only fail, after a few CPU-seconds; JOL's own estimate is what remains.
  '-Djol.skipHotspotSAAttach=true',
];

function role(name: 'coordinators' | 'workers') {
  const coordinator = name === 'coordinators';
  return defineRole<ResolvedCommonConfig>({
    name,
    config: {},
    defaultReplicas: 1,
    defaults: () => ({
      resources: { cpu: { min: '500m', max: '2' }, memory: { limit: '4Gi' }, storage: {} },
      logging: {},
      // Workers finish their running tasks before they stop; a coordinator cannot hand its queries over.
      gracefulShutdownTimeout: coordinator ? '30s' : '5m',
    }),
    ports: [
      { name: 'http', port: TRINO_HTTP_PORT, client: coordinator },
      { name: METRICS_PORT_NAME, port: TRINO_METRICS_PORT },
    ],
    configFiles: {
      'config.properties': 'properties',
      'node.properties': 'properties',
      'log.properties': 'properties',
      [EXPORTER_FILE]: 'yaml',
    },
    configMountPath: CONFIG_DIR,
    // LOG_DIR: the structured log file.
    writableDirs: ['/tmp', DATA_DIR, LOG_DIR],
    jvm: {
      heapFraction: 0.8,
      arguments: [...TRINO_JVM_ARGUMENTS],
    },
    workload: 'StatefulSet',
    // One HTTPS listener for clients and peers (httpsProperties).
    tls: ['server', 'internal'],
    // airlift checks the PEM key and trust files every minute and reloads them when they change
    // (http-server.https.ssl-context.refresh-time, default 1m; keelson leaves it).
    // The internal HTTP client's trust (`ca.crt` of the listener's use) is read only at start: when
    // a CA is published for the class, the operator restarts the pods that started before it.
    certificateReload: { server: 'files', internal: 'files' },
    trustReload: { server: 'restart', internal: 'restart' },
    // The hive and iceberg catalogs' Thrift client builds its SSL context from the metastore's trust
    // file once, when the catalog is made (DefaultThriftMetastoreClientFactory in Trino 476's
    // trino-hive, read in the jar): a new CA of the metastore's class needs a restart.
    clientTrustReload: 'restart',
    pod: (stacklet, rg) => {
      const trino = stacklet as StackletContext<TrinoSpec>;
      const opa = trino.spec.clusterConfig?.authorization?.opa;
      const catalogs = catalogFiles(stacklet);
      const kerberos = catalogKerberos(stacklet, rg, catalogs.kerberosClasses);
      const grace = parseDurationSeconds(rg.config.gracefulShutdownTimeout) ?? 300;
      // Clients log in at the coordinator only (authentication.ts).
      const auth = trinoAuthentication(coordinator ? stacklet.authentication : [], CONFIG_DIR);
      // The CAs of the TLS services the catalogs (a metastore) and authenticators (an LDAP server)
      // connect to, as a client.
      const trust = tlsTrustVolumes([...catalogs.trustedTlsClasses, ...auth.trustedTlsClasses]);
      const logging = containerLogging(rg.config.logging, CONTAINER);
      const log = logConfigLocation(logging, CONFIG_DIR, LOG_LEVELS_FILE);
      // The launcher reads the levels from the config directory unless told otherwise.
      const levelsFile = logging.customConfigMap ? ` --log-levels-file=${log.path}` : '';
      return {
        container: {
          command: [
            '/bin/bash',
            '-c',
            // keelson's image carries an AOT cache of the server's classes (aot-cache.ts); other
            // images start without one.
            `aot=(); if [ -f ${AOT_CACHE} ]; then aot=(-J-XX:AOTCache=${AOT_CACHE}); fi; ` +
              `exec /usr/lib/trino/bin/launcher run --etc-dir=${CONFIG_DIR}${levelsFile} "\${aot[@]}" "-Dnode.id=\${POD_NAME}"`,
          ],
          env: [
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'HOME', value: '/tmp' },
            ...(listenerTls(rg.tls)
              ? [
                  {
                    name: NODE_ADDRESS_ENV,
                    value: `$(POD_NAME).${rg.names.headlessService}.${stacklet.namespace ?? 'default'}.svc.${stacklet.clusterDomain}`,
                  },
                ]
              : []),
            {
              name: INTERNAL_SECRET_ENV,
              valueFrom: {
                secretKeyRef: {
                  name: internalSecretName(stacklet.name, trino.spec),
                  key: INTERNAL_SECRET_KEY,
                },
              },
            },
            ...catalogs.env,
            ...auth.env,
            ...(kerberos?.env ?? []),
          ],
          // /v1/info answers 200 from the start; a node has started once it says it is no longer
          // starting (the coordinator refuses queries until then). Trino opens its port only after
          // loading every plugin, which took over 100 s on a busy 2-core node: the startup probe
          // waits up to 10 minutes, every 5 s, so a rolling restart moves on soon after each pod.
          // Asking needs a process in the container (an exec through the runtime, the costly kind of
          // probe), so it is asked only until the node has started; after that readiness and
          // liveness are TCP connects the kubelet makes itself. A started node does not go back to
          // starting, and a worker that drains is terminating, out of its Services already.
          startupProbe: startupProbe(
            {
              exec: {
                command: [
                  '/bin/bash',
                  '-c',
                  `${curlSelf(rg.tls, '-sf', '/v1/info')} | grep -q '"starting":false'`,
                ],
              },
              initialDelaySeconds: 10,
              timeoutSeconds: 5,
            },
            10,
          ),
          readinessProbe: { tcpSocket: { port: TRINO_HTTP_PORT as never }, periodSeconds: 10 },
          livenessProbe: {
            tcpSocket: { port: TRINO_HTTP_PORT as never },
            periodSeconds: 15,
          },
          volumeMounts: [
            { name: 'catalog', mountPath: CATALOG_DIR, readOnly: true },
            ...trust.mounts,
            ...auth.mounts,
            ...log.volumeMounts,
            ...(kerberos?.mounts ?? []),
          ],
          // A worker told to shut down stops taking tasks, finishes its running ones and exits; the
          // hook waits for that, and the grace period ends it if it takes too long.
          lifecycle: coordinator
            ? undefined
            : {
                preStop: {
                  exec: {
                    command: [
                      '/bin/bash',
                      '-c',
                      `${curlSelf(rg.tls, `-sf -X PUT -H 'Content-Type: application/json' -H 'X-Trino-User: ${DRAIN_USER}' -d '"SHUTTING_DOWN"'`, '/v1/info/state')}; ` +
                        `sleep ${grace}`,
                    ],
                  },
                },
              },
        },
        configFiles: {
          'config.properties': {
            coordinator: String(coordinator),
            ...(coordinator ? { 'node-scheduler.include-coordinator': 'false' } : {}),
            ...httpsProperties(rg.tls),
            'discovery.uri': coordinatorUrl(stacklet),
            'internal-communication.shared-secret': `\${ENV:${INTERNAL_SECRET_ENV}}`,
            'catalog.config-dir': CATALOG_DIR,
            ...(coordinator
              ? opa
                ? { 'access-control.config-files': `${CONFIG_DIR}/${ACCESS_CONTROL_FILE}` }
                : {}
              : {
                  'shutdown.grace-period': `${Math.min(SHUTDOWN_GRACE_SECONDS, Math.floor(grace / 4))}s`,
                  'access-control.config-files': `${CONFIG_DIR}/${ACCESS_CONTROL_FILE}`,
                }),
            ...memoryProperties(rg),
            ...airliftLogSettings(logging),
            ...auth.properties,
          },
          'node.properties': {
            'node.environment': environmentName(stacklet.name),
            'node.data-dir': DATA_DIR,
          },
          [LOG_LEVELS_FILE]: logging.customConfigMap ? {} : airliftLevels(logging, TRINO_ROOT_LOGGER),
          [EXPORTER_FILE]: trinoExporterConfig(),
        },
        extraFiles: {
          ...catalogs.files,
          ...auth.files,
          ...kerberos?.files,
          'jvm.config': [
            ...rg.jvmArguments,
            ...(kerberos ? [`-Djava.security.krb5.conf=${kerberos.krb5Conf}`] : []),
            jmxExporterAgentArgument(TRINO_METRICS_PORT, `${CONFIG_DIR}/${EXPORTER_FILE}`),
          ]
            .map((a) => `${a}\n`)
            .join(''),
          ...(coordinator
            ? opa
              ? { [ACCESS_CONTROL_FILE]: renderProperties(opaAccessControl(opa, stacklet.dependencies)) }
              : {}
            : drainAccessControl()),
        },
        volumes: [
          // A configMap volume with no items projects every key: a cluster without catalogs gets
          // an empty folder instead, or Trino would read its own config files as catalogs.
          Object.keys(catalogs.files).length === 0
            ? { name: 'catalog', emptyDir: {} }
            : {
                name: 'catalog',
                configMap: {
                  name: rg.names.configMap,
                  items: Object.keys(catalogs.files).map((key) => ({
                    key,
                    path: key.slice('catalog.'.length),
                  })),
                },
              },
          ...trust.volumes,
          ...log.volumes,
          ...auth.volumes,
          ...(kerberos?.volumes ?? []),
        ],
        initContainers: [...auth.initContainers, ...(kerberos ? [kerberos.initContainer] : [])],
      };
    },
  });
}

/** The Trino product, as the framework and the operator see it. */
export const TRINO: ProductDefinition<TrinoSpec> = {
  name: 'trino',
  kind: 'TrinoCluster',
  plural: 'trinoclusters',
  shortNames: ['trino'],
  description: 'A Trino cluster: a coordinator and workers, serving the TrinoCatalogs it selects.',
  specSchema: TrinoSpecSchema,
  monitoring: TRINO_MONITORING,
  authenticationProviders: TRINO_AUTHENTICATION_PROVIDERS,
  images: {
    repository: 'docker.io/trinodb/trino',
    versions: { '470': '470', '476': '476' },
    defaultVersion: '476',
  },
  roles: [role('coordinators'), role('workers')],
  references: (spec, resolved): Record<string, ObjectReference> => ({
    [CATALOGS_PATH]: {
      kind: TRINO_CATALOG_KIND,
      labelSelector: (spec.clusterConfig?.catalogLabelSelector ?? {}) as LabelSelector,
    },
    ...Object.assign(
      {},
      ...catalogsOf(resolved).map((c) =>
        catalogReferences(catalogPrefix(c.name), c.spec as TrinoCatalogSpec),
      ),
    ),
  }),
  dependencies: (spec, references) =>
    Object.assign(
      {},
      ...catalogsOf(references).map((c) =>
        catalogDependencies(catalogPrefix(c.name), c.spec as TrinoCatalogSpec),
      ),
      opaDependencies(spec.clusterConfig?.authorization?.opa),
    ),
  validate: (stacklet) => {
    const problems = catalogsOf(stacklet.references).flatMap((c) =>
      catalogProblems(catalogPrefix(c.name), c.spec as TrinoCatalogSpec, stacklet.dependencies),
    );
    if (problems.length === 0) problems.push(...catalogKerberosProblems(stacklet));
    const coordinators = stacklet.roleGroups
      .filter((g) => g.role === 'coordinators')
      .reduce((n, g) => n + g.replicas, 0);
    if (coordinators !== 1) {
      problems.push(`spec.coordinators: a Trino cluster runs exactly one coordinator, not ${coordinators}`);
    }
    if (stacklet.authentication.length > 0 && !listenerClass(stacklet)) {
      problems.push(
        'spec.clusterConfig.authentication: Trino takes passwords only over HTTPS (tokens and client certificates too), and this ' +
          'cluster serves ' +
          'plain HTTP (no TlsClass serves it); turn TLS on: name an existing TlsClass in ' +
          'spec.clusterConfig.tls.serverTlsClass (or create the default class "tls"), or remove the authentication',
      );
    }
    problems.push(...trinoAuthenticationProblems(stacklet.authentication));
    problems.push(
      ...opaReferenceProblems(stacklet.spec.clusterConfig?.authorization?.opa, stacklet.dependencies),
    );
    return problems;
  },
  discovery: (stacklet) => {
    const tlsClass = listenerClass(stacklet);
    return {
      [TRINO_DISCOVERY_KEY]: coordinatorUrl(stacklet),
      ...(tlsClass ? { [TRINO_TLS_CLASS_KEY]: tlsClass.name } : {}),
    };
  },
};

/** Props of a TrinoCluster in synth mode: the custom resource's spec plus typed references. */
export interface TrinoClusterProps extends TrinoSpec {
  /**
   * The catalogs the cluster serves. Each must carry labels `clusterConfig.catalogLabelSelector`
   * matches (the selector the operator uses among the TrinoCatalogs of the namespace), so the
   * synthesized cluster and the operator's serve the same catalogs; one that does not is an error.
   * @default - no catalogs
   */
  readonly catalogs?: readonly TrinoCatalog[];
  /**
   * Authorize with this OpaCluster's policy in Rego package `package` (sets
   * `clusterConfig.authorization.opa`, and admits the coordinator to the OPA servers).
   * @default - `clusterConfig.authorization` as given
   */
  readonly opa?: { readonly cluster: IStacklet; readonly package: string };
}

/**
 * One problem per catalog passed in `catalogs` that the cluster's selector does not select: the
 * operator would not serve it either, so taking it silently would leave a catalog the user
 * believes is there missing from every pod.
 */
function unselectedCatalogs(spec: TrinoSpec, catalogs: readonly TrinoCatalog[]): string[] {
  const selector = (spec.clusterConfig?.catalogLabelSelector ?? {}) as LabelSelector;
  return catalogs
    .filter((c) => !matchesLabelSelector(selector, c.reference.labels))
    .map(
      (c) =>
        `catalogs: the TrinoCatalog "${c.name}" (labels ${JSON.stringify(c.reference.labels)}) does not match ` +
        `${CATALOGS_PATH} ${JSON.stringify(selector)}, so the cluster would not serve it; ` +
        'give the catalog labels the selector matches, change the selector, or leave the catalog out of catalogs',
    );
}

/**
 * A Trino cluster: one coordinator (its Service `<name>-coordinators` is published as `TRINO` in
 * the discovery ConfigMap `<name>`) and workers. See the file comment for the internal secret.
 */
export class TrinoCluster extends Stacklet<TrinoSpec> {
  /** The coordinator's URL. */
  public readonly coordinatorUrl: string;
  /** The Secret the pods read the internal shared secret from. */
  public readonly internalSecretName: string;

  constructor(scope: Construct, id: string, props: TrinoClusterProps = {}, options: StackletOptions = {}) {
    const { catalogs = [], opa, ...given } = props;
    const spec: TrinoSpec = opa
      ? {
          ...given,
          clusterConfig: {
            ...given.clusterConfig,
            authorization: {
              opa: { configMapName: opa.cluster.discoveryConfigMapName, package: opa.package },
            },
          },
        }
      : given;
    super(scope, id, TRINO, spec, {
      ...options,
      problems: [...(options.problems ?? []), ...unselectedCatalogs(spec, catalogs)],
      objects: [...(options.objects ?? []), ...catalogs.flatMap((c) => c.knownObjects)],
      dependencies: Object.assign(
        {},
        ...catalogs.map((c) => c.knownDependencies),
        opa ? { [opa.cluster.discoveryConfigMapName]: opa.cluster.discoveryData } : {},
        options.dependencies,
      ),
    });
    opa?.cluster.addAllowedClient(this);
    this.coordinatorUrl = this.discoveryData[TRINO_DISCOVERY_KEY];
    this.internalSecretName = internalSecretName(id, spec);
    for (const catalog of catalogs) catalog.metastore?.addAllowedClient(this);
  }
}
