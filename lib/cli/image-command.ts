/**
 * `keelson image`: builds the images keelson's manifests reference, as OCI archives to import
 * (`ctr -n k8s.io images import <file>`) or push (`skopeo copy oci-archive:<file> docker://…`,
 * `crane push <file> …`) to the registry a cluster pulls from.
 */
import { Command } from 'commander';
import { buildImage, keelsonCacheDir, type ProductImages } from '../image';

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

export function imageCommand(images: readonly ProductImages[]): Command {
  const command = new Command('image').description('build the container images keelson references');
  command
    .command('list')
    .description('the products and versions keelson has image recipes for')
    .action(() => {
      for (const product of images)
        process.stdout.write(`${product.product}: ${product.versions.join(', ')}\n`);
    });
  command
    .command('build')
    .description(
      'build a product image as an OCI archive (layers are cached in $KEELSON_CACHE/images, default ~/.cache/keelson/images)',
    )
    .argument('<product>', `one of: ${images.map((p) => p.product).join(', ')}`)
    .argument('[versions...]', "versions to build (default: every version the product's table lists)")
    .requiredOption('--out <dir>', 'folder the archives are written to')
    .option('--quiet', 'print only the archive paths')
    .action(async (productName: string, versions: string[], flags: { out: string; quiet?: boolean }) => {
      const product = images.find((p) => p.product === productName);
      if (!product) {
        throw new Error(
          `keelson image build: no product ${JSON.stringify(productName)}; expected one of: ${images.map((p) => p.product).join(', ')}`,
        );
      }
      const log = flags.quiet ? () => undefined : (message: string) => process.stderr.write(`${message}\n`);
      for (const version of versions.length > 0 ? versions : product.versions) {
        const recipe = product.recipe(version);
        const started = Date.now();
        log(`building ${recipe.reference} (cache ${keelsonCacheDir()}/images)`);
        const built = await buildImage(recipe, flags.out, { log });
        log(
          `built ${built.reference} ${built.manifest.digest}: ${mib(built.compressedSize)} compressed, ` +
            `${built.layers.length} layers (${built.cachedLayers} from the cache) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
        process.stdout.write(`${built.archive}\n`);
      }
    });
  return command;
}
