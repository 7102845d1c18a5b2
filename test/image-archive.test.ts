import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { buildImage, readOciArchive, type ImageRecipe, type LayerRecipe } from '../lib/image';

const LONG_NAME = `${'deep/'.repeat(25)}file-with-a-long-name.txt`;

/** A host folder with a file, an executable, a symlink and a nested file. */
function hostFolder(root: string): string {
  const dir = path.join(root, 'host');
  fs.mkdirSync(path.join(dir, 'lib'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'lib', 'a.jar'), 'jar bytes');
  fs.writeFileSync(path.join(dir, 'run.sh'), '#!/bin/sh\necho hi\n');
  fs.chmodSync(path.join(dir, 'run.sh'), 0o700);
  fs.symlinkSync('lib/a.jar', path.join(dir, 'current.jar'));
  return dir;
}

/** A tar made by GNU tar (an independent writer) with a long name and a hard link. */
function gnuTar(root: string, format: 'gnu' | 'pax'): string {
  const src = path.join(root, `tar-src-${format}`);
  fs.mkdirSync(path.join(src, 'dist', path.dirname(LONG_NAME)), { recursive: true });
  fs.writeFileSync(path.join(src, 'dist', LONG_NAME), 'long');
  fs.writeFileSync(path.join(src, 'dist', 'ünïcode.txt'), 'unicode');
  fs.writeFileSync(path.join(src, 'dist', 'big.bin'), Buffer.alloc(70_000, 7));
  fs.linkSync(path.join(src, 'dist', 'big.bin'), path.join(src, 'dist', 'big-link.bin'));
  const file = path.join(root, `dist-${format}.tar.gz`);
  execFileSync('tar', [`--format=${format}`, '--owner=123', '--group=456', '-czf', file, '-C', src, 'dist']);
  return file;
}

function recipe(root: string): ImageRecipe {
  const host = hostFolder(root);
  const gnu = gnuTar(root, 'gnu');
  const pax = gnuTar(root, 'pax');
  const base: LayerRecipe = {
    description: 'base files',
    inputs: () => ({ v: 1 }),
    build: async (tree) => {
      tree.addDirectory('data', { uid: 1000, gid: 1000, mode: 0o750 });
      tree.addFile('etc/passwd', 'root:x:0:0::/root:/bin/sh\n');
      tree.addHostDirectory('opt/app', host, { uid: 1000, gid: 1000 });
      tree.addSymlink('usr/bin/app', '/opt/app/run.sh');
    },
  };
  const fromTars: LayerRecipe = {
    description: 'from tars',
    inputs: () => ({ v: 1 }),
    build: async (tree) => {
      await tree.addTar(fs.createReadStream(gnu).pipe(zlib.createGunzip()), {
        prefix: 'gnu',
        stripComponents: 1,
      });
      await tree.addTar(fs.createReadStream(pax).pipe(zlib.createGunzip()), {
        prefix: 'pax',
        stripComponents: 1,
        ownership: { uid: 0, gid: 0 },
      });
    },
  };
  return {
    reference: 'docker.io/example/app:1.2.3',
    layers: [base, fromTars],
    config: {
      user: '10001:10001',
      entrypoint: ['/usr/bin/app'],
      cmd: ['--flag'],
      env: { PATH: '/usr/bin:/bin', APP_HOME: '/opt/app' },
      workingDir: '/opt/app',
      exposedPorts: [8080],
    },
  };
}

/** `tar -tv` of a layer blob, by GNU tar: `mode uid/gid size path[ -> target]`. */
function listLayer(blob: string): string[] {
  return execFileSync('tar', ['--numeric-owner', '-tvzf', blob], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => {
      const [mode, owner, size, , , ...rest] = line.split(/\s+/);
      return `${mode} ${owner} ${size} ${rest.join(' ')}`;
    });
}

describe('OCI image archives', () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-image-test-'));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('writes an archive whose digests verify, with the config the recipe gives', async () => {
    const built = await buildImage(recipe(path.join(root, 'a')), path.join(root, 'out-a'), {
      cacheDir: path.join(root, 'cache-a'),
    });
    expect(path.basename(built.archive)).toBe('docker.io_example_app_1.2.3.tar');
    const contents = await readOciArchive(built.archive, path.join(root, 'read-a'));
    expect(contents.reference).toBe('docker.io/example/app:1.2.3');
    expect(contents.index.manifests[0].annotations?.['org.opencontainers.image.ref.name']).toBe('1.2.3');
    expect(contents.manifest.layers.map((l) => l.digest)).toEqual(built.layers.map((l) => l.digest));
    expect(contents.config.config).toEqual({
      User: '10001:10001',
      Entrypoint: ['/usr/bin/app'],
      Cmd: ['--flag'],
      Env: ['PATH=/usr/bin:/bin', 'APP_HOME=/opt/app'],
      WorkingDir: '/opt/app',
      ExposedPorts: { '8080/tcp': {} },
    });

    // GNU tar reads the layers back with the owners, modes and order the recipe set.
    const base = listLayer(contents.blobs.get(built.layers[0].digest)!);
    expect(base).toEqual([
      'drwxr-x--- 1000/1000 0 data/',
      'drwxr-xr-x 0/0 0 etc/',
      '-rw-r--r-- 0/0 26 etc/passwd',
      'drwxr-xr-x 0/0 0 opt/',
      'drwxr-xr-x 1000/1000 0 opt/app/',
      'lrwxrwxrwx 1000/1000 0 opt/app/current.jar -> lib/a.jar',
      'drwxr-xr-x 1000/1000 0 opt/app/lib/',
      '-rw-r--r-- 1000/1000 9 opt/app/lib/a.jar',
      '-rwxr-xr-x 1000/1000 18 opt/app/run.sh',
      'drwxr-xr-x 0/0 0 usr/',
      'drwxr-xr-x 0/0 0 usr/bin/',
      'lrwxrwxrwx 0/0 0 usr/bin/app -> /opt/app/run.sh',
    ]);
    const tars = listLayer(contents.blobs.get(built.layers[1].digest)!);
    for (const [prefix, owner] of [
      ['gnu', '123/456'],
      ['pax', '0/0'],
    ]) {
      expect(tars).toContain(`-rw-r--r-- ${owner} 4 ${prefix}/${LONG_NAME}`);
      expect(tars).toContain(`-rw-r--r-- ${owner} 7 ${prefix}/ünïcode.txt`);
      // The hard link became a copy: both names are files of the same size.
      expect(tars).toContain(`-rw-r--r-- ${owner} 70000 ${prefix}/big.bin`);
      expect(tars).toContain(`-rw-r--r-- ${owner} 70000 ${prefix}/big-link.bin`);
    }
    const extracted = path.join(root, 'extracted');
    fs.mkdirSync(extracted);
    execFileSync('tar', ['-xzf', contents.blobs.get(built.layers[1].digest)!, '-C', extracted]);
    expect(fs.readFileSync(path.join(extracted, 'pax', 'big-link.bin'))).toEqual(Buffer.alloc(70_000, 7));
  });

  it('gives the same digests from the same recipe on another cache and host folder', async () => {
    const first = await buildImage(recipe(path.join(root, 'b1')), path.join(root, 'out-b1'), {
      cacheDir: path.join(root, 'cache-b1'),
    });
    const second = await buildImage(recipe(path.join(root, 'b2')), path.join(root, 'out-b2'), {
      cacheDir: path.join(root, 'cache-b2'),
    });
    expect(second.manifest.digest).toBe(first.manifest.digest);
    expect(fs.readFileSync(second.archive)).toEqual(fs.readFileSync(first.archive));
  });

  it('takes unchanged layers from the cache', async () => {
    const cacheDir = path.join(root, 'cache-c');
    const first = await buildImage(recipe(path.join(root, 'c1')), path.join(root, 'out-c1'), { cacheDir });
    expect(first.cachedLayers).toBe(0);
    const second = await buildImage(recipe(path.join(root, 'c2')), path.join(root, 'out-c2'), { cacheDir });
    expect(second.cachedLayers).toBe(2);
    expect(second.manifest.digest).toBe(first.manifest.digest);
  });

  it("keeps each build's stored archive when another build of the same reference reuses the output folder", async () => {
    const cacheDir = path.join(root, 'cache-e');
    const out = path.join(root, 'out-e');
    const changed = (r: ImageRecipe): ImageRecipe => ({
      ...r,
      config: { ...r.config, env: { CHANGED: '1' } },
    });
    const first = await buildImage(recipe(path.join(root, 'e1')), out, { cacheDir });
    const second = await buildImage(changed(recipe(path.join(root, 'e2'))), out, { cacheDir });
    expect(second.reference).toBe(first.reference);
    expect(second.archive).toBe(first.archive);
    expect(second.manifest.digest).not.toBe(first.manifest.digest);
    // The output folder's file is now the second build; the first build's stored archive is not.
    const read = async (file: string, dir: string) =>
      (await readOciArchive(file, path.join(root, dir))).index;
    expect(JSON.stringify(await read(first.archive, 'read-e1'))).toContain(second.manifest.digest);
    expect(JSON.stringify(await read(first.storedArchive, 'read-e2'))).toContain(first.manifest.digest);
  });

  it('rejects an archive whose blob does not match its digest', async () => {
    const built = await buildImage(recipe(path.join(root, 'd')), path.join(root, 'out-d'), {
      cacheDir: path.join(root, 'cache-d'),
    });
    const tampered = path.join(root, 'tampered.tar');
    const bytes = fs.readFileSync(built.archive);
    // The first blob's first body byte sits right after the blobs/, blobs/sha256/ and its own header.
    bytes[3 * 512] ^= 0xff;
    fs.writeFileSync(tampered, bytes);
    await expect(readOciArchive(tampered, path.join(root, 'read-d'))).rejects.toThrow(
      /has the digest sha256:/,
    );
  });
});
