/**
 * `keelson operator`: runs the operator for the registered products until SIGTERM/SIGINT, then
 * finishes the reconciles in progress, gives up the leader lease and exits.
 */
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { Command, Option } from 'commander';
import type { ProductDefinition } from '../stacklet/product';
import { loadApiAccess } from '../operator/api-access';
import { integerAtLeast, namespaceList } from './flags';
import { createLogger, type LogLevel } from '../operator/logger';
import { Operator } from '../operator/operator';
import { startHealthServer } from '../operator/server';

interface OperatorFlags {
  watchNamespaces?: readonly string[];
  /** Deprecated: `watchNamespaces`' old name. */
  namespaces?: readonly string[];
  workers: number;
  metricsAddress: string;
  leaderElection: boolean;
  leaderElectionNamespace?: string;
  leaseDuration: number;
  resync: number;
  watchTimeout: number;
  logLevel: LogLevel;
  podCertificateSigner: boolean;
  clusterDomain: string;
}

/**
 * The namespaces to watch (undefined: all) from `--watch-namespaces` or its deprecated name
 * `--namespaces`, and a warning when the old name was used. `source(option)` tells where commander
 * took an option's value from (`cli`, `env`, `default`).
 */
export function watchedNamespaces(
  flags: Pick<OperatorFlags, 'watchNamespaces' | 'namespaces'>,
  source: (option: 'watchNamespaces' | 'namespaces') => string | undefined,
): { namespaces?: readonly string[]; warning?: string } {
  const oldSource = source('namespaces');
  if (oldSource !== 'cli' && oldSource !== 'env') return { namespaces: flags.watchNamespaces };
  const [oldName, newName] =
    oldSource === 'env'
      ? ['KEELSON_NAMESPACES', 'KEELSON_WATCH_NAMESPACES']
      : ['--namespaces', '--watch-namespaces'];
  const newSource = source('watchNamespaces');
  if (newSource === 'cli' || newSource === 'env') {
    return {
      namespaces: flags.watchNamespaces,
      warning: `${oldName} is deprecated and ignored here: --watch-namespaces (KEELSON_WATCH_NAMESPACES) is set`,
    };
  }
  return { namespaces: flags.namespaces, warning: `${oldName} is deprecated; use ${newName}` };
}

export function operatorCommand(products: readonly ProductDefinition[]): Command {
  return new Command('operator')
    .description(`reconcile ${products.map((p) => p.kind).join(', ')} resources in the cluster`)
    .addOption(
      new Option('--watch-namespaces <list>', 'comma-separated namespaces to watch, or "all"')
        .env('KEELSON_WATCH_NAMESPACES')
        .argParser(namespaceList)
        .default(undefined, 'all'),
    )
    .addOption(
      new Option('--namespaces <list>', 'deprecated: --watch-namespaces')
        .env('KEELSON_NAMESPACES')
        .argParser(namespaceList)
        .hideHelp(),
    )
    .addOption(
      new Option('--workers <n>', 'reconciles running at once')
        .env('KEELSON_WORKERS')
        .argParser(integerAtLeast(1))
        .default(4),
    )
    .addOption(
      new Option('--metrics-address <host:port>', 'where /metrics, /healthz and /readyz are served')
        .env('KEELSON_METRICS_ADDRESS')
        .default('0.0.0.0:8080'),
    )
    .addOption(
      new Option('--leader-election', 'elect one active replica with a Lease')
        .env('KEELSON_LEADER_ELECTION')
        .default(true),
    )
    .addOption(new Option('--no-leader-election', 'run as the only replica'))
    .addOption(
      new Option(
        '--leader-election-namespace <ns>',
        'namespace of the Lease (default: $POD_NAMESPACE, else the first watched namespace, else default)',
      ).env('KEELSON_LEADER_ELECTION_NAMESPACE'),
    )
    .addOption(
      new Option('--lease-duration <seconds>', 'leader lease duration')
        .env('KEELSON_LEASE_DURATION')
        .argParser(integerAtLeast(2))
        .default(15),
    )
    .addOption(
      new Option('--resync <seconds>', 'reconcile every stacklet this often (0: never)')
        .env('KEELSON_RESYNC')
        .argParser(integerAtLeast(0))
        .default(600),
    )
    .addOption(
      new Option('--watch-timeout <seconds>', 'server-side lifetime of one watch request')
        .argParser(integerAtLeast(1))
        .default(300),
    )
    .addOption(
      new Option(
        '--pod-certificate-signer',
        'sign Kubernetes Pod Certificates for the keelson.dev/<TlsClass> signers (when the cluster serves them)',
      )
        .env('KEELSON_POD_CERTIFICATE_SIGNER')
        .default(true),
    )
    .addOption(new Option('--no-pod-certificate-signer', 'do not sign Pod Certificates'))
    .addOption(
      new Option('--cluster-domain <domain>', "the cluster's DNS domain, in pod certificates' names")
        .env('KEELSON_CLUSTER_DOMAIN')
        .default('cluster.local'),
    )
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
        .env('KEELSON_LOG_LEVEL')
        .default('info'),
    )
    .action(async (flags: OperatorFlags, command: Command) => {
      const log = createLogger(flags.logLevel);
      const { namespaces, warning } = watchedNamespaces(flags, (option) =>
        command.getOptionValueSource(option),
      );
      if (warning) log.warn(warning);
      const identity = `${process.env.POD_NAME ?? os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
      const leaseNamespace =
        flags.leaderElectionNamespace ?? process.env.POD_NAMESPACE ?? namespaces?.[0] ?? 'default';
      const exit = (code: number) => {
        log.flush?.();
        process.exit(code);
      };
      const operator: Operator = new Operator({
        products,
        access: loadApiAccess(),
        log,
        namespaces,
        workers: flags.workers,
        resyncMs: flags.resync * 1000,
        watchTimeoutSeconds: flags.watchTimeout,
        leaderElection: flags.leaderElection
          ? { namespace: leaseNamespace, identity, leaseDurationSeconds: flags.leaseDuration }
          : undefined,
        podCertificateSigner: flags.podCertificateSigner,
        // The CAs' Secrets live beside the operator (the generated RBAC grants them there only).
        operatorNamespace: process.env.POD_NAMESPACE ?? leaseNamespace,
        clusterDomain: flags.clusterDomain,
        onLeadershipLost: () => {
          log.error('leadership lost; exiting so that only the new leader writes');
          exit(1);
        },
      });
      const { server, port } = await startHealthServer({
        address: flags.metricsAddress,
        registry: operator.metrics.registry,
        ready: () => operator.ready,
      });
      log.info(
        { port, namespaces: namespaces ?? 'all', identity, leaderElection: flags.leaderElection },
        'keelson operator starting',
      );
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'shutting down');
        const force = setTimeout(() => exit(1), 20_000);
        force.unref();
        void operator
          .stop()
          .then(() => server.close())
          .then(
            () => exit(0),
            () => exit(1),
          );
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
      await operator.start();
    });
}
