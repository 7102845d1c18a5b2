/**
 * The log agent's image (`ghcr.io/keelson/log-agent:<collector version>`): one layer holding
 * keelson's build of the OpenTelemetry Collector (`log-agent/`: the filelog receiver and the
 * OTLP/HTTP exporter only, a static Go binary), run as uid 10001. No shell, no libraries, no
 * certificate bundle: the agent reads files and speaks HTTP to the aggregator.
 *
 * The binary is built from the agent's Go module (`log-agent/`: go.mod, go.sum, main.go) by keelson's
 * one Go builder (`image/go.ts`), into keelson's cache unless it is there (minutes on a cold
 * machine; see lib/README.md).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  goModuleLayer,
  goModulePath,
  type GoModuleSource,
  type ImageRecipe,
  type ProductImages,
} from '../image';
import { keelsonPackageRoot } from '../operator/image';
import { LOG_AGENT_BINARY, LOG_AGENT_IMAGE_REPOSITORY, LOG_AGENT_VERSION } from './agent';

/** The agent's uid and gid, keelson's default pod user. */
const LOG_AGENT_UID = 10001;

/** The agent's Go module in keelson's repository. */
function logAgentModule(): GoModuleSource {
  const dir = path.join(keelsonPackageRoot(), 'lib', 'logging', 'log-agent');
  if (!fs.existsSync(path.join(dir, 'go.mod'))) {
    throw new Error(
      `image: the log agent is built from a clone of keelson's repository (${dir} has no go.mod)`,
    );
  }
  return { name: path.basename(LOG_AGENT_BINARY), dir, version: LOG_AGENT_VERSION };
}

/** The built binary in keelson's cache, keyed by the module's files, so a changed module is built anew. */
export function logAgentBinaryPath(cacheDir: string): string {
  return goModulePath(logAgentModule(), cacheDir);
}

/** The agent image's recipe. */
export function logAgentImageRecipe(): ImageRecipe {
  return {
    reference: `${LOG_AGENT_IMAGE_REPOSITORY}:${LOG_AGENT_VERSION}`,
    layers: [
      goModuleLayer(
        logAgentModule(),
        LOG_AGENT_BINARY,
        `keelson log agent (OpenTelemetry Collector ${LOG_AGENT_VERSION}: filelog, OTLP/HTTP)`,
      ),
    ],
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
