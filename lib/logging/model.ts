/**
 * The shared logging model: what `config.logging` asks of one container, resolved, and the one
 * structured file format every product writes beside its console output.
 *
 * Every keelson product logs twice: to the console (what `kubectl logs` shows, in the product's
 * own text layout) and to a JSON-lines file under {@link LOG_DIR}, an emptyDir, one object per
 * line with the same field names in every product ({@link LOG_FIELDS}), so an agent reads every
 * product's file with one parser and no per-product rules. The field names are those Trino's own
 * JSON format writes (it cannot rename them); the other products' renderers write the same.
 */
import type { Volume, VolumeMount } from '../../imports/k8s-wire';
import { ROOT_LOGGER } from '../config-files/logback-xml';
import type { LoggingSpec, LogLevel } from '../spec/common';

/** The directory of every product's structured log files (an emptyDir of the pod). */
export const LOG_DIR = '/keelson/log';

/** Where a container's own log configuration (`custom.configMap`) is mounted. */
export const CUSTOM_LOG_CONFIG_DIR = '/keelson/log-config';

/** The volume that holds a container's own log configuration. */
export const CUSTOM_LOG_CONFIG_VOLUME = 'log-config';

/**
 * The field names of a structured log record, the same in every product's file:
 * time (UTC, ISO 8601 with milliseconds or finer), level (TRACE, DEBUG, INFO, WARN, ERROR), thread,
 * logger, message, and the stack trace of an exception (absent when the record has none).
 */
export const LOG_FIELDS = {
  time: 'timestamp',
  level: 'level',
  thread: 'thread',
  logger: 'logger',
  message: 'message',
  exception: 'stackTrace',
} as const;

/**
 * How often logback and Log4j 2 look at their config file for a change (logback's `scanPeriod`,
 * Log4j 2's `monitorInterval`): the kubelet updates a mounted ConfigMap in place, so a level change
 * takes effect without a restart, within the kubelet's sync period plus this.
 */
export const LOG_CONFIG_SCAN_SECONDS = 10;

/** Size at which a structured log file is rolled over; one older file is kept. */
export const LOG_FILE_MAX_MIB = 10;

/** The structured log file of a container. */
export function logFilePath(container: string): string {
  return `${LOG_DIR}/${container}.json`;
}

/** The levels ordered from the most to the least verbose. */
const VERBOSITY: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL', 'NONE'];

/** What `config.logging` asks of one container, with every default filled in. */
export interface ContainerLogging {
  /** The container's name (`zookeeper`, `kafka`, `hive`, `trino`). */
  readonly container: string;
  /** The least severe level written to the console. @default INFO */
  readonly console: LogLevel;
  /** The least severe level written to the structured file. @default INFO */
  readonly file: LogLevel;
  /** The root logger's level: `loggers.ROOT`, else the more verbose of console and file. */
  readonly root: LogLevel;
  /** Levels by logger name, without ROOT, sorted by name. */
  readonly loggers: readonly (readonly [string, LogLevel])[];
  /**
   * A ConfigMap holding the container's whole log configuration, which replaces keelson's; the
   * structured file, the levels above and the agent then depend on what it says.
   */
  readonly customConfigMap?: string;
}

/** `config.logging` resolved for `container`. */
export function containerLogging(logging: LoggingSpec | undefined, container: string): ContainerLogging {
  const spec = logging?.containers?.[container];
  const console = spec?.console?.level ?? 'INFO';
  const file = spec?.file?.level ?? 'INFO';
  const moreVerbose = VERBOSITY.indexOf(console) <= VERBOSITY.indexOf(file) ? console : file;
  const loggers = Object.entries(spec?.loggers ?? {})
    .filter(([name]) => name !== ROOT_LOGGER)
    .map(([name, { level }]) => [name, level] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    container,
    console,
    file,
    root: spec?.loggers?.[ROOT_LOGGER]?.level ?? moreVerbose,
    loggers,
    customConfigMap: spec?.custom?.configMap,
  };
}

/**
 * Where the container's log framework reads its configuration: keelson's file `fileName` in the
 * role group's config directory, or the same key of the user's ConfigMap, with the volume and
 * mount that bring the ConfigMap into the pod.
 */
export function logConfigLocation(
  logging: ContainerLogging,
  configDir: string,
  fileName: string,
): { path: string; volumes: Volume[]; volumeMounts: VolumeMount[] } {
  if (!logging.customConfigMap) return { path: `${configDir}/${fileName}`, volumes: [], volumeMounts: [] };
  return {
    path: `${CUSTOM_LOG_CONFIG_DIR}/${fileName}`,
    volumes: [{ name: CUSTOM_LOG_CONFIG_VOLUME, configMap: { name: logging.customConfigMap } }],
    volumeMounts: [{ name: CUSTOM_LOG_CONFIG_VOLUME, mountPath: CUSTOM_LOG_CONFIG_DIR, readOnly: true }],
  };
}
