/**
 * YAML and JSON config files, keys sorted at every level so the file, and the config hash taken
 * from it, do not depend on the order the document was built in.
 */
import { Document, visit } from 'yaml';
import { canonicalJson } from '../hash';

/**
 * How YAML 1.1 resolves plain scalars. Many products read YAML with 1.1 parsers (SnakeYAML,
 * PyYAML), where `on`, `yes`, `n`, `0755` and `12:30` are not strings; the writer itself speaks 1.2,
 * so strings that either version would read as something else are quoted.
 */
const YAML_11_PLAIN_TYPES = new Document(null, { version: '1.1' }).schema.tags.flatMap((tag) =>
  tag.test ? [tag.test] : [],
);

/** How deep {@link isJsonData} looks before it gives up (a deeper document is just not cached). */
const MAX_CACHED_DEPTH = 64;

/**
 * True when `value` is JSON data that `canonicalJson` writes without loss: strings, finite numbers
 * other than -0, booleans, null, plain objects and arrays without holes. Only for such data does
 * equal canonical JSON mean equal YAML.
 */
function isJsonData(value: unknown, depth = 0): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (typeof value !== 'object' || depth > MAX_CACHED_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value) || !isJsonData(value[i], depth + 1)) return false;
    }
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key];
    // Both writers leave out a field that is undefined.
    if (field !== undefined && !isJsonData(field, depth + 1)) return false;
  }
  return true;
}

/**
 * Rendered YAML by the canonical JSON of its document, least recently used first. The yaml package
 * takes far longer to write a document than to hash or compare its JSON, and the same file is
 * rendered again on every reconcile of a stacklet and for every stacklet that shares it. Bounded by
 * characters so the operator's memory stays flat.
 */
const yamlCache = new Map<string, string>();
const YAML_CACHE_MAX_CHARS = 1 << 19;
let yamlCacheChars = 0;

/**
 * `doc` as YAML: keys sorted, no anchors or aliases for repeated objects, no line folding, and
 * strings a YAML 1.1 or 1.2 parser could mistake for another type quoted.
 */
export function renderYaml(doc: unknown): string {
  if (!isJsonData(doc)) return writeYaml(doc);
  const key = canonicalJson(doc);
  const cached = yamlCache.get(key);
  if (cached !== undefined) {
    yamlCache.delete(key);
    yamlCache.set(key, cached);
    return cached;
  }
  const text = writeYaml(doc);
  const size = key.length + text.length;
  if (size <= YAML_CACHE_MAX_CHARS / 16) {
    yamlCache.set(key, text);
    yamlCacheChars += size;
    for (const [oldKey, oldText] of yamlCache) {
      if (yamlCacheChars <= YAML_CACHE_MAX_CHARS) break;
      yamlCache.delete(oldKey);
      yamlCacheChars -= oldKey.length + oldText.length;
    }
  }
  return text;
}

function writeYaml(doc: unknown): string {
  const document = new Document(doc, { aliasDuplicateObjects: false, sortMapEntries: true });
  visit(document, {
    Scalar(_key, node) {
      if (
        typeof node.value === 'string' &&
        YAML_11_PLAIN_TYPES.some((test) => test.test(node.value as string))
      ) {
        node.type = 'QUOTE_DOUBLE';
      }
    },
  });
  return document.toString({ lineWidth: 0 });
}

/** `doc` as JSON: keys sorted, indented by two spaces, ending with a newline. */
export function renderJson(doc: unknown): string {
  return `${canonicalJson(doc, 2)}\n`;
}
