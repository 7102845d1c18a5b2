/**
 * Generates `imports/k8s.ts` (the typed core Kubernetes classes keelson's constructs build on) from
 * the OpenAPI document of the API server our tests run against, with cdk8s-cli's own generator.
 *
 * `cdk8s import k8s` downloads a prepared schema from GitHub, which our machines cannot reach; the
 * API server we build serves the same definitions at /openapi/v2. Like cdk8s' prepared schemas,
 * IntOrString and Quantity become "string or number" so their classes offer fromString/fromNumber.
 *
 * Usage: `npm run build && npm run import:k8s` (uses $KUBECONFIG when set, else starts a control plane).
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { loadKubeConfig, repoRoot, startControlPlane, type ControlPlane } from './cluster';

/** Definitions whose wire form is either a string or a number. */
const STRING_OR_NUMBER = [
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString',
  'io.k8s.apimachinery.pkg.api.resource.Quantity',
];

type Schema = { definitions: Record<string, Record<string, unknown>> };

// cdk8s-cli exports only its plugin API, so its generator modules (and json2jsii, its dependency)
// are loaded by file path.
const cliRoot = path.dirname(require.resolve('cdk8s-cli/package.json'));
const cliRequire = createRequire(path.join(cliRoot, 'package.json'));
// Its internals have no public types: JSON.parse's return type is the unchecked `any` they need.
type Untyped = ReturnType<typeof JSON.parse>;
function cdk8sCli(module: string): Record<string, Untyped> {
  return cliRequire(path.join(cliRoot, 'lib', module));
}

async function fetchOpenApi(kc: k8s.KubeConfig): Promise<Schema> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('the kubeconfig has no current cluster');
  const options: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(options);
  const body = await new Promise<string>((resolve, reject) => {
    const req = https.get(
      new URL('/openapi/v2', server),
      { ...options, headers: { Accept: 'application/json', ...options.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 200) resolve(text);
          else reject(new Error(`GET ${server}/openapi/v2: HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
        });
      },
    );
    req.on('error', reject);
  });
  return JSON.parse(body) as Schema;
}

/** Keeps the definitions and gives IntOrString and Quantity their string-or-number shape. */
function prepareSchema(openapi: Schema): Schema {
  const definitions = { ...openapi.definitions };
  for (const name of STRING_OR_NUMBER) {
    const def = definitions[name];
    if (!def) throw new Error(`the OpenAPI document has no ${name}`);
    definitions[name] = {
      description: def.description,
      oneOf: [{ type: 'string' }, { type: 'number' }],
    };
  }
  return { definitions };
}

/**
 * The definitions keelson's own wire types and its pod-override check are made of: the objects a
 * stacklet builds and everything they refer to, as the API server serves them. Written to
 * `imports/k8s-wire.schema.json`; `npm run gen:types` turns them into `imports/k8s-wire.ts`.
 */
export const WIRE_ROOTS = [
  'io.k8s.api.core.v1.PodTemplateSpec',
  'io.k8s.api.core.v1.Affinity',
  'io.k8s.api.core.v1.ConfigMap',
  'io.k8s.api.core.v1.Service',
  'io.k8s.api.core.v1.ServiceAccount',
  'io.k8s.api.apps.v1.StatefulSet',
  'io.k8s.api.apps.v1.Deployment',
  'io.k8s.api.apps.v1.DaemonSet',
  'io.k8s.api.networking.v1.NetworkPolicy',
  'io.k8s.api.policy.v1.PodDisruptionBudget',
];

/** `WIRE_ROOTS` and every definition they reach, keyed and sorted by definition name. */
export function wireDefinitions(openapi: Schema): Record<string, Record<string, unknown>> {
  const reached = new Set<string>();
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    const ref = (node as { $ref?: string }).$ref;
    if (ref !== undefined) {
      const name = ref.replace('#/definitions/', '');
      if (!openapi.definitions[name]) throw new Error(`the OpenAPI document has no ${name}`);
      if (!reached.has(name)) {
        reached.add(name);
        visit(openapi.definitions[name]);
      }
    }
    Object.values(node).forEach(visit);
  };
  WIRE_ROOTS.forEach((name) => visit({ $ref: `#/definitions/${name}` }));
  return Object.fromEntries(
    [...reached].sort().map((name) => {
      const { 'x-kubernetes-group-version-kind': _gvk, ...definition } = openapi.definitions[name];
      return [name, definition];
    }),
  );
}

/** Writes `imports/k8s-wire.schema.json` from `openapi`. */
export function writeWireSchema(openapi: Schema, outdir: string, kubernetesVersion: string): string {
  const file = path.join(outdir, 'k8s-wire.schema.json');
  const document = {
    description: `Kubernetes ${kubernetesVersion} definitions (from /openapi/v2) of the objects keelson builds. Regenerate: npm run build && npm run import:k8s`,
    definitions: wireDefinitions(openapi),
  };
  fs.writeFileSync(file, JSON.stringify(document, null, 1) + '\n');
  return file;
}

export async function generateCoreTypes(kc: k8s.KubeConfig, outdir: string, kubernetesVersion: string) {
  const schemaFile = path.join(
    fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-openapi-')),
    'definitions.json',
  );
  fs.writeFileSync(schemaFile, JSON.stringify(prepareSchema(await fetchOpenApi(kc))));

  const { ImportBase, Language } = cdk8sCli('import/base.js');
  const { findApiObjectDefinitions } = cdk8sCli('import/k8s.js');
  const { emitHeader, generateConstruct, getPropsTypeName, getTypeName } = cdk8sCli('import/codegen.js');
  const { parseApiTypeName, safeParseJsonSchema } = cdk8sCli('import/k8s-util.js');
  const { download } = cdk8sCli('util.js');
  const { TypeGenerator } = cliRequire('json2jsii');

  // util.download reads a local path as a file: the same loader cdk8s uses for its own schemas.
  const schema = safeParseJsonSchema(await download(schemaFile));

  class ImportFromApiServer extends ImportBase {
    get moduleNames() {
      return ['k8s'];
    }
    async generateTypeScript(code: { line(text: string): void }) {
      const objects = findApiObjectDefinitions(schema, 'Kube');
      const types = new TypeGenerator({
        definitions: schema.definitions,
        renderTypeName: (def: string) => {
          const parsed = parseApiTypeName(def);
          return parsed.version ? getTypeName(false, parsed.basename, parsed.version.raw) : parsed.basename;
        },
      });
      // An API object's own definition (e.g. Deployment) stands for its props type (KubeDeploymentProps).
      for (const o of objects) types.addDefinition(o.fqn, { $ref: `#/definitions/${getPropsTypeName(o)}` });
      for (const o of objects) generateConstruct(types, o);
      emitHeader(code, false);
      code.line(types.render());
    }
  }
  await new ImportFromApiServer().import({ outdir, targetLanguage: Language.TYPESCRIPT });
  fs.rmSync(path.dirname(schemaFile), { recursive: true, force: true });

  const file = path.join(outdir, 'k8s.ts');
  const header = [
    `// Core Kubernetes ${kubernetesVersion} types, generated by cdk8s-cli's k8s importer from the OpenAPI`,
    '// document (/openapi/v2) of the API server keelson tests against. Do not edit by hand.',
    '// Regenerate: npm run build && npm run import:k8s',
    '',
  ].join('\n');
  fs.writeFileSync(file, header + fs.readFileSync(file, 'utf8'));
  return file;
}

async function main() {
  // `--openapi FILE VERSION`: the wire schema from a local OpenAPI document (such as
  // api/openapi-spec/swagger.json of the Kubernetes release the tests build), without a control plane.
  const at = process.argv.indexOf('--openapi');
  if (at > 0) {
    const [file, version] = process.argv.slice(at + 1, at + 3);
    const openapi = JSON.parse(fs.readFileSync(file, 'utf8')) as Schema;
    console.log(`wrote ${writeWireSchema(openapi, path.join(repoRoot(), 'imports'), version)}`);
    return;
  }
  let controlPlane: ControlPlane | undefined;
  let kc: k8s.KubeConfig;
  if (process.env.KUBECONFIG) {
    kc = loadKubeConfig(process.env.KUBECONFIG);
  } else {
    controlPlane = await startControlPlane({ nodes: 0 });
    kc = controlPlane.adminKubeConfig();
  }
  try {
    const version = await kc.makeApiClient(k8s.VersionApi).getCode();
    const file = await generateCoreTypes(kc, path.join(repoRoot(), 'imports'), version.gitVersion);
    console.log(`wrote ${file} from Kubernetes ${version.gitVersion}`);
    const wire = writeWireSchema(
      await fetchOpenApi(kc),
      path.join(repoRoot(), 'imports'),
      version.gitVersion,
    );
    console.log(`wrote ${wire}; run npm run gen:types to regenerate imports/k8s-wire.ts`);
  } finally {
    await controlPlane?.stop();
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
