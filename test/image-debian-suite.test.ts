import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { debianLayer } from '../lib/image';

describe("a Debian layer of another suite (debianLayer's suite)", () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-debian-suite-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it.each(['', 'Sid', 'sid main', '../sid', 'sid/updates'])(
    'rejects %j as a suite name before apt runs',
    async (suite) => {
      const layer = debianLayer({ description: 'x', packages: ['bash'], suite });
      const context = { workDir: root, cacheDir: path.join(root, 'cache'), log: () => undefined };
      await expect(Promise.resolve(layer.inputs(context))).rejects.toThrow(
        `image: ${JSON.stringify(suite)} is not a Debian suite name`,
      );
      // Nothing was written: no private apt configuration for a name that is not a suite.
      expect(fs.existsSync(path.join(root, 'cache', 'debian'))).toBe(false);
    },
  );
});
