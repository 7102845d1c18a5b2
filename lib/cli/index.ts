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
import { ListenerClass } from '../listener/class';
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
    .description(
      'write the CustomResourceDefinition of every product and of TlsClass and ListenerClass, one YAML file each',
    )
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
      "write the operator's own manifests: CRDs, Namespace, ServiceAccount, RBAC (a ClusterRole, or Roles in the watched namespaces), Deployment, metrics Service (and its PrometheusRule, ServiceMonitor, Grafana dashboard when asked), the admission policy that refuses privileged podOverrides from users who may not create pods; and the default ListenerClasses in a second file",
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
    .option(
      '--prometheus-rules',
      "the operator's PrometheusRule (prometheus-operator's CRDs must be installed)",
    )
    .option(
      '--service-monitors',
      "the operator's ServiceMonitor (prometheus-operator's CRDs must be installed)",
    )
    .option(
      '--grafana-dashboards',
      'the operator\'s Grafana dashboard ConfigMap (label grafana_dashboard: "1")',
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
        prometheusRules?: boolean;
        serviceMonitors?: boolean;
        grafanaDashboards?: boolean;
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
          monitoring: {
            prometheusRules: flags.prometheusRules ?? false,
            serviceMonitors: flags.serviceMonitors ?? false,
            grafanaDashboards: flags.grafanaDashboards ?? false,
          },
        });
        const file = path.join(flags.out, 'keelson-operator.yaml');
        writeYaml(file, chart.toJson());
        process.stdout.write(`${file}\n`);
        // The three ListenerClasses keelson ships, in a file of their own: they can be applied only
        // once the API server serves the ListenerClass CRD the first file installs.
        const classes = new Chart(app, 'keelson-listener-classes');
        ListenerClass.addDefaults(classes);
        const classesFile = path.join(flags.out, 'keelson-listener-classes.yaml');
        writeYaml(classesFile, classes.toJson());
        process.stdout.write(`${classesFile}\n`);
      },
    );
  return program;
}
