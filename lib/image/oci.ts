/**
 * OCI image layout and archive: gzip-compressed layer blobs, the image config, the manifest, the
 * index naming the image, and one tar holding them all — what `ctr images import`,
 * `docker load` (25+), `skopeo copy oci-archive:…` and `crane push` take.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { readTar, tarStream, type TarEntry } from './tar';

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** The annotation containerd names an imported image by. */
export const CONTAINERD_IMAGE_NAME = 'io.containerd.image.name';
/** The OCI annotation of an image's tag in a layout. */
export const OCI_REF_NAME = 'org.opencontainers.image.ref.name';

/**
 * gzip level of layer blobs. 6 is gzip's default; what matters for reproducibility is that it is
 * fixed (node bundles its zlib, so one Node version gives the same bytes).
 */
export const LAYER_GZIP_LEVEL = 6;

/** A content-addressed blob. */
export interface Descriptor {
  readonly mediaType: string;
  /** `sha256:<hex>` */
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: { readonly architecture: string; readonly os: string };
}

/** A written layer: its compressed blob and the digest of its uncompressed tar. */
export interface LayerBlob {
  readonly digest: string;
  readonly diffId: string;
  readonly size: number;
}

/** What runs, as who, from an image. */
export interface ImageRuntimeConfig {
  /** `uid[:gid]` or a name from the image's /etc/passwd. */
  readonly user?: string;
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  /** Kept in the order given. */
  readonly env?: Readonly<Record<string, string>>;
  readonly workingDir?: string;
  readonly exposedPorts?: readonly number[];
  readonly volumes?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

export function sha256(data: Buffer | string): string {
  return `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
}

/** `blobs/sha256/<hex>` of a digest. */
export function blobPath(root: string, digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return path.join(root, 'blobs', algorithm, hex);
}

function hashingTap(hash: crypto.Hash, counter: { bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      counter.bytes += chunk.length;
      callback(null, chunk);
    },
  });
}

/** Writes a layer's entries as a gzip blob into `<blobRoot>/blobs/sha256/`. */
export async function writeLayerBlob(entries: Iterable<TarEntry>, blobRoot: string): Promise<LayerBlob> {
  const dir = path.join(blobRoot, 'blobs', 'sha256');
  fs.mkdirSync(dir, { recursive: true });
  const temporary = path.join(dir, `.partial-${process.pid}-${crypto.randomBytes(6).toString('hex')}`);
  const tarHash = crypto.createHash('sha256');
  const gzHash = crypto.createHash('sha256');
  const tarBytes = { bytes: 0 };
  const gzBytes = { bytes: 0 };
  try {
    await pipeline(
      Readable.from(tarStream(entries)),
      hashingTap(tarHash, tarBytes),
      zlib.createGzip({ level: LAYER_GZIP_LEVEL }),
      hashingTap(gzHash, gzBytes),
      fs.createWriteStream(temporary),
    );
    const digest = `sha256:${gzHash.digest('hex')}`;
    fs.renameSync(temporary, blobPath(blobRoot, digest));
    return { digest, diffId: `sha256:${tarHash.digest('hex')}`, size: gzBytes.bytes };
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

/** Writes a JSON blob (canonical: keys in the order built, no whitespace) and returns its descriptor. */
export function writeJsonBlob(blobRoot: string, mediaType: string, value: unknown): Descriptor {
  const data = Buffer.from(JSON.stringify(value));
  const digest = sha256(data);
  const file = blobPath(blobRoot, digest);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (!fs.existsSync(file)) fs.writeFileSync(file, data);
  return { mediaType, digest, size: data.length };
}

/** The OCI image config of layers run as `runtime` says. */
export function imageConfig(
  layers: readonly LayerBlob[],
  runtime: ImageRuntimeConfig,
  history: readonly string[],
): object {
  const config: Record<string, unknown> = {};
  if (runtime.user !== undefined) config.User = runtime.user;
  if (runtime.exposedPorts?.length) {
    config.ExposedPorts = Object.fromEntries(runtime.exposedPorts.map((port) => [`${port}/tcp`, {}]));
  }
  if (runtime.env) config.Env = Object.entries(runtime.env).map(([key, value]) => `${key}=${value}`);
  if (runtime.entrypoint) config.Entrypoint = [...runtime.entrypoint];
  if (runtime.cmd) config.Cmd = [...runtime.cmd];
  if (runtime.volumes?.length) config.Volumes = Object.fromEntries(runtime.volumes.map((v) => [v, {}]));
  if (runtime.workingDir !== undefined) config.WorkingDir = runtime.workingDir;
  if (runtime.labels) config.Labels = { ...runtime.labels };
  return {
    created: '1970-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config,
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
    history: history.map((createdBy) => ({ created: '1970-01-01T00:00:00Z', created_by: createdBy })),
  };
}

/** `docker.io/library/zookeeper:3.9.4` → its tag, `3.9.4`. */
export function referenceTag(reference: string): string {
  const lastSlash = reference.lastIndexOf('/');
  const colon = reference.indexOf(':', lastSlash + 1);
  if (colon === -1 || reference.includes('@')) {
    throw new Error(`image: the reference ${JSON.stringify(reference)} must end in a tag (repository:tag)`);
  }
  return reference.slice(colon + 1);
}

/** The manifest and index of an image whose layer blobs are already in `blobRoot`. */
export function writeImageMetadata(
  blobRoot: string,
  reference: string,
  layers: readonly LayerBlob[],
  runtime: ImageRuntimeConfig,
  history: readonly string[],
): { readonly manifest: Descriptor; readonly config: Descriptor; readonly index: object } {
  const config = writeJsonBlob(blobRoot, MEDIA_TYPES.config, imageConfig(layers, runtime, history));
  const manifest = writeJsonBlob(blobRoot, MEDIA_TYPES.manifest, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((layer) => ({ mediaType: MEDIA_TYPES.layer, digest: layer.digest, size: layer.size })),
  });
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.index,
    manifests: [
      {
        mediaType: MEDIA_TYPES.manifest,
        digest: manifest.digest,
        size: manifest.size,
        annotations: { [CONTAINERD_IMAGE_NAME]: reference, [OCI_REF_NAME]: referenceTag(reference) },
        platform: { architecture: 'amd64', os: 'linux' },
      },
    ],
  };
  return { manifest, config, index };
}

/**
 * Writes the OCI archive: `oci-layout`, `index.json` and the blobs the manifest names, in that
 * order, taking the blobs from `blobRoot`. Written beside `file` and renamed into place.
 */
export async function writeOciArchive(
  file: string,
  blobRoot: string,
  index: object,
  blobs: readonly string[],
): Promise<void> {
  const dirEntry = (p: string): TarEntry => ({ path: p, type: 'directory', mode: 0o755, uid: 0, gid: 0 });
  const entries: TarEntry[] = [
    dirEntry('blobs'),
    dirEntry('blobs/sha256'),
    ...[...new Set(blobs)].sort().map((digest): TarEntry => {
      const hostPath = blobPath(blobRoot, digest);
      return {
        path: `blobs/sha256/${digest.split(':')[1]}`,
        type: 'file',
        mode: 0o644,
        uid: 0,
        gid: 0,
        content: { hostPath, size: fs.statSync(hostPath).size },
      };
    }),
    {
      path: 'index.json',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      content: { data: Buffer.from(JSON.stringify(index)) },
    },
    {
      path: 'oci-layout',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      content: { data: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })) },
    },
  ];
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.partial-${process.pid}`;
  try {
    await pipeline(Readable.from(tarStream(entries)), fs.createWriteStream(temporary));
    fs.renameSync(temporary, file);
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

/** An archive as {@link readOciArchive} found it, every digest checked. */
export interface OciArchiveContents {
  readonly index: { manifests: Descriptor[] };
  /** The name containerd gives the image. */
  readonly reference: string;
  readonly manifest: { config: Descriptor; layers: Descriptor[] };
  readonly config: {
    config: {
      User?: string;
      Entrypoint?: string[];
      Cmd?: string[];
      Env?: string[];
      WorkingDir?: string;
      ExposedPorts?: Record<string, object>;
    };
    rootfs: { diff_ids: string[] };
  };
  /** Host paths of the extracted blobs, by digest. */
  readonly blobs: ReadonlyMap<string, string>;
}

/**
 * Unpacks an OCI archive into `workDir` and checks it: every blob's sha256 matches its name and
 * its descriptor's size, the layers' uncompressed digests match the config's `diff_ids`.
 * Throws naming the first mismatch.
 */
export async function readOciArchive(file: string, workDir: string): Promise<OciArchiveContents> {
  fs.mkdirSync(workDir, { recursive: true });
  const files = new Map<string, string>();
  let counter = 0;
  await readTar(fs.createReadStream(file), (entry) => {
    if (entry.type !== 'file') return undefined;
    const target = path.join(workDir, `f${(counter += 1)}`);
    files.set(entry.path, target);
    return target;
  });
  const readJson = (name: string): unknown => {
    const hostPath = files.get(name);
    if (!hostPath) throw new Error(`image archive ${file}: ${name} is missing`);
    return JSON.parse(fs.readFileSync(hostPath, 'utf8'));
  };
  const blobs = new Map<string, string>();
  for (const [name, hostPath] of files) {
    const match = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name);
    if (!match) continue;
    const actual = sha256(fs.readFileSync(hostPath));
    if (actual !== `sha256:${match[1]}`)
      throw new Error(`image archive ${file}: ${name} has the digest ${actual}`);
    blobs.set(actual, hostPath);
  }
  const layout = readJson('oci-layout') as { imageLayoutVersion?: string };
  if (layout.imageLayoutVersion !== '1.0.0')
    throw new Error(`image archive ${file}: oci-layout is not version 1.0.0`);
  const blobJson = (descriptor: Descriptor, what: string): unknown => {
    const hostPath = blobs.get(descriptor.digest);
    if (!hostPath) throw new Error(`image archive ${file}: the ${what} ${descriptor.digest} is missing`);
    if (fs.statSync(hostPath).size !== descriptor.size) {
      throw new Error(
        `image archive ${file}: the ${what} ${descriptor.digest} is not ${descriptor.size} bytes`,
      );
    }
    return JSON.parse(fs.readFileSync(hostPath, 'utf8'));
  };
  const index = readJson('index.json') as OciArchiveContents['index'];
  if (index.manifests.length !== 1)
    throw new Error(`image archive ${file}: index.json lists ${index.manifests.length} manifests, not 1`);
  const manifestDescriptor = index.manifests[0];
  const reference = manifestDescriptor.annotations?.[CONTAINERD_IMAGE_NAME] ?? '';
  const manifest = blobJson(manifestDescriptor, 'manifest') as OciArchiveContents['manifest'];
  const config = blobJson(manifest.config, 'config') as OciArchiveContents['config'];
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new Error(
      `image archive ${file}: the config lists ${config.rootfs.diff_ids.length} layers, the manifest ${manifest.layers.length}`,
    );
  }
  for (const [i, layer] of manifest.layers.entries()) {
    const hostPath = blobs.get(layer.digest);
    if (!hostPath) throw new Error(`image archive ${file}: the layer ${layer.digest} is missing`);
    if (fs.statSync(hostPath).size !== layer.size)
      throw new Error(`image archive ${file}: the layer ${layer.digest} is not ${layer.size} bytes`);
    const hash = crypto.createHash('sha256');
    await pipeline(
      fs.createReadStream(hostPath),
      zlib.createGunzip(),
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          callback();
        },
      }),
    );
    const diffId = `sha256:${hash.digest('hex')}`;
    if (diffId !== config.rootfs.diff_ids[i]) {
      throw new Error(
        `image archive ${file}: layer ${i} uncompresses to ${diffId}, the config says ${config.rootfs.diff_ids[i]}`,
      );
    }
  }
  return { index, reference, manifest, config, blobs };
}
