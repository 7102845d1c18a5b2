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

/**
 * `doc` as YAML: keys sorted, no anchors or aliases for repeated objects, no line folding, and
 * strings a YAML 1.1 or 1.2 parser could mistake for another type quoted.
 */
export function renderYaml(doc: unknown): string {
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
