/**
 * The log agent's image (`ghcr.io/keelson/log-agent:<collector version>`): one layer holding
 * keelson's build of the OpenTelemetry Collector (`log-agent/`: the filelog receiver and the
 * OTLP/HTTP exporter only, a static Go binary), run as uid 10001. No shell, no libraries, no
 * certificate bundle: the agent reads files and speaks HTTP to the aggregator.
 *
 * The layer runs `log-agent/build.sh`, which builds the binary from the Go module proxy into
 * keelson's cache unless it is there (minutes on a cold machine; see lib/README.md).
 */
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { ImageRecipe, LayerRecipe, ProductImages } from '../image';
import { keelsonPackageRoot } from '../operator/image';
import { LOG_AGENT_BINARY, LOG_AGENT_IMAGE_REPOSITORY, LOG_AGENT_VERSION } from './agent';

const run = promisify(execFile);

/** The agent's uid and gid, keelson's default pod user. */
const LOG_AGENT_UID = 10001;

/** The agent's Go module (go.mod, go.sum, main.go, build.sh) in keelson's repository. */
function logAgentSourceDir(): string {
  const dir = path.join(keelsonPackageRoot(), 'lib', 'logging', 'log-agent');
  if (!fs.existsSync(path.join(dir, 'build.sh'))) {
    throw new Error(
      `image: the log agent is built from a clone of keelson's repository (${dir} has no build.sh)`,
    );
  }
  return dir;
}

/**
 * The built binary in keelson's cache (where build.sh puts it): keyed by the start of the sha256
 * of go.mod, go.sum and main.go, as build.sh computes it, so a changed module is built anew.
 */
export function logAgentBinaryPath(cacheDir: string): string {
  const dir = logAgentSourceDir();
  const hash = crypto.createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'main.go']) hash.update(fs.readFileSync(path.join(dir, f)));
  const key = hash.digest('hex').slice(0, 12);
  return path.join(cacheDir, 'log-agent', `v${LOG_AGENT_VERSION}-${key}`, 'keelson-log-agent');
}

function agentLayer(): LayerRecipe {
  return {
    description: `keelson log agent (OpenTelemetry Collector ${LOG_AGENT_VERSION}: filelog, OTLP/HTTP)`,
    // The binary is a function of the module's files and the Go toolchain build.sh runs.
    inputs: () => {
      const dir = logAgentSourceDir();
      const files = ['go.mod', 'go.sum', 'main.go', 'build.sh'].map((f) =>
        crypto
          .createHash('sha256')
          .update(fs.readFileSync(path.join(dir, f)))
          .digest('hex'),
      );
      return { version: LOG_AGENT_VERSION, files };
    },
    build: async (tree, context) => {
      const binary = logAgentBinaryPath(context.cacheDir);
      if (!fs.existsSync(binary)) {
        context.log(`  building the log agent (Go, minutes on a cold machine) into ${path.dirname(binary)}`);
      }
      await run('bash', [path.join(logAgentSourceDir(), 'build.sh')], {
        env: { ...process.env, KEELSON_CACHE: context.cacheDir },
        maxBuffer: 64 << 20,
      });
      tree.addHostFile(LOG_AGENT_BINARY, binary, { mode: 0o755 });
    },
  };
}

/** The agent image's recipe. */
export function logAgentImageRecipe(): ImageRecipe {
  return {
    reference: `${LOG_AGENT_IMAGE_REPOSITORY}:${LOG_AGENT_VERSION}`,
    layers: [agentLayer()],
    config: {
      user: `${LOG_AGENT_UID}:${LOG_AGENT_UID}`,
      entrypoint: [LOG_AGENT_BINARY],
      env: { PATH: '/usr/local/bin' },
      labels: {
        'org.opencontainers.image.version': LOG_AGENT_VERSION,
        'org.opencontainers.image.title': 'keelson log agent',
      },
    },
  };
}

/** The agent's image for `keelson image build log-agent`. */
export const LOG_AGENT_IMAGES: ProductImages = {
  product: 'log-agent',
  versions: [LOG_AGENT_VERSION],
  recipe: (version) => {
    if (version !== LOG_AGENT_VERSION) {
      throw new Error(`image: keelson builds the log agent ${LOG_AGENT_VERSION} only, not ${version}`);
    }
    return logAgentImageRecipe();
  },
};
