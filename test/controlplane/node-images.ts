/**
 * The images the real node needs and its own test uses, built here with keelson's OCI writer
 * (lib/image) since no registry is reachable:
 *
 * - the pod sandbox ("pause") image: one static program of ours (node/pause.go) that holds the
 *   pod's namespaces and reaps orphans;
 * - a busybox image: Debian's `busybox-static` binary with its applet links (sh, nc, httpd,
 *   wget, ...), for tests that need a shell in a pod.
 *
 * Both are cached like every keelson image ($KEELSON_CACHE/images); references are under
 * `keelson.test/`, a name no registry answers to, so nothing is ever pulled for them.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildImage, keelsonCacheDir, type BuiltImage, type ImageRecipe } from '../../lib/image';

/** Where Debian's busybox-static puts its binary. */
const BUSYBOX = '/bin/busybox';

export interface NodeImages {
  readonly pause: BuiltImage;
  readonly busybox: BuiltImage;
}

function fileDigest(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** The sandbox image: `/pause`, run as nobody (65535), as upstream's pause image does. */
export function pauseImageRecipe(pauseBinary: string): ImageRecipe {
  const binary = fs.realpathSync(pauseBinary);
  const digest = fileDigest(binary);
  return {
    reference: `keelson.test/pause:${digest.slice(0, 12)}`,
    layers: [
      {
        description: 'the pause program',
        inputs: () => ({ pause: digest }),
        build: async (tree) => tree.addHostFile('pause', binary, { mode: 0o755 }),
      },
    ],
    config: { user: '65535:65535', entrypoint: ['/pause'] },
  };
}

/** The applets of a busybox binary (`busybox --list-full`: `bin/sh`, `usr/bin/wget`, ...). */
function busyboxApplets(binary: string): string[] {
  return execFileSync(binary, ['--list-full'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && line !== 'bin/busybox');
}

/**
 * A minimal image with Debian's static busybox: every applet linked under its usual path, a
 * writable /tmp, and /etc/passwd naming root and keelson's uid 10001.
 */
export function busyboxImageRecipe(): ImageRecipe {
  if (!fs.existsSync(BUSYBOX)) {
    throw new Error(`${BUSYBOX} is missing: apt-get install busybox-static`);
  }
  const digest = fileDigest(BUSYBOX);
  return {
    reference: `keelson.test/busybox:${digest.slice(0, 12)}`,
    layers: [
      {
        description: "Debian's busybox-static",
        inputs: () => ({ busybox: digest, applets: busyboxApplets(BUSYBOX) }),
        build: async (tree) => {
          tree.addHostFile('bin/busybox', BUSYBOX, { mode: 0o755 });
          for (const applet of busyboxApplets(BUSYBOX)) tree.addSymlink(applet, '/bin/busybox');
          tree.addDirectory('tmp', { mode: 0o1777 });
          tree.addFile('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nkeelson:x:10001:10001::/tmp:/bin/sh\n');
          tree.addFile('etc/group', 'root:x:0:\nkeelson:x:10001:\n');
        },
      },
    ],
    config: { user: '10001:10001', entrypoint: ['/bin/sh'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } },
  };
}

/** Builds (or takes from the cache) the node's images; archives land in the cache. */
export async function buildNodeImages(
  pauseBinary: string,
  log: (message: string) => void,
): Promise<NodeImages> {
  const outDir = path.join(keelsonCacheDir(), 'node', 'images');
  const started = Date.now();
  const pause = await buildImage(pauseImageRecipe(pauseBinary), outDir, { log });
  const busybox = await buildImage(busyboxImageRecipe(), outDir, { log });
  log(
    `node images ready (${((Date.now() - started) / 1000).toFixed(1)} s): ${pause.reference}, ${busybox.reference}`,
  );
  return { pause, busybox };
}
