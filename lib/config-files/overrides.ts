/**
 * Config files with the user's `configOverrides` applied.
 *
 * A product names its files and their formats; the user overrides them per file name:
 * `configOverrides: { "broker.properties": { "log.retention.hours": "72" } }`.
 * - Key/value formats (properties, Hadoop XML, logback XML, env): the override's entries are set on top of the
 *   product's; an entry whose value is `null` removes the key from the file.
 * - YAML and JSON: the override is deep-merged onto the document (objects merge, arrays and other
 *   values are replaced, `null` removes a key; see `lib/merge.ts`).
 */
import { deepMerge } from '../merge';
import { renderEnvFile } from './env-file';
import { renderHadoopXml } from './hadoop-xml';
import { renderLogbackXml } from './logback-xml';
import { renderProperties } from './properties';
import { renderJson, renderYaml } from './yaml-json';

/** The formats keelson writes config files in. */
export type ConfigFileFormat = 'properties' | 'hadoop-xml' | 'logback-xml' | 'yaml' | 'json' | 'env';

/** One config file of a product: its format and the content keelson would write without overrides. */
export interface ConfigFileSpec {
  readonly format: ConfigFileFormat;
  /** Key/value formats: a map of strings. YAML and JSON: the document. */
  readonly defaults: Readonly<Record<string, string>> | object;
}

const KEY_VALUE_FORMATS: ReadonlySet<ConfigFileFormat> = new Set([
  'properties',
  'hadoop-xml',
  'logback-xml',
  'env',
]);

function applyKeyValueOverrides(base: object, overrides: object | null | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  const problems: string[] = [];
  const set = (key: string, value: unknown): void => {
    if (value === null) {
      delete result[key];
    } else if (typeof value === 'string') {
      Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
    } else if (value !== undefined) {
      problems.push(`the value of ${JSON.stringify(key)} must be a string, not ${JSON.stringify(value)}`);
    }
  };
  for (const [key, value] of Object.entries(base)) {
    set(key, value);
  }
  for (const [key, value] of Object.entries(overrides ?? {})) {
    set(key, value);
  }
  if (problems.length > 0) {
    throw new Error(`cannot write a key/value config file: ${problems.join('; ')}`);
  }
  return result;
}

/**
 * The content of a file after `overrides`: for key/value formats the map of strings the file will
 * hold, for YAML and JSON the merged document. Neither input is changed. Throws when a key/value
 * entry is neither a string nor `null`.
 */
export function applyConfigOverrides(
  format: ConfigFileFormat,
  base: object,
  overrides?: object | null,
): Record<string, string> | unknown {
  if (KEY_VALUE_FORMATS.has(format)) {
    return applyKeyValueOverrides(base, overrides);
  }
  return deepMerge<unknown>(base, overrides ?? undefined);
}

/**
 * The text of a config file in `format`: `base` (the product's content) with the user's `overrides`
 * applied (see the rules at the top of this file), written deterministically so the config hash
 * changes only when the content does. Throws when the content cannot be written in the format.
 */
export function renderConfigFile(format: ConfigFileFormat, base: object, overrides?: object | null): string {
  const content = applyConfigOverrides(format, base, overrides);
  switch (format) {
    case 'properties':
      return renderProperties(content as Record<string, string>);
    case 'hadoop-xml':
      return renderHadoopXml(content as Record<string, string>);
    case 'logback-xml':
      return renderLogbackXml(content as Record<string, string>);
    case 'env':
      return renderEnvFile(content as Record<string, string>);
    case 'yaml':
      return renderYaml(content);
    case 'json':
      return renderJson(content);
  }
}
