/**
 * Merging configuration and Kubernetes objects: how defaults, roles, role groups and user overrides
 * combine. Every function is pure; inputs are never changed, and the result shares no plain object or
 * array with them, so a builder may change what it gets back without touching shared defaults.
 *
 * Rules common to every merge here:
 * - Plain objects (object literals, JSON) merge key by key, recursively; the override wins for
 *   anything else, including class instances, which are treated as single values.
 * - `undefined` in an override means "not set": the base value stays.
 * - `null` in an override removes the key (as in JSON merge patch, RFC 7386, and in Kubernetes'
 *   strategic merge patch), so a user can take out a default rather than only change it.
 * - Arrays are replaced whole, except the lists below.
 *
 * Pod templates ({@link mergePodTemplate}) and whole objects ({@link mergeObjectOverride}) follow
 * Kubernetes' strategic merge: some lists are merged item by item, matched by a merge key, so an
 * override can change one container without restating the others.
 * - `spec.containers`, `spec.initContainers`: by `name`; inside a container, `env` by `name`,
 *   `ports` by `containerPort` and `protocol` (or by `name` when no port has that number, so a port
 *   can be moved to another number), `volumeMounts` by `mountPath`.
 * - `spec.volumes`, `spec.imagePullSecrets`: by `name`.
 * - In a StatefulSet, `spec.volumeClaimTemplates` by `metadata.name`; in a Service, `spec.ports` by
 *   `port` and `protocol` (or by `name`).
 * A matched item is merged with these same rules. An item that matches nothing is appended. An item
 * `{ name: "x", $patch: "delete" }` removes the matching item instead (and is ignored when nothing
 * matches); `$patch` anywhere else is an error rather than silently ignored. Volumes and env variables are replaced rather than merged once matched (Kubernetes'
 * `retainKeys`): a volume can only have one source and a variable only one of `value`/`valueFrom`, so
 * keeping the base's `configMap` next to an override's `emptyDir` would make an invalid pod; maps
 * inside a field the override does set (`emptyDir: {sizeLimit}`) still merge.
 */

/** A JSON-like object, as pod templates and Kubernetes objects are handled here. */
export type PlainObject = Record<string, unknown>;

/**
 * What a merge accepts as an override of `T`: any part of it, at any depth, where `null` removes a
 * key. Arrays are given whole.
 */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> | null }
    : T;

/** How a list of objects is merged: which base item an override item updates. */
interface ListRule {
  readonly findMatch: (base: readonly unknown[], item: PlainObject) => number;
  readonly item?: MergeRule;
  readonly retainKeys?: boolean;
}

/** Rules for the fields of an object, by field name; fields without a rule merge generically. */
interface MergeRule {
  readonly fields?: Readonly<Record<string, MergeRule>>;
  readonly list?: ListRule;
}

const PATCH_DIRECTIVE = '$patch';

/** The rule of a field a strategic merge has no special rule for: maps merge, lists are replaced. */
const GENERIC: MergeRule = {};

function isPlainObject(value: unknown): value is PlainObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return false;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function setKey(target: PlainObject, key: string, value: unknown): void {
  // defineProperty keeps a "__proto__" key from user JSON as data instead of re-parenting the result.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function indexWhere(base: readonly unknown[], test: (item: PlainObject) => boolean): number {
  return base.findIndex((item) => isPlainObject(item) && test(item));
}

function byField(field: string): ListRule['findMatch'] {
  return (base, item) => (item[field] === undefined ? -1 : indexWhere(base, (b) => b[field] === item[field]));
}

/** Ports match by number and protocol (TCP when unset), or failing that by name. */
function byPortOrName(portField: string): ListRule['findMatch'] {
  return (base, item) => {
    if (item[portField] !== undefined) {
      const protocol = item.protocol ?? 'TCP';
      const found = indexWhere(
        base,
        (b) => b[portField] === item[portField] && (b.protocol ?? 'TCP') === protocol,
      );
      if (found >= 0) {
        return found;
      }
    }
    return item.name === undefined ? -1 : indexWhere(base, (b) => b.name === item.name);
  };
}

function byMetadataName(base: readonly unknown[], item: PlainObject): number {
  const name = isPlainObject(item.metadata) ? item.metadata.name : undefined;
  return name === undefined
    ? -1
    : indexWhere(base, (b) => isPlainObject(b.metadata) && b.metadata.name === name);
}

const CONTAINER: MergeRule = {
  fields: {
    env: { list: { findMatch: byField('name'), retainKeys: true } },
    ports: { list: { findMatch: byPortOrName('containerPort') } },
    volumeMounts: { list: { findMatch: byField('mountPath') } },
  },
};

const POD_SPEC: MergeRule = {
  fields: {
    containers: { list: { findMatch: byField('name'), item: CONTAINER } },
    initContainers: { list: { findMatch: byField('name'), item: CONTAINER } },
    volumes: { list: { findMatch: byField('name'), retainKeys: true } },
    imagePullSecrets: { list: { findMatch: byField('name') } },
  },
};

const POD_TEMPLATE: MergeRule = { fields: { spec: POD_SPEC } };

const WORKLOAD: MergeRule = { fields: { spec: { fields: { template: POD_TEMPLATE } } } };

const OBJECT_RULES: Readonly<Record<string, MergeRule>> = {
  StatefulSet: {
    fields: {
      spec: {
        fields: { template: POD_TEMPLATE, volumeClaimTemplates: { list: { findMatch: byMetadataName } } },
      },
    },
  },
  Deployment: WORKLOAD,
  DaemonSet: WORKLOAD,
  ReplicaSet: WORKLOAD,
  Job: WORKLOAD,
  CronJob: { fields: { spec: { fields: { jobTemplate: WORKLOAD } } } },
  Pod: POD_TEMPLATE,
  Service: { fields: { spec: { fields: { ports: { list: { findMatch: byPortOrName('port') } } } } } },
};

/**
 * Merges `override` onto `base`. `rule` is undefined for a plain deep merge; strategic merges pass the
 * rule of the current field, or {@link GENERIC} where no list needs keys, so that `$patch` keys are
 * only interpreted (and rejected where unsupported) in a strategic merge.
 */
function mergeValue(base: unknown, override: unknown, rule: MergeRule | undefined): unknown {
  if (override === undefined) {
    return copy(base);
  }
  if (isPlainObject(override)) {
    return mergeObject(isPlainObject(base) ? base : {}, override, rule, false);
  }
  if (Array.isArray(override)) {
    // A keyed list merges even onto nothing, so "$patch" items never reach the result.
    return rule?.list ? mergeList(Array.isArray(base) ? base : [], override, rule.list) : copy(override);
  }
  return override;
}

function mergeObject(
  base: PlainObject,
  override: PlainObject,
  rule: MergeRule | undefined,
  retainKeys: boolean,
): PlainObject {
  if (rule !== undefined && override[PATCH_DIRECTIVE] !== undefined) {
    throw new Error(
      `unsupported ${PATCH_DIRECTIVE} ${JSON.stringify(override[PATCH_DIRECTIVE])} on a map: ` +
        `"${PATCH_DIRECTIVE}: delete" is only for items of merged lists; set a field to null to remove it`,
    );
  }
  const result: PlainObject = {};
  if (!retainKeys) {
    for (const key of Object.keys(base)) {
      setKey(result, key, copy(base[key]));
    }
  }
  for (const key of Object.keys(override)) {
    const value = override[key];
    if (value === undefined) {
      continue;
    }
    if (value === null) {
      delete result[key];
      continue;
    }
    const fieldRule = rule === undefined ? undefined : (rule.fields?.[key] ?? GENERIC);
    setKey(result, key, mergeValue(base[key], value, fieldRule));
  }
  return result;
}

function mergeList(base: readonly unknown[], override: readonly unknown[], rule: ListRule): unknown[] {
  const result = base.map(copy);
  for (const item of override) {
    if (!isPlainObject(item)) {
      result.push(copy(item));
      continue;
    }
    const directive = item[PATCH_DIRECTIVE];
    if (directive !== undefined && directive !== 'delete') {
      throw new Error(
        `unsupported ${PATCH_DIRECTIVE} ${JSON.stringify(directive)} in a list item; the only directive is "delete"`,
      );
    }
    const index = rule.findMatch(result, item);
    if (directive === 'delete') {
      if (index >= 0) {
        result.splice(index, 1);
      }
    } else if (index >= 0) {
      const matched = result[index];
      result[index] = mergeObject(
        isPlainObject(matched) ? matched : {},
        item,
        rule.item ?? GENERIC,
        rule.retainKeys ?? false,
      );
    } else {
      result.push(mergeObject({}, item, rule.item ?? GENERIC, false));
    }
  }
  return result;
}

/** A deep copy of plain objects and arrays; other values (class instances too) are shared. */
function copy(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(copy);
  }
  if (isPlainObject(value)) {
    const result: PlainObject = {};
    for (const key of Object.keys(value)) {
      setKey(result, key, copy(value[key]));
    }
    return result;
  }
  return value;
}

/**
 * Merges config objects, the more specific last: `deepMerge(productDefaults, role.config,
 * roleGroup.config)`. Plain objects merge recursively, arrays and other values are replaced,
 * `undefined` keeps the base and `null` removes the key (see the rules at the top of this file). The
 * result is a fresh copy; it is typed as `T` but may lack what an override removed, which is why the
 * merged config is validated afterwards.
 */
export function deepMerge<T>(base: T, ...overrides: ReadonlyArray<DeepPartial<T> | undefined>): T {
  let result = copy(base);
  for (const override of overrides) {
    result = mergeValue(result, override, undefined);
  }
  return result as T;
}

/**
 * Merges a user's `podOverrides` onto the pod template keelson generated, with Kubernetes' list merge
 * keys, so `{spec: {containers: [{name: "kafka", env: [{name: "X", value: "1"}]}]}}` adds one
 * variable to one container and keeps everything else (see the rules at the top of this file).
 * Throws on a `$patch` other than `delete` on a list item.
 */
export function mergePodTemplate<T extends object>(base: T, override: object | null | undefined): T {
  return mergeValue(base, override ?? undefined, POD_TEMPLATE) as T;
}

/**
 * Merges one entry of `objectOverrides` onto the object keelson generated for it (the caller has
 * matched them by kind and name). Maps merge, `null` removes, and for workloads the pod template
 * (`spec.template`, or `spec.jobTemplate.spec.template` of a CronJob) merges like
 * {@link mergePodTemplate}; StatefulSet claim templates and Service ports merge by their keys.
 * Objects of other kinds merge with the generic rules. Throws like {@link mergePodTemplate}.
 */
export function mergeObjectOverride<T extends object>(generated: T, override: object): T {
  const kind = (generated as PlainObject).kind;
  const rule = (typeof kind === 'string' ? OBJECT_RULES[kind] : undefined) ?? GENERIC;
  return mergeValue(generated, override, rule) as T;
}
