/**
 * The keelson command line with the example product only: what integration tests and the
 * benchmark run (compiled) as the operator process.
 */
import { keelsonCli } from '../../lib/cli';
import { BEACON } from './beacon';

keelsonCli([BEACON])
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
