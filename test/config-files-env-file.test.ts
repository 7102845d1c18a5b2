import { execFileSync } from 'node:child_process';
import { renderEnvFile } from '../lib/config-files';

/** What a POSIX shell sees after sourcing `text`, for the given names. */
function sourced(text: string, names: string[]): Record<string, string> {
  const script = `${text}\nfor n in ${names.join(' ')}; do eval "printf '%s\\0' \\"\\$$n\\""; done`;
  const values = execFileSync('sh', ['-c', script], { encoding: 'utf8' }).split('\0');
  return Object.fromEntries(names.map((name, i) => [name, values[i]]));
}

describe('renderEnvFile', () => {
  it('writes NAME=value lines sorted by name, bare when nothing needs quoting', () => {
    expect(renderEnvFile({ JAVA_HOME: '/usr/lib/jvm', A_PORT: '9092', OPTS: '-Dx=1,y:2' })).toBe(
      'A_PORT=9092\nJAVA_HOME=/usr/lib/jvm\nOPTS=-Dx=1,y:2\n',
    );
  });

  it('single-quotes values with spaces, shell syntax or quotes', () => {
    expect(renderEnvFile({ A: 'two words', B: '$HOME `id` "x"', C: "it's", D: '', E: '~/x' })).toBe(
      "A='two words'\nB='$HOME `id` \"x\"'\nC='it'\\''s'\nD=''\nE='~/x'\n",
    );
  });

  it('gives a shell exactly the values written', () => {
    const entries = {
      PLAIN: 'value',
      SPACES: '  a  b  ',
      DOLLAR: '$HOME ${PATH} $(id)',
      TICKS: '`id`',
      QUOTES: `it's "quoted" ''`,
      BACKSLASH: 'a\\nb\\',
      NEWLINE: 'line one\nline two\n',
      TILDE: '~root',
      GLOB: '*',
      UNICODE: 'café 😀',
      EMPTY: '',
    };
    expect(sourced(renderEnvFile(entries), Object.keys(entries))).toEqual(entries);
  });

  it('rejects invalid names, listing them all', () => {
    expect(() => renderEnvFile({ OK: '1', '1ST': 'x', 'WITH-DASH': 'y', 'a.b': 'z', '': 'e' })).toThrow(
      'cannot write an env file: "" is not a valid environment variable name (letters, digits and _, not starting with a digit); ' +
        '"1ST" is not a valid environment variable name (letters, digits and _, not starting with a digit); ' +
        '"WITH-DASH" is not a valid environment variable name (letters, digits and _, not starting with a digit); ' +
        '"a.b" is not a valid environment variable name (letters, digits and _, not starting with a digit)',
    );
  });

  it('rejects a NUL character in a value', () => {
    expect(() => renderEnvFile({ A: 'a\u0000b' })).toThrow(
      'cannot write an env file: the value of A contains a NUL character',
    );
  });
});
