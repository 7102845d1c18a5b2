/**
 * Environment files a container's start script sources (`. /config/env.sh`): one `NAME=value`
 * assignment per line, safe to read with any POSIX shell.
 */

/** What a POSIX shell accepts as a variable name in an assignment. */
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Values made only of these are written bare; `~` is not among them (the shell would expand it). */
const BARE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** `value` as one shell word: bare when nothing in it is special to a shell, else single-quoted. */
export function shellQuote(value: string): string {
  if (BARE.test(value)) {
    return value;
  }
  // Inside single quotes nothing is special; a quote itself ends the string, is escaped, and reopens it.
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * `entries` as shell assignments sorted by name, each value single-quoted unless it is made only of
 * characters the shell never interprets, so `$`, backticks, spaces and line breaks arrive as
 * written. Throws, listing them all, for names a shell would not take as a variable and for values
 * holding a NUL character, which no shell string can carry.
 */
export function renderEnvFile(entries: Readonly<Record<string, string>>): string {
  const names = Object.keys(entries).sort();
  const problems = [
    ...names
      .filter((name) => !SHELL_NAME.test(name))
      .map(
        (name) =>
          `${JSON.stringify(name)} is not a valid environment variable name ` +
          '(letters, digits and _, not starting with a digit)',
      ),
    ...names
      .filter((name) => entries[name].includes('\u0000'))
      .map((name) => `the value of ${name} contains a NUL character`),
  ];
  if (problems.length > 0) {
    throw new Error(`cannot write an env file: ${problems.join('; ')}`);
  }
  return names.map((name) => `${name}=${shellQuote(entries[name])}\n`).join('');
}
