import { CommanderError } from 'commander';
import { keelsonCli } from '../lib/cli';
import { integerAtLeast, namespaceList, secretReference } from '../lib/cli/flags';
import { watchedNamespaces } from '../lib/cli/operator-command';
import { BEACON } from './example-product/beacon';

/** Runs the keelson command line on `args` and returns what it wrote to stderr when it refused them. */
async function refusal(...args: string[]): Promise<string> {
  const program = keelsonCli([BEACON]);
  let stderr = '';
  for (const command of [program, ...program.commands]) {
    command
      .exitOverride()
      .configureOutput({ writeErr: (text) => (stderr += text), writeOut: () => undefined });
  }
  await expect(program.parseAsync(['node', 'keelson', ...args])).rejects.toBeInstanceOf(CommanderError);
  return stderr;
}

describe('numeric flags', () => {
  it('accept whole numbers at or above the minimum', () => {
    expect(integerAtLeast(1)('4')).toBe(4);
    expect(integerAtLeast(0)('0')).toBe(0);
  });

  it.each(['abc', '', '1.5', '0', '-2'])('refuse %j where at least 1 is required', (value) => {
    expect(() => integerAtLeast(1)(value)).toThrow(`must be a whole number >= 1, got "${value}"`);
  });

  it('stop `keelson operator` before it starts, naming the flag and the rule', async () => {
    expect(await refusal('operator', '--workers', 'abc')).toMatch(
      /option '--workers <n>' argument 'abc' is invalid\. must be a whole number >= 1/,
    );
    expect(await refusal('operator', '--resync', '-1')).toMatch(/--resync .* must be a whole number >= 0/);
  });

  it('check values from the environment the same way', async () => {
    process.env.KEELSON_WORKERS = 'many';
    try {
      expect(await refusal('operator')).toMatch(
        /--workers .* from env 'KEELSON_WORKERS' is invalid\. must be a whole number >= 1/,
      );
    } finally {
      delete process.env.KEELSON_WORKERS;
    }
  });

  it('stop `keelson deploy` on a negative replica count', async () => {
    expect(await refusal('deploy', '--out', '/tmp/unused', '--replicas', '-1')).toMatch(
      /--replicas .* must be a whole number >= 0/,
    );
    expect(await refusal('deploy', '--out', '/tmp/unused', '--memory-limit', '64')).toMatch(
      /--memory-limit .* must be a whole number >= 128/,
    );
  });
});

describe('namespace flags', () => {
  it('read a comma-separated list, blanks and repeats ignored; "all" or nothing is every namespace', () => {
    expect(namespaceList('data, streaming,,data')).toEqual(['data', 'streaming']);
    expect(namespaceList('all')).toBeUndefined();
    expect(namespaceList('')).toBeUndefined();
  });

  it('stop `keelson deploy` on a namespace Kubernetes would refuse, naming the flag and the rule', async () => {
    expect(await refusal('deploy', '--out', '/tmp/unused', '--namespace', 'Keelson')).toMatch(
      /option '--namespace <ns>' argument 'Keelson' is invalid\. namespace "Keelson" must consist of lower case letters, digits and '-'/,
    );
    expect(await refusal('deploy', '--out', '/tmp/unused', '--watch-namespaces', 'data,team_a')).toMatch(
      /option '--watch-namespaces <list>' argument 'data,team_a' is invalid\. namespace "team_a" must consist/,
    );
  });

  it('read each --ca-secret <namespace>/<name> into one list, and stop `keelson deploy` on one Kubernetes would refuse', async () => {
    expect(secretReference('data/b', secretReference('security/a'))).toEqual([
      { namespace: 'security', name: 'a' },
      { namespace: 'data', name: 'b' },
    ]);
    expect(await refusal('deploy', '--out', '/tmp/unused', '--ca-secret', 'corp-ca')).toMatch(
      /option '--ca-secret <namespace\/name>' argument 'corp-ca' is invalid\. must be <namespace>\/<secret name>/,
    );
    expect(await refusal('deploy', '--out', '/tmp/unused', '--ca-secret', 'Security/corp-ca')).toMatch(
      /argument 'Security\/corp-ca' is invalid\. namespace "Security" must consist/,
    );
  });

  it('stop `keelson operator` on a namespace Kubernetes would refuse, from the flag or the environment', async () => {
    expect(await refusal('operator', '--watch-namespaces', 'Data')).toMatch(
      /--watch-namespaces <list>' argument 'Data' is invalid\. namespace "Data" must consist/,
    );
    process.env.KEELSON_WATCH_NAMESPACES = 'ok,-bad';
    try {
      expect(await refusal('operator')).toMatch(
        /from env 'KEELSON_WATCH_NAMESPACES' is invalid\. namespace "-bad"/,
      );
    } finally {
      delete process.env.KEELSON_WATCH_NAMESPACES;
    }
  });

  it('take the deprecated --namespaces and KEELSON_NAMESPACES with a warning naming the new name', () => {
    const from =
      (sources: Record<string, string>) =>
      (option: string): string | undefined =>
        sources[option] ?? 'default';
    expect(watchedNamespaces({ namespaces: ['a'] }, from({ namespaces: 'cli' }))).toEqual({
      namespaces: ['a'],
      warning: '--namespaces is deprecated; use --watch-namespaces',
    });
    expect(watchedNamespaces({ namespaces: ['a'] }, from({ namespaces: 'env' }))).toEqual({
      namespaces: ['a'],
      warning: 'KEELSON_NAMESPACES is deprecated; use KEELSON_WATCH_NAMESPACES',
    });
    expect(
      watchedNamespaces(
        { namespaces: ['a'], watchNamespaces: ['b'] },
        from({ namespaces: 'env', watchNamespaces: 'cli' }),
      ),
    ).toEqual({
      namespaces: ['b'],
      warning:
        'KEELSON_NAMESPACES is deprecated and ignored here: --watch-namespaces (KEELSON_WATCH_NAMESPACES) is set',
    });
    expect(watchedNamespaces({ watchNamespaces: ['b'] }, from({ watchNamespaces: 'cli' }))).toEqual({
      namespaces: ['b'],
    });
  });
});
