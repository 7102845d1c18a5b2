/**
 * Java `.properties` files, as `java.util.Properties.load` reads them.
 *
 * Java reads a properties file from a stream as ISO-8859-1, while a ConfigMap holds UTF-8, so every
 * character outside printable ASCII is written as a `\uXXXX` escape (not only those outside
 * Latin-1: an "é" written raw would arrive as two wrong characters). Keys escape everything that
 * would end or split them (`\`, `=`, `:`, whitespace, and `#`/`!` where they would start a comment);
 * values escape only what would change their meaning (`\`, line breaks, a leading space, a leading
 * `#`/`!`), so that `listeners=PLAINTEXT://host:9092` stays readable.
 */

const NAMED_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\f': '\\f',
};

function escape(text: string, isKey: boolean): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const code = text.charCodeAt(i);
    if (ch in NAMED_ESCAPES) {
      out += NAMED_ESCAPES[ch];
    } else if (ch === ' ') {
      out += isKey || i === 0 ? '\\ ' : ' ';
    } else if (ch === '=' || ch === ':') {
      out += isKey ? `\\${ch}` : ch;
    } else if (ch === '#' || ch === '!') {
      out += i === 0 ? `\\${ch}` : ch;
    } else if (code < 0x20 || code > 0x7e) {
      // Astral characters arrive here as two surrogates, each written as its own escape, as Java does.
      out += `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
    } else {
      out += ch;
    }
  }
  return out;
}

/**
 * `entries` as a `.properties` file: one `key=value` line each, sorted by key (so the file, and the
 * config hash taken from it, do not depend on the order the entries were built in), escaped so Java
 * reads back exactly the given keys and values. No comments and no timestamp.
 */
export function renderProperties(entries: Readonly<Record<string, string>>): string {
  return Object.keys(entries)
    .sort()
    .map((key) => `${escape(key, true)}=${escape(entries[key], false)}\n`)
    .join('');
}
