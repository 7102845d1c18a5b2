/**
 * The parts of the stacklet spec every product shares (`image`, `clusterOperation`, resources,
 * logging, role config, overrides). Each is one TypeBox schema: its static type is what users
 * write, the CRD's OpenAPI schema is generated from it (`crd.ts`), and synth-time validation runs
 * against it (`validate.ts`).
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { AffinitySchema, KUBERNETES_OBJECT_KEY, LabelSelectorSchema } from './kubernetes';
import { defineRule, withRules } from './rules';
import { DNS_SUBDOMAIN_MAX, DNS_SUBDOMAIN_SYNTAX } from '../naming';
import { parseQuantity, QUANTITY_SYNTAX } from '../quantity';

/** Objects are closed: an unknown key is an error, not silently ignored. */
export const CLOSED = { additionalProperties: false } as const;

/**
 * Names the TypeScript interface generated for a schema (`npm run gen:types` writes
 * `spec.generated.ts`); schemas carrying it are shared by every product's spec.
 */
export const TYPE_NAME_KEY = 'x-keelson-type';

/** Marks a field whose content Kubernetes defines (pod templates, whole objects): kept as given. */
export const OPEN = { 'x-kubernetes-preserve-unknown-fields': true } as const;

/**
 * A Kubernetes quantity as keelson reads it (`quantity.ts`): what passes admission can be parsed at
 * synth time, so the TypeScript halves of the quantity rules below never meet a value they cannot
 * read.
 */
export const QUANTITY_PATTERN = QUANTITY_SYNTAX;

/** A Kubernetes quantity such as `500m`, `2`, `1Gi`. */
export const Quantity = (description: string) =>
  Type.String({
    pattern: QUANTITY_PATTERN,
    maxLength: 64,
    description,
    'x-keelson-expected': 'a Kubernetes quantity such as 500m, 2 or 4Gi',
  });

/** A duration as Kubernetes and Go write it: `30s`, `5m`, `1h30m`. */
export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';
export const Duration = (description: string) =>
  Type.String({
    pattern: DURATION_PATTERN,
    maxLength: 32,
    description,
    'x-keelson-expected': 'a duration such as 30s, 5m or 1h30m',
  });

/**
 * A DNS-1123 label of at most 63 characters: role group names, volume names. The length is part of
 * the pattern because it applies to map keys, which take no maxLength.
 */
export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';

/** A closed set of strings. */
export function StringEnum<T extends string>(values: readonly T[], options: { description?: string } = {}) {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  );
}

/** A map keyed by DNS labels; the key rule is enforced at admission by the CRD generator too. */
export function LabelKeyedRecord<T extends TSchema>(value: T, description: string) {
  return Type.Record(Type.String({ pattern: DNS_LABEL_PATTERN }), value, {
    ...CLOSED,
    description,
    maxProperties: 64,
    'x-keelson-expected':
      'keys that are DNS labels (lower case letters, digits and -, at most 63 characters)',
  });
}

/** `key: value` string pairs, such as one config file's overrides or environment variables. */
export const StringMap = (description: string) => Type.Record(Type.String(), Type.String(), { description });

export const ImageSchema = Type.Object(
  {
    productVersion: Type.Optional(
      Type.String({
        description: "The product's version; picks the image from the product's versions table.",
      }),
    ),
    custom: Type.Optional(
      Type.String({ description: 'A full image reference used as is, bypassing the versions table.' }),
    ),
    repository: Type.Optional(
      Type.String({
        description: "Registry and repository to take the product's image from instead of its default.",
      }),
    ),
    pullPolicy: Type.Optional(StringEnum(['Always', 'IfNotPresent', 'Never'] as const)),
    pullSecrets: Type.Optional(
      Type.Array(Type.Object({ name: Type.String() }, CLOSED), {
        description: 'Secrets holding registry credentials.',
      }),
    ),
  },
  { ...CLOSED, description: 'Which image the product runs.', [TYPE_NAME_KEY]: 'ImageSpec' },
);
import type { ImageSpec } from './spec.generated';
export type { ImageSpec };

export const ClusterOperationSchema = Type.Object(
  {
    stopped: Type.Optional(
      Type.Boolean({
        description: 'Scale every role group to zero replicas and keep everything else. @default false',
      }),
    ),
    reconciliationPaused: Type.Optional(
      Type.Boolean({
        description: 'The operator writes nothing for this stacklet while true. @default false',
      }),
    ),
  },
  { ...CLOSED, description: 'Operations on the whole stacklet.', [TYPE_NAME_KEY]: 'ClusterOperationSpec' },
);
import type { ClusterOperationSpec } from './spec.generated';
export type { ClusterOperationSpec };

// Reported at min, as Kubernetes reports a range (minReplicas above maxReplicas) at its lower end.
const cpuMinNotAboveMax = defineRule<{ min?: string; max?: string }>({
  cel: '!has(self.min) || !has(self.max) || quantity(self.min).compareTo(quantity(self.max)) <= 0',
  message: 'cpu.min must not exceed cpu.max',
  fieldPath: '.min',
  check: (self) =>
    self.min === undefined || self.max === undefined || parseQuantity(self.min) <= parseQuantity(self.max),
});

/** What the field holding a quantity is called in rule messages (`memory.limit`), and its key. */
interface QuantityField {
  readonly key: string;
  readonly label: string;
}

/** CEL: -1, 0 or 1 as `field` is below, at or above zero. */
function compareToZero(field: QuantityField): string {
  return `quantity(self.${field.key}).compareTo(quantity("0"))`;
}

/** `field`, when set, is greater than 0 (or, with `orZero`, not negative). */
function positiveQuantity(field: QuantityField, orZero = false) {
  return defineRule<Readonly<Record<string, string | undefined>>>({
    cel: `!has(self.${field.key}) || ${compareToZero(field)} ${orZero ? '>=' : '>'} 0`,
    message: `${field.label} must ${orZero ? 'not be negative' : 'be greater than 0'}`,
    fieldPath: `.${field.key}`,
    check: (self) => {
      const value = self[field.key];
      return value === undefined || (orZero ? parseQuantity(value) >= 0 : parseQuantity(value) > 0);
    },
  });
}

// Doubles from 2^53 on are all whole; below it, a double that survives the round trip through an
// int is whole. (CEL in the API server has no floor function, and the quantity library's
// isInteger() is false for whole amounts such as 1.5Gi that it stores as decimals.) Amounts of 0 or
// less are left to positiveQuantity, so one mistake gives one message.
const WHOLE_FROM = 2 ** 53;

/** `field`, when set and positive, is a whole number (of bytes): not `500m`, not `1.5`. */
function wholeQuantity(field: QuantityField) {
  const float = `quantity(self.${field.key}).asApproximateFloat()`;
  return defineRule<Readonly<Record<string, string | undefined>>>({
    cel:
      `!has(self.${field.key}) || ${compareToZero(field)} <= 0 || ${float} >= ${WHOLE_FROM}.0 || ` +
      `double(int(${float})) == ${float}`,
    message: `${field.label} must be a whole number of bytes; use a suffix such as Mi or Gi, not m or a fraction`,
    fieldPath: `.${field.key}`,
    check: (self) => {
      const value = self[field.key];
      return value === undefined || parseQuantity(value) <= 0 || Number.isInteger(parseQuantity(value));
    },
  });
}

const CPU_MIN = { key: 'min', label: 'cpu.min' };
const CPU_MAX = { key: 'max', label: 'cpu.max' };
const MEMORY_LIMIT = { key: 'limit', label: 'memory.limit' };
const CAPACITY = { key: 'capacity', label: 'capacity' };

export const ResourcesSchema = Type.Object(
  {
    cpu: Type.Optional(
      Type.Object(
        {
          min: Type.Optional(Quantity('Guaranteed CPU (the container request).')),
          max: Type.Optional(Quantity('CPU ceiling (the container limit).')),
        },
        {
          ...CLOSED,
          ...withRules(cpuMinNotAboveMax, positiveQuantity(CPU_MIN, true), positiveQuantity(CPU_MAX)),
        },
      ),
    ),
    memory: Type.Optional(
      Type.Object(
        {
          limit: Type.Optional(
            Quantity('Memory for the container (request = limit); JVM products derive their heap from it.'),
          ),
        },
        { ...CLOSED, ...withRules(positiveQuantity(MEMORY_LIMIT), wholeQuantity(MEMORY_LIMIT)) },
      ),
    ),
    storage: Type.Optional(
      LabelKeyedRecord(
        Type.Object(
          {
            capacity: Quantity('Size of the persistent volume claim.'),
            storageClass: Type.Optional(
              Type.String({
                pattern: DNS_SUBDOMAIN_SYNTAX,
                maxLength: DNS_SUBDOMAIN_MAX,
                description: "StorageClass of the claim. @default the cluster's default class",
                'x-keelson-expected':
                  "a StorageClass name (lower case letters, digits, '-' and '.', starting and ending with a letter or digit)",
              }),
            ),
          },
          { ...CLOSED, ...withRules(positiveQuantity(CAPACITY), wholeQuantity(CAPACITY)) },
        ),
        'Persistent volumes by name; each becomes a volumeClaimTemplate of the role group.',
      ),
    ),
  },
  {
    ...CLOSED,
    description: 'CPU, memory and persistent storage of each pod.',
    [TYPE_NAME_KEY]: 'ResourcesSpec',
  },
);
import type { ResourcesSpec } from './spec.generated';
export type { ResourcesSpec };

export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL', 'NONE'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const LogLevelSchema = StringEnum(LOG_LEVELS);

// keelson ships logs with its own agent, turned on for the whole stacklet by
// clusterConfig.logging.aggregatorConfigMapName; the Vector-era switches are refused with a message
// naming what replaced them, rather than accepted and ignored.
const noVectorAgent = defineRule<{ enableVectorAgent?: boolean }>({
  cel: '!has(self.enableVectorAgent)',
  message:
    "enableVectorAgent is replaced by clusterConfig.logging.aggregatorConfigMapName: keelson's log agent runs " +
    'beside every pod of a stacklet that names an aggregator; remove enableVectorAgent',
  fieldPath: '.enableVectorAgent',
  check: (self) => self.enableVectorAgent === undefined,
});

/** Refuses clusterConfig.vectorAggregatorConfigMapName, replaced by clusterConfig.logging. */
export const noVectorAggregator = defineRule<{ vectorAggregatorConfigMapName?: string }>({
  cel: '!has(self.vectorAggregatorConfigMapName)',
  message:
    'vectorAggregatorConfigMapName is replaced by clusterConfig.logging.aggregatorConfigMapName (a discovery ' +
    'ConfigMap with the OTLP_HTTP_ENDPOINT of an OpenTelemetry aggregator); move the name there',
  fieldPath: '.vectorAggregatorConfigMapName',
  check: (self) => self.vectorAggregatorConfigMapName === undefined,
});

// A container's own log configuration replaces keelson's, so levels set beside it would do nothing.
const customLogConfigAlone = defineRule<{
  custom?: unknown;
  console?: unknown;
  file?: unknown;
  loggers?: unknown;
}>({
  cel: '!has(self.custom) || (!has(self.console) && !has(self.file) && !has(self.loggers))',
  message:
    "custom log configuration replaces keelson's, so console, file and loggers would be ignored; set the levels in the ConfigMap or remove custom",
  fieldPath: '.custom',
  check: (self) =>
    self.custom === undefined ||
    (self.console === undefined && self.file === undefined && self.loggers === undefined),
});

export const LoggingSchema = Type.Object(
  {
    enableVectorAgent: Type.Optional(
      Type.Boolean({
        description:
          'Removed: replaced by clusterConfig.logging.aggregatorConfigMapName; any value is refused (synth and admission).',
      }),
    ),
    containers: Type.Optional(
      LabelKeyedRecord(
        Type.Object(
          {
            console: Type.Optional(
              Type.Object(
                { level: Type.Optional(LogLevelSchema) },
                {
                  ...CLOSED,
                  description:
                    'The least severe level the container writes to its console (kubectl logs). @default INFO',
                },
              ),
            ),
            file: Type.Optional(
              Type.Object(
                { level: Type.Optional(LogLevelSchema) },
                {
                  ...CLOSED,
                  description:
                    'The least severe level the container writes to its structured JSON log file under /keelson/log. @default INFO',
                },
              ),
            ),
            loggers: Type.Optional(
              Type.Record(Type.String(), Type.Object({ level: LogLevelSchema }, CLOSED), {
                description: 'Log levels by logger name; ROOT is the root logger.',
              }),
            ),
            custom: Type.Optional(
              Type.Object(
                {
                  configMap: Type.String({
                    pattern: DNS_SUBDOMAIN_SYNTAX,
                    maxLength: DNS_SUBDOMAIN_MAX,
                    description:
                      "A ConfigMap in the stacklet's namespace holding the container's whole log configuration under the " +
                      "key of the product's log config file (logback.xml, log4j2.properties, log.properties); it replaces keelson's.",
                    'x-keelson-expected':
                      "a ConfigMap name (lower case letters, digits, '-' and '.', starting and ending with a letter or digit)",
                  }),
                },
                CLOSED,
              ),
            ),
          },
          { ...CLOSED, ...withRules(customLogConfigAlone) },
        ),
        'Log levels per container.',
      ),
    ),
  },
  {
    ...CLOSED,
    ...withRules(noVectorAgent),
    description:
      "Log levels per container, rendered into the product's own logging framework, which writes the console and a structured JSON file under /keelson/log.",
    [TYPE_NAME_KEY]: 'LoggingSpec',
  },
);
import type { LoggingSpec, TlsSpec } from './spec.generated';
export type { LoggingSpec, TlsSpec };

/** Config fields every role has, beside the product's own. */
export const CommonConfigProperties = {
  resources: Type.Optional(ResourcesSchema),
  logging: Type.Optional(LoggingSchema),
  affinity: Type.Optional(AffinitySchema()),
  gracefulShutdownTimeout: Type.Optional(
    Duration('Time a pod has to shut down before it is killed (terminationGracePeriodSeconds).'),
  ),
};

/** What may name a ListenerClass: a DNS label (lib/listener). */
export const LISTENER_CLASS_NAME = {
  pattern: DNS_LABEL_PATTERN,
  maxLength: 63,
  'x-keelson-expected':
    "a ListenerClass name (at most 63 lower case letters, digits and '-', starting and ending with a letter or digit)",
} as const;

export const ListenerClassSchema = Type.String({
  ...LISTENER_CLASS_NAME,
  description:
    "The ListenerClass through which clients reach the role (its Services' type and settings). It must exist: in " +
    'the cluster (operator mode) or as a ListenerClass construct defined before the stacklet (synth mode); ' +
    'cluster-internal (ClusterIP), external-unstable (NodePort) and external-stable (LoadBalancer) are built in ' +
    'unless a class of that name replaces them. @default "cluster-internal"',
});

export const RoleConfigSchema = Type.Object(
  {
    podDisruptionBudget: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean({ description: '@default true' })),
          maxUnavailable: Type.Optional(
            Type.Integer({
              minimum: 1,
              description: "Pods of the role that may be down at once. @default the product's choice, else 1",
            }),
          ),
        },
        CLOSED,
      ),
    ),
    listenerClass: Type.Optional(ListenerClassSchema),
  },
  { ...CLOSED, description: 'Settings of the role as a whole.', [TYPE_NAME_KEY]: 'RoleConfigSpec' },
);
import type { RoleConfigSpec } from './spec.generated';
export type { RoleConfigSpec };

export const JvmArgumentOverridesSchema = Type.Object(
  {
    add: Type.Optional(
      Type.Array(Type.String(), { description: 'Arguments appended to the JVM command line.' }),
    ),
    remove: Type.Optional(Type.Array(Type.String(), { description: 'Arguments removed, matched exactly.' })),
    removeRegex: Type.Optional(
      Type.Array(Type.String(), {
        description: 'Arguments removed when a regular expression matches them whole.',
      }),
    ),
  },
  {
    ...CLOSED,
    description: 'Changes to the JVM arguments keelson generates.',
    [TYPE_NAME_KEY]: 'JvmArgumentOverridesSpec',
  },
);
import type { JvmArgumentOverridesSpec } from './spec.generated';
export type { JvmArgumentOverridesSpec };

const objectOverrideSchema = Type.Object(
  {
    apiVersion: Type.String(),
    kind: Type.String(),
    metadata: Type.Object(
      { name: Type.String(), namespace: Type.Optional(Type.String()) },
      { additionalProperties: Type.Unknown(), ...OPEN },
    ),
  },
  {
    additionalProperties: Type.Unknown(),
    ...OPEN,
    description: 'A partial object merged onto the generated object with the same apiVersion, kind and name.',
    [TYPE_NAME_KEY]: 'ObjectOverride',
    [KUBERNETES_OBJECT_KEY]: true,
  },
);

/** A partial Kubernetes object: apiVersion, kind and name pick the target, the rest is merged. */
export interface ObjectOverride {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly [field: string]: unknown;
  };
  readonly [field: string]: unknown;
}
// Typed by hand: TypeBox's inferred type for open objects loses the index signatures in some
// contexts, and users write arbitrary object fields here.
// (Unsafe keeps the schema, and its Object kind, as it is and only replaces the static type.)
export const ObjectOverrideSchema = Type.Unsafe<ObjectOverride>(objectOverrideSchema);

const NetworkPeerSchema = Type.Object(
  {
    podSelector: Type.Optional(LabelSelectorSchema('A LabelSelector of client pods.')),
    namespaceSelector: Type.Optional(LabelSelectorSchema('A LabelSelector of client namespaces.')),
  },
  { ...CLOSED, description: 'Clients admitted to the client ports.', [TYPE_NAME_KEY]: 'NetworkPeerSpec' },
);

/**
 * The rule on a TlsClass's name, the one place it is written: a DNS label, because the name is also
 * a label value (`keelson.dev/tls-class=<name>`) and the end of the class's signer name
 * (`keelson.dev/<name>`). The stacklet specs that name a class, the TlsClass CRD's rule on
 * `metadata.name`, synth's check and the signer's reading of a signer name all use it.
 */
export const TLS_CLASS_NAME = {
  pattern: DNS_LABEL_PATTERN,
  maxLength: 63,
  'x-keelson-expected':
    "a TlsClass name (at most 63 lower case letters, digits and '-', starting and ending with a letter or digit)",
} as const;

/** The TLS settings every product has (lib/tls says how certificates reach the pods). */
export const TlsSchema = Type.Object(
  {
    serverTlsClass: Type.Optional(
      Type.String({
        ...TLS_CLASS_NAME,
        description:
          'The TlsClass whose certificates the ports clients use are served with. TLS is on where the ' +
          'class exists (operator: in the cluster; synth: a TlsClass construct of that name in the app); a ' +
          'class named here explicitly must exist. @default "tls"',
      }),
    ),
    internalTlsClass: Type.Optional(
      Type.String({
        ...TLS_CLASS_NAME,
        description:
          "The TlsClass whose certificates the stacklet's own pods use between themselves (quorum, " +
          'replication, inter-broker), under the same rule as serverTlsClass. @default "tls"',
      }),
    ),
    enabled: Type.Optional(
      Type.Boolean({
        description: 'false turns TLS off on every port, whatever classes exist. @default true',
      }),
    ),
  },
  {
    ...CLOSED,
    description: "TLS on the stacklet's ports: which TlsClass serves which traffic, or none.",
    [TYPE_NAME_KEY]: 'TlsSpec',
  },
);

/**
 * The rule on an AuthenticationClass's name, written once: a DNS label, because stacklets name it
 * and products use it in file, volume and environment variable names.
 */
export const AUTHENTICATION_CLASS_NAME = {
  pattern: DNS_LABEL_PATTERN,
  maxLength: 63,
  'x-keelson-expected':
    "an AuthenticationClass name (at most 63 lower case letters, digits and '-', starting and ending with a letter or digit)",
} as const;

/** How many AuthenticationClasses a stacklet may name (it bounds the CEL rule's cost too). */
export const MAX_AUTHENTICATION_CLASSES = 8;

const eachClassOnce = defineRule<readonly { authenticationClass?: string }[]>({
  cel: 'self.all(a, self.filter(b, b.authenticationClass == a.authenticationClass).size() == 1)',
  message: 'names an AuthenticationClass more than once: name each class once',
  check: (self) => new Set(self.map((a) => a.authenticationClass)).size === self.length,
});

/** The authentication every product has: the AuthenticationClasses clients may log in with. */
export const AuthenticationSchema = Type.Array(
  Type.Object(
    {
      authenticationClass: Type.String({
        ...AUTHENTICATION_CLASS_NAME,
        description:
          'The AuthenticationClass clients may log in with. It must exist (operator: in the cluster; synth: an ' +
          'AuthenticationClass construct of that name defined before the stacklet), and its provider must be one ' +
          'the product supports.',
      }),
    },
    {
      ...CLOSED,
      description: 'An AuthenticationClass a stacklet accepts logins from.',
      [TYPE_NAME_KEY]: 'AuthenticationClassReference',
    },
  ),
  {
    maxItems: MAX_AUTHENTICATION_CLASSES,
    ...withRules(eachClassOnce),
    description:
      'Who may connect: the AuthenticationClasses (lib/authentication) whose users the product accepts, in the ' +
      "order it tries them. Each product supports some providers and refuses the others (README's " +
      '"Authentication"). @default - none: the product authenticates nobody (its own default)',
  },
);
import type { AuthenticationClassReference } from './spec.generated';
export type { AuthenticationClassReference };

/** The aggregator keelson's log agent ships every pod's structured log records to. */
export const ClusterLoggingSchema = Type.Object(
  {
    aggregatorConfigMapName: Type.Optional(
      Type.String({
        pattern: DNS_SUBDOMAIN_SYNTAX,
        maxLength: DNS_SUBDOMAIN_MAX,
        description:
          "A discovery ConfigMap in the stacklet's namespace whose OTLP_HTTP_ENDPOINT key holds an OpenTelemetry " +
          "aggregator's OTLP/HTTP base URL (http://collector.monitoring.svc:4318). Set, every pod of the stacklet " +
          "runs keelson's log agent beside the product, shipping its structured log records there. " +
          '@default - no agent: logs stay in the pods',
        'x-keelson-expected':
          "a ConfigMap name (lower case letters, digits, '-' and '.', starting and ending with a letter or digit)",
      }),
    ),
  },
  {
    ...CLOSED,
    description: "Where the stacklet's logs are shipped.",
    [TYPE_NAME_KEY]: 'ClusterLoggingSpec',
  },
);
import type { ClusterLoggingSpec } from './spec.generated';
export type { ClusterLoggingSpec };

// Labels go on the monitoring objects only, so labels with none of them asked for would do nothing.
const monitoringLabelsNeedAnObject = defineRule<{
  prometheusRules?: boolean;
  serviceMonitors?: boolean;
  grafanaDashboards?: boolean;
  labels?: Record<string, string>;
}>({
  cel:
    '!has(self.labels) || (has(self.prometheusRules) && self.prometheusRules) || ' +
    '(has(self.serviceMonitors) && self.serviceMonitors) || (has(self.grafanaDashboards) && self.grafanaDashboards)',
  message:
    'labels go on the PrometheusRule, ServiceMonitor and dashboard ConfigMap, and none of them is enabled; ' +
    'set prometheusRules, serviceMonitors or grafanaDashboards to true, or remove labels',
  fieldPath: '.labels',
  check: (self) =>
    self.labels === undefined ||
    self.prometheusRules === true ||
    self.serviceMonitors === true ||
    self.grafanaDashboards === true,
});

export const MonitoringSchema = Type.Object(
  {
    prometheusRules: Type.Optional(
      Type.Boolean({
        description:
          "A PrometheusRule (prometheus-operator's monitoring.coreos.com/v1) named after the stacklet with the " +
          "product's recording and alerting rules, scoped to the stacklet by the namespace and stacklet labels " +
          "of keelson's scrape job or ServiceMonitor. @default false",
      }),
    ),
    serviceMonitors: Type.Optional(
      Type.Boolean({
        description:
          'A ServiceMonitor named after the stacklet selecting the metrics Service of every role (port ' +
          "metrics), with the same target labels as keelson's plain scrape job. @default false",
      }),
    ),
    grafanaDashboards: Type.Optional(
      Type.Boolean({
        description:
          "A ConfigMap <stacklet>-dashboard holding the product's Grafana dashboard for this stacklet, labelled " +
          'grafana_dashboard: "1" (what the Grafana sidecar looks for by default). @default false',
      }),
    ),
    labels: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description:
          "Extra labels on the PrometheusRule, ServiceMonitor and dashboard ConfigMap, such as what a Prometheus' " +
          "ruleSelector or serviceMonitorSelector matches; keelson's own app.kubernetes.io/* labels win over " +
          'these. @default - none',
      }),
    ),
  },
  {
    ...CLOSED,
    ...withRules(monitoringLabelsNeedAnObject),
    description:
      'Objects for a monitoring stack to read: PrometheusRules, ServiceMonitors, Grafana dashboards. Every ' +
      "role's metrics Service carries the prometheus.io/* scrape annotations whatever is set here.",
    [TYPE_NAME_KEY]: 'MonitoringSpec',
  },
);

/** clusterConfig fields every product has, beside its own. */
export const CommonClusterConfigProperties = {
  tls: Type.Optional(TlsSchema),
  authentication: Type.Optional(AuthenticationSchema),
  monitoring: Type.Optional(MonitoringSchema),
  vectorAggregatorConfigMapName: Type.Optional(
    Type.String({
      description:
        'Removed: replaced by clusterConfig.logging.aggregatorConfigMapName; refused (synth and admission).',
    }),
  ),
  logging: Type.Optional(ClusterLoggingSchema),
  networkPolicy: Type.Optional(
    Type.Object(
      {
        enabled: Type.Optional(
          Type.Boolean({
            description:
              "Generate a NetworkPolicy admitting the stacklet's own pods to every port, clients to the " +
              'client ports and Prometheus to the metrics ports; nothing else. @default true',
          }),
        ),
        allowSameNamespace: Type.Optional(
          Type.Boolean({
            description:
              "Admit every pod of the stacklet's namespace to the client ports; false admits only the " +
              'stacklet itself, allowedClients and stacklets that refer to it. @default true',
          }),
        ),
        allowedClients: Type.Optional(
          Type.Array(NetworkPeerSchema, {
            description:
              'Pods (and namespaces) allowed to reach the client ports. A peer without namespaceSelector ' +
              "means pods of the stacklet's namespace; select another namespace by its " +
              'kubernetes.io/metadata.name label.',
          }),
        ),
      },
      {
        ...CLOSED,
        description: 'The NetworkPolicy keelson generates for the client ports.',
        [TYPE_NAME_KEY]: 'NetworkPolicySpec',
      },
    ),
  ),
};
