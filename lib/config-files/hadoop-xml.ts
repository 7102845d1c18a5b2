/**
 * Hadoop's XML configuration files (`core-site.xml`, `hdfs-site.xml`, `hive-site.xml`, ...): a
 * `<configuration>` of `<property>` elements with a `<name>` and a `<value>`.
 */

/** Characters XML 1.0 cannot hold at all, not even as character references. */
const NOT_XML =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const XML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '\r': '&#13;',
};

function escapeXml(text: string): string {
  // A raw carriage return would be read back as a line feed, so it is written as a reference.
  return text.replace(/[&<>\r]/g, (ch) => XML_ESCAPES[ch]);
}

/**
 * `entries` as a Hadoop configuration file, properties sorted by name (so the file, and the config
 * hash taken from it, do not depend on the order the entries were built in), names and values
 * XML-escaped. Throws, naming the properties, when a name or value holds a character XML cannot
 * carry (control characters other than tab and line breaks).
 */
export function renderHadoopXml(entries: Readonly<Record<string, string>>): string {
  const keys = Object.keys(entries).sort();
  const invalid = keys.filter((key) => NOT_XML.test(key) || NOT_XML.test(entries[key]));
  if (invalid.length > 0) {
    throw new Error(
      `cannot write Hadoop XML: ${invalid.map((key) => JSON.stringify(key)).join(', ')} ` +
        'contain characters XML 1.0 cannot represent (control characters other than tab, CR and LF)',
    );
  }
  const properties = keys.map(
    (key) =>
      `  <property>\n    <name>${escapeXml(key)}</name>\n    <value>${escapeXml(entries[key])}</value>\n  </property>\n`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n<configuration>\n${properties.join('')}</configuration>\n`;
}
