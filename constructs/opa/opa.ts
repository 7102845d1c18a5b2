/**
 * OPA (Open Policy Agent): servers that answer authorization questions of other stacklets (Trino's
 * access control) from Rego policies kept in ConfigMaps.
 *
 * The image is keelson's own build (`image.ts`): the `opa` binary compiled from the Go module
 * proxy, with bash, curl and jq from Debian for the policy step below.
 *
 * Workload: a Deployment. OPA servers keep no state (policies come from ConfigMaps, decisions go
 * to stdout), so any pod answers any question; the number of pods follows the query load, not the
 * number of nodes, and a PodDisruptionBudget keeps some serving while nodes drain. A DaemonSet
 * would only pay off with node-local routing (a Service with `internalTrafficPolicy: Local`), which
 * would drop a node's questions while its OPA pod restarts.
 *
 * Policies: every key ending in `.rego` of every ConfigMap in the namespace that
 * `clusterConfig.policyLabelSelector` selects. Each pod runs a small step beside OPA
 * (`policy-sync`, a bash script with curl and jq) that lists those ConfigMaps through the
 * Kubernetes API with the stacklet's ServiceAccount (a Role lets it get, list and watch
 * ConfigMaps), writes their Rego into a folder the two containers share, and then watches the
 * ConfigMaps and writes again on every change. OPA runs with `--watch` on that folder and
 * recompiles its policies when a file appears, changes or goes. A policy change therefore needs
 * no restart of OPA, of its pods or of the products asking it, and it does not wait for the
 * kubelet's refresh of mounted ConfigMaps (up to a minute and more). The step is the same in synth
 * mode and operator mode: the build emits the Role, its binding and the container; the operator
 * takes no part in moving policies.
 */
import { Type } from '@sinclair/typebox';
import type { Construct } from 'constructs';
import {
  apiTokenVolume,
  containerLogging,
  defineRole,
  METRICS_PORT_NAME,
  Stacklet,
  stackletSpecSchema,
  type LabelSelector,
  type ProductDefinition,
  type ResolvedCommonConfig,
  type StackletContext,
  type StackletOptions,
} from '../../lib';
import { LOG_DIR, LOG_FILE_MAX_MIB, logFilePath, type ContainerLogging } from '../../lib/logging/model';
import { LabelSelectorSchema } from '../../lib/spec/kubernetes';
import { OPA_MONITORING } from './monitoring';

/** The ports of an OPA server. */
export const OPA_PORTS = {
  /** OPA's REST API: the Data API clients ask (`/v1/data/<package>/<rule>`). */
  http: 8181,
  /** OPA's read-only diagnostic listener: `/health` and Prometheus' `/metrics`. */
  metrics: 8282,
} as const;

/** The keys of an OpaCluster's discovery ConfigMap. */
export const OPA_DISCOVERY_KEYS = {
  /** The base URL of OPA's REST API, ending in `/`: `http://<name>-servers.<ns>.svc.<domain>:8181/`. */
  url: 'OPA',
} as const;

/** The label a policy ConfigMap carries by default: its value is the OpaCluster's name. */
export const OPA_POLICY_LABEL = 'opa.keelson.dev/policies';

const CONFIG_DIR = '/keelson/config';
/** The folder policy-sync writes and OPA watches. */
const POLICY_DIR = '/keelson/policies';
/** The main container (also the one `config.logging.containers` names). */
const CONTAINER = 'opa';
const SYNC_CONTAINER = 'policy-sync';

export const OpaSpecSchema = stackletSpecSchema({
  description: 'OPA servers answering policy questions from Rego in labelled ConfigMaps.',
  clusterConfig: {
    policyLabelSelector: Type.Optional(
      LabelSelectorSchema(
        'The ConfigMaps (in the namespace) whose `.rego` keys are the policies. ' +
          '@default - ConfigMaps labelled opa.keelson.dev/policies=<cluster name>',
      ),
    ),
  },
  roles: {
    servers: { config: {}, configFiles: ['config.yaml'], jvm: false },
  },
});
/** The spec of an OpaCluster. */
import type { OpaSpec } from './spec.generated';
export type { OpaSpec };

/** The selector of the policy ConfigMaps of `name`'s spec. */
export function policySelector(name: string, spec: OpaSpec): LabelSelector {
  return (
    (spec.clusterConfig?.policyLabelSelector as LabelSelector | undefined) ?? {
      matchLabels: { [OPA_POLICY_LABEL]: name },
    }
  );
}

/** A LabelSelector in the API's query syntax (`a=b,c in (d,e),!f,g`). */
export function labelSelectorQuery(selector: LabelSelector): string {
  const terms = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    if (operator === 'In') terms.push(`${key} in (${values.join(',')})`);
    else if (operator === 'NotIn') terms.push(`${key} notin (${values.join(',')})`);
    else if (operator === 'Exists') terms.push(key);
    else terms.push(`!${key}`);
  }
  return terms.join(',');
}

/** OPA's log level for the root level of keelson's logging model. */
function opaLogLevel(root: string): 'debug' | 'info' | 'warn' | 'error' {
  if (root === 'TRACE' || root === 'DEBUG') return 'debug';
  if (root === 'INFO') return 'info';
  if (root === 'WARN') return 'warn';
  return 'error';
}

/** The levels keelson's structured file knows, from the least to the most severe. */
const FILE_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

/**
 * The jq program that turns one line of OPA's JSON log (logrus: `time`, `level`, `msg`, and a
 * decision's own fields) into keelson's structured record ({@link LOG_FIELDS}): logger `opa`, or
 * `decision_logs` with the decision's id and path for a decision; thread `main` (Go has none to
 * name). A line that is not JSON becomes an INFO record of it. Records below `file` are dropped.
 */
export function opaRecordFilter(file: string): string {
  const least = FILE_LEVELS.indexOf(file === 'NONE' ? 'FATAL' : file);
  return [
    `(fromjson? // {msg: ., level: "info"}) | select(type == "object")`,
    `| ((.level // "info") | ascii_upcase | if . == "WARNING" then "WARN" elif . == "PANIC" then "FATAL" else . end) as $level`,
    `| select(([${FILE_LEVELS.map((l) => `"${l}"`).join(', ')}] | index($level) // 2) >= ${least})`,
    `| {timestamp: ((.time // (now | todate)) | sub("[+]00:00$"; "Z")), level: $level, thread: "main",`,
    `   logger: (if .decision_id then "decision_logs" else "opa" end), message: (.msg // "")}`,
    `  + (if .decision_id then {decision_id, path: (.path // "")} else {} end)`,
    file === 'NONE' ? '| empty' : '',
  ]
    .filter((l) => l !== '')
    .join('\n');
}

/**
 * OPA's command, wrapped so that it also writes keelson's structured file: bash starts OPA in its
 * own place (`exec`, so OPA is the container's first process and gets its signals) with stdout and
 * stderr going to a pipe; `tee` copies every line to the console unchanged (what `kubectl logs`
 * shows), and jq rewrites it into the file, which is rolled at {@link LOG_FILE_MAX_MIB} MiB with
 * one older file kept, as the JVM products' files are.
 */
export function opaCommand(opaArgs: readonly string[], logging: ContainerLogging): string[] {
  const file = logFilePath(CONTAINER);
  const quoted = opaArgs.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const script = [
    'set -u',
    `file='${file}'`,
    `filter='${opaRecordFilter(logging.file).replace(/'/g, `'\\''`)}'`,
    '# Appends each record to the file, rolling it once it holds the limit.',
    'roll() {',
    '  local size=0 record',
    '  [ -f "$file" ] && size="$(stat -c %s "$file")"',
    '  while IFS= read -r record; do',
    '    printf \'%s\\n\' "$record" >>"$file"',
    '    size=$((size + ${#record} + 1))',
    `    if [ "$size" -ge ${LOG_FILE_MAX_MIB * 1024 * 1024} ]; then mv -f "$file" "$file.1"; size=0; fi`,
    '  done',
    '}',
    `exec ${quoted} > >(tee >(jq -R --unbuffered -c "$filter" | roll)) 2>&1`,
  ].join('\n');
  return ['/bin/bash', '-c', script];
}

/**
 * The policy step (see the file comment). The file of key `<key>` of ConfigMap `<cm>` is
 * `<cm>_<key>` (a ConfigMap name has no `_`, so names cannot clash). A file is replaced by a
 * rename, so OPA never reads half of one; files of ConfigMaps or keys that went are removed. After
 * each list it watches from the list's resourceVersion and lists again on any event; a watch that
 * ends (the API server closes watches after a while) or fails starts over with a list.
 */
export const POLICY_SYNC_SCRIPT = `set -u
sa=/var/run/secrets/kubernetes.io/serviceaccount
ns="$(cat "$sa/namespace")"
api="https://\${KUBERNETES_SERVICE_HOST}:\${KUBERNETES_SERVICE_PORT}/api/v1/namespaces/$ns/configmaps"
dir="${POLICY_DIR}"
stage="$(mktemp -d)"
selector="$(jq -rn --arg s "$POLICY_SELECTOR" '$s|@uri')"
get() { curl -sS --fail --cacert "$sa/ca.crt" -H "Authorization: Bearer $(cat "$sa/token")" "$@"; }
# Writes the policies of one list; prints the list's resourceVersion.
sync() {
  local list
  list="$(get "$api?labelSelector=$selector")" || return 1
  rm -rf "$stage" && mkdir -p "$stage"
  printf '%s' "$list" | jq -r '.items[] | .metadata.name as $cm | (.data // {}) | keys[] | select(endswith(".rego")) | "\\($cm)\\t\\(.)"' |
    while IFS="$(printf '\\t')" read -r cm key; do
      printf '%s' "$list" | jq -j --arg cm "$cm" --arg key "$key" '.items[] | select(.metadata.name == $cm) | .data[$key]' >"$stage/\${cm}_$key"
    done
  local changed=""
  for f in "$stage"/*.rego; do
    [ -e "$f" ] || continue
    name="$(basename "$f")"
    if ! cmp -s "$f" "$dir/$name"; then cp "$f" "$dir/.$name.tmp" && mv "$dir/.$name.tmp" "$dir/$name" && changed="$changed $name"; fi
  done
  for f in "$dir"/*.rego; do
    [ -e "$f" ] || continue
    name="$(basename "$f")"
    [ -e "$stage/$name" ] || { rm -f "$f" && changed="$changed -$name"; }
  done
  [ -z "$changed" ] || echo "policy-sync: wrote$changed" >&2
  printf '%s' "$list" | jq -r '.metadata.resourceVersion'
}
while true; do
  if ! rv="$(sync)"; then echo "policy-sync: could not list ConfigMaps ($POLICY_SELECTOR); again in 5 s" >&2; sleep 5; continue; fi
  get -N --max-time 600 "$api?labelSelector=$selector&watch=true&resourceVersion=$rv&timeoutSeconds=300" |
    while read -r _event; do sync >/dev/null || true; done
  sleep 1
done
`;

/** OPA's config file: decisions logged to the console (stdout), and nothing fetched from elsewhere. */
function opaConfig(): Record<string, unknown> {
  return { decision_logs: { console: true } };
}

/** The OPA product, as the framework and the operator see it. */
export const OPA: ProductDefinition<OpaSpec> = {
  name: 'opa',
  kind: 'OpaCluster',
  plural: 'opaclusters',
  shortNames: ['opa'],
  description: 'OPA servers answering policy questions from Rego in labelled ConfigMaps.',
  specSchema: OpaSpecSchema,
  images: {
    repository: 'ghcr.io/keelson/opa',
    versions: { '1.22.3': '1.22.3' },
    defaultVersion: '1.22.3',
  },
  readsConfigMaps: true,
  monitoring: OPA_MONITORING,
  roles: [
    defineRole<ResolvedCommonConfig>({
      name: 'servers',
      config: {},
      defaultReplicas: 1,
      workload: 'Deployment',
      defaults: () => ({
        resources: { cpu: { min: '100m', max: '1' }, memory: { limit: '256Mi' }, storage: {} },
        logging: {},
        gracefulShutdownTimeout: '30s',
      }),
      ports: [
        { name: 'http', port: OPA_PORTS.http, client: true },
        { name: METRICS_PORT_NAME, port: OPA_PORTS.metrics },
      ],
      configFiles: { 'config.yaml': 'yaml' },
      configMountPath: CONFIG_DIR,
      // LOG_DIR: the structured log file (lib/logging), written from OPA's console by opaCommand.
      writableDirs: ['/tmp', LOG_DIR],
      pod: (stacklet, rg) => {
        const opa = stacklet as StackletContext<OpaSpec>;
        const logging = containerLogging(rg.config.logging, CONTAINER);
        const token = apiTokenVolume();
        const policies = { name: 'policies', mountPath: POLICY_DIR };
        const health = (path: string) => ({
          httpGet: { path, port: OPA_PORTS.metrics as never },
          periodSeconds: 10,
          timeoutSeconds: 5,
        });
        return {
          container: {
            command: opaCommand(
              [
                '/usr/local/bin/opa',
                'run',
                '--server',
                `--addr=0.0.0.0:${OPA_PORTS.http}`,
                `--diagnostic-addr=0.0.0.0:${OPA_PORTS.metrics}`,
                `--config-file=${CONFIG_DIR}/config.yaml`,
                '--log-format=json',
                // RFC 3339 with nanoseconds; in UTC (the image sets no zone), as keelson's files are.
                '--log-timestamp-format=2006-01-02T15:04:05.999999999Z07:00',
                `--log-level=${opaLogLevel(logging.root)}`,
                // policy-sync's temporary files start with a dot: OPA reads only finished ones.
                '--ignore=.*',
                '--watch',
                POLICY_DIR,
              ],
              logging,
            ),
            volumeMounts: [{ ...policies, readOnly: true }],
            readinessProbe: { ...health('/health'), initialDelaySeconds: 2 },
            livenessProbe: { ...health('/health'), initialDelaySeconds: 10 },
          },
          configFiles: { 'config.yaml': opaConfig() },
          sidecars: [
            {
              name: SYNC_CONTAINER,
              command: ['/bin/bash', '-c', POLICY_SYNC_SCRIPT],
              env: [
                {
                  name: 'POLICY_SELECTOR',
                  value: labelSelectorQuery(policySelector(stacklet.name, opa.spec)),
                },
              ],
              volumeMounts: [policies, token.mount, { name: 'sync-tmp', mountPath: '/tmp' }],
              resources: {
                requests: { cpu: '10m', memory: '32Mi' },
                limits: { cpu: '200m', memory: '64Mi' },
              },
            },
          ],
          volumes: [{ name: 'policies', emptyDir: {} }, { name: 'sync-tmp', emptyDir: {} }, token.volume],
        };
      },
    }),
  ],
  discovery: (stacklet) => ({
    [OPA_DISCOVERY_KEYS.url]: `http://${stacklet.name}-servers.${stacklet.namespace ?? 'default'}.svc.${stacklet.clusterDomain}:${OPA_PORTS.http}/`,
  }),
};

/** An OpaCluster: the props are the custom resource's spec. */
export type OpaClusterProps = OpaSpec;

/**
 * OPA servers. Their discovery ConfigMap (named like the cluster) holds the REST API's base URL
 * under `OPA`; products that ask OPA take it from there (Trino's `clusterConfig.authorization.opa`).
 */
export class OpaCluster extends Stacklet<OpaSpec> {
  /** The base URL of OPA's REST API, ending in `/`. */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: OpaClusterProps = {}, options: StackletOptions = {}) {
    super(scope, id, OPA, props, options);
    this.url = this.discoveryData[OPA_DISCOVERY_KEYS.url];
  }
}
