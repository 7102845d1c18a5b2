/**
 * Image recipes and their build. A recipe is a list of layers, each with the inputs its content
 * depends on and a function filling a {@link FileTree}, plus the runtime config (user, entrypoint,
 * env, workdir). A layer is built once per distinct inputs and kept in the cache
 * ($KEELSON_CACHE/images, default ~/.cache/keelson/images) under the sha256 of those inputs, so a
 * second build of the same recipe only rewrites the small JSON blobs and links the archive.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileTree } from './file-tree';
import {
  blobPath,
  writeImageMetadata,
  writeLayerBlob,
  writeOciArchive,
  type Descriptor,
  type ImageRuntimeConfig,
  type LayerBlob,
} from './oci';

/**
 * Bumped when the layer writer's output changes for the same inputs (tar format, gzip level), so
 * that cached layers of an older writer are not reused.
 */
export const LAYER_FORMAT = 1;

/** keelson's cache root: $KEELSON_CACHE, default ~/.cache/keelson. */
export function keelsonCacheDir(): string {
  return process.env.KEELSON_CACHE ?? path.join(os.homedir(), '.cache', 'keelson');
}

/** What a layer's build gets besides its tree. */
export interface LayerBuildContext {
  /** A scratch folder of this build, removed afterwards. */
  readonly workDir: string;
  /** keelson's cache root (downloads are kept under it). */
  readonly cacheDir: string;
  readonly log: (message: string) => void;
}

/** One layer of an image. */
export interface LayerRecipe {
  /** What the layer holds, for logs and the image's history. */
  readonly description: string;
  /**
   * Everything the layer's content depends on, as JSON (versions, package lists with their
   * checksums, file contents): the layer is rebuilt exactly when this changes. May resolve
   * something first (the exact packages of a package list).
   */
  inputs(context: LayerBuildContext): unknown | Promise<unknown>;
  /** Adds the layer's files to an empty tree. */
  build(tree: FileTree, context: LayerBuildContext): Promise<void>;
}

/** An image: its name, its layers (base first) and how it runs. */
export interface ImageRecipe {
  /** The full reference the image is named by (`docker.io/library/zookeeper:3.9.4`). */
  readonly reference: string;
  readonly layers: readonly LayerRecipe[];
  readonly config: ImageRuntimeConfig;
}

/** The images of one product: a recipe for each version its versions table lists. */
export interface ProductImages {
  /** The product's name (`zookeeper`), as the CLI takes it. */
  readonly product: string;
  /** The versions (of the product's versions table) a recipe exists for. */
  readonly versions: readonly string[];
  /** The recipe of a version; throws naming the known versions for another. */
  recipe(version: string): ImageRecipe;
}

/** A built image. */
export interface BuiltImage {
  readonly reference: string;
  /** The OCI archive (`ctr -n k8s.io images import <file>`), under the name the caller asked for. */
  readonly archive: string;
  /**
   * The same archive in the cache, named by the image's index (reference and manifest digest).
   * It is never rewritten, so a program that imports it cannot read another run's build of the
   * same reference, as it can through `archive` when two runs share an output folder.
   */
  readonly storedArchive: string;
  readonly manifest: Descriptor;
  readonly config: Descriptor;
  readonly layers: readonly LayerBlob[];
  /** Bytes of the compressed layers. */
  readonly compressedSize: number;
  /** How many layers came from the cache. */
  readonly cachedLayers: number;
}

/** Options of {@link buildImage}. */
export interface BuildImageOptions {
  /** @default keelsonCacheDir() */
  readonly cacheDir?: string;
  /** @default nothing is logged */
  readonly log?: (message: string) => void;
}

/** The sha256 of a value's JSON with object keys sorted. */
export function inputsKey(value: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((key) => [key, canonical((v as Record<string, unknown>)[key])]),
      );
    }
    return v;
  };
  return crypto
    .createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest('hex');
}

/** The file name of an image's archive: `docker.io_library_zookeeper_3.9.4.tar`. */
export function archiveFileName(reference: string): string {
  return `${reference.replace(/[/:@]/g, '_')}.tar`;
}

async function buildLayer(
  layer: LayerRecipe,
  imagesDir: string,
  context: Omit<LayerBuildContext, 'workDir'>,
): Promise<{ blob: LayerBlob; cached: boolean }> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-layer-'));
  try {
    const layerContext: LayerBuildContext = { ...context, workDir: scratch };
    const key = inputsKey({
      format: LAYER_FORMAT,
      description: layer.description,
      inputs: await layer.inputs(layerContext),
    });
    const record = path.join(imagesDir, 'layers', `${key}.json`);
    if (fs.existsSync(record)) {
      const blob = JSON.parse(fs.readFileSync(record, 'utf8')) as LayerBlob;
      if (fs.existsSync(blobPath(imagesDir, blob.digest))) return { blob, cached: true };
    }
    const started = Date.now();
    const tree = new FileTree(path.join(scratch, 'staged'));
    await layer.build(tree, layerContext);
    const blob = await writeLayerBlob(tree.sortedEntries(), imagesDir);
    fs.mkdirSync(path.dirname(record), { recursive: true });
    fs.writeFileSync(record, JSON.stringify(blob));
    context.log(
      `  layer ${layer.description}: ${(blob.size / 2 ** 20).toFixed(1)} MiB in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    return { blob, cached: false };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Builds an image (layers from the cache where their inputs are unchanged) and writes its OCI
 * archive to `outDir/<archiveFileName(reference)>`.
 */
export async function buildImage(
  recipe: ImageRecipe,
  outDir: string,
  options: BuildImageOptions = {},
): Promise<BuiltImage> {
  const cacheDir = options.cacheDir ?? keelsonCacheDir();
  const imagesDir = path.join(cacheDir, 'images');
  const log = options.log ?? (() => undefined);
  const layers: LayerBlob[] = [];
  let cachedLayers = 0;
  for (const layer of recipe.layers) {
    const { blob, cached } = await buildLayer(layer, imagesDir, { cacheDir, log });
    layers.push(blob);
    if (cached) cachedLayers += 1;
  }
  const history = recipe.layers.map((layer) => `keelson: ${layer.description}`);
  const { manifest, config, index } = writeImageMetadata(
    imagesDir,
    recipe.reference,
    layers,
    recipe.config,
    history,
  );
  // The archive is kept by its index (name and manifest digest): an unchanged image is linked, not rewritten.
  const cachedArchive = path.join(imagesDir, 'archives', `${inputsKey(index)}.tar`);
  if (!fs.existsSync(cachedArchive)) {
    await writeOciArchive(cachedArchive, imagesDir, index, [
      config.digest,
      manifest.digest,
      ...layers.map((l) => l.digest),
    ]);
  }
  const archive = path.join(outDir, archiveFileName(recipe.reference));
  fs.mkdirSync(outDir, { recursive: true });
  fs.rmSync(archive, { force: true });
  try {
    fs.linkSync(cachedArchive, archive);
  } catch {
    fs.copyFileSync(cachedArchive, archive);
  }
  return {
    reference: recipe.reference,
    archive,
    storedArchive: cachedArchive,
    manifest,
    config,
    layers,
    compressedSize: layers.reduce((sum, layer) => sum + layer.size, 0),
    cachedLayers,
  };
}

/** The recipe of `version` from a table of recipes by version, or an error naming the known ones. */
export function recipeForVersion<T>(product: string, table: Readonly<Record<string, T>>, version: string): T {
  const entry = Object.prototype.hasOwnProperty.call(table, version) ? table[version] : undefined;
  if (entry === undefined) {
    throw new Error(
      `image: keelson has no ${product} image recipe for version ${JSON.stringify(version)}; it has ${Object.keys(table).join(', ')}`,
    );
  }
  return entry;
}
