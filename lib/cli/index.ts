/**
 * The `keelson` command line, for any set of products: the package's bin builds it with the
 * products it ships, tests build it with the example product.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Chart } from 'cdk8s';
import { Command } from 'commander';
import { productCrd } from '../stacklet/crd';
import { frameworkCrds } from '../tls/class';
import type { ProductDefinition } from '../stacklet/product';
import { DEFAULT_OPERATOR_MEMORY_MIB, OperatorDeployment } from '../operator/deployment';
import { integerAtLeast, namespaceList, namespaceName, secretReference } from './flags';
import { operatorCommand } from './operator-command';
import { operatorImageReference } from '../operator/image';
import { imageCommand } from './image-command';
import { storageCommand } from './storage-command';
import type { ProductImages } from '../image';
import { manifestsToYaml } from '../synth';

export { loadApiAccess } from '../operator/api-access';

/** Writes `objects` as a multi-document YAML file, as synth writes manifests. */
function writeYaml(file: string, objects: readonly unknown[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, manifestsToYaml(objects));
}

/**
 * @param products the products the operator reconciles and whose CRDs `crds` writes
 * @param images the image recipes `keelson image build` knows
 */
export function keelsonCli(products: ProductDefinition[], images: readonly ProductImages[] = []): Command {
  const program = new Command('keelson')
    .description('keelson: a data platform on Kubernetes')
    .showHelpAfterError();
  program.addCommand(operatorCommand(products));
  program.addCommand(imageCommand(images));
  program.addCommand(storageCommand());

  program
    .command('crds')
    .description('write the CustomResourceDefinition of every product and of TlsClass, one YAML file each')
    .requiredOption('--out <dir>', 'output folder')
    .action((flags: { out: string }) => {
      for (const product of products) {
        const file = path.join(flags.out, `${product.plural}.keelson.dev.yaml`);
        writeYaml(file, [productCrd(product)]);
        process.stdout.write(`${file}\n`);
      }
      for (const crd of frameworkCrds() as { metadata: { name: string } }[]) {
        const file = path.join(flags.out, `${crd.metadata.name}.yaml`);
        writeYaml(file, [crd]);
        process.stdout.write(`${file}\n`);
      }
    });

  program
    .command('deploy')
    .description(
      "write the operator's own manifests: CRDs, Namespace, ServiceAccount, RBAC (a ClusterRole, or Roles in the watched namespaces), Deployment",
    )
    .requiredOption('--out <dir>', 'output folder')
    .option(
      '--image <image>',
      'operator image (keelson image build operator builds it)',
      operatorImageReference(),
    )
    .option('--namespace <ns>', 'namespace the operator runs in', namespaceName, 'keelson-system')
    .option('--replicas <n>', 'operator replicas', integerAtLeast(0), 2)
    .option(
      '--memory-limit <MiB>',
      "the operator container's memory limit (its heap limit follows)",
      integerAtLeast(128),
      DEFAULT_OPERATOR_MEMORY_MIB,
    )
    .option(
      '--watch-namespaces <list>',
      'comma-separated namespaces to watch, each given a Role (default: all, with a ClusterRole)',
      namespaceList,
    )
    .option(
      '--ca-secret <namespace/name>',
      "a Secret holding a user's CA that a secretCa TlsClass names; the operator gets a Role allowing get on it, " +
        'and nothing else in that namespace (repeat for each Secret)',
      secretReference,
    )
    .action(
      (flags: {
        out: string;
        image: string;
        namespace: string;
        replicas: number;
        memoryLimit: number;
        watchNamespaces?: readonly string[];
        caSecret?: readonly { namespace: string; name: string }[];
      }) => {
        const app = new App();
        const chart = new Chart(app, 'keelson-operator');
        new OperatorDeployment(chart, 'operator', {
          products,
          image: flags.image,
          namespace: flags.namespace,
          replicas: flags.replicas,
          memoryLimitMiB: flags.memoryLimit,
          watchNamespaces: flags.watchNamespaces,
          caSecrets: flags.caSecret,
        });
        const file = path.join(flags.out, 'keelson-operator.yaml');
        writeYaml(file, chart.toJson());
        process.stdout.write(`${file}\n`);
      },
    );
  return program;
}
