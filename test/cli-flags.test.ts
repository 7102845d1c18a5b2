import { CommanderError } from 'commander';
import { keelsonCli } from '../lib/cli';
import { integerAtLeast } from '../lib/cli/flags';
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
