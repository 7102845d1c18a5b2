/**
 * `keelson storage apply`: makes a storage change of synth output (`capacity`, an added or removed
 * volume) apply, for users who apply manifests themselves (`kubectl apply --server-side`, GitOps).
 *
 * A StatefulSet's `volumeClaimTemplates` are immutable, so the API server refuses such an apply.
 * For each StatefulSet of the input that is live and whose claim templates differ, this does what
 * the operator does (lib/operator/storage.ts, the same code): it grows the claims where their
 * StorageClass allows expansion and refuses what cannot be done (shrinking, a StorageClass without
 * expansion, another StorageClass). Then it replaces the StatefulSet without touching its pods:
 * deletes it with `propagationPolicy: Orphan` (the pods and claims stay) and recreates it from the
 * input by server-side apply, as the field manager of the user's own apply, so the next apply owns
 * the same fields and goes through. The new StatefulSet adopts the running pods.
 *
 * Nothing is changed unless every StatefulSet's plan can be carried out; nothing but a StatefulSet
 * named in the input is ever deleted (and only the one whose uid was planned).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { parseAllDocuments } from 'yaml';
import { loadApiAccess } from '../operator/api-access';
import { ApiError, isStatus, KubeClient } from '../operator/client';
import { expandClaim, StoragePlanner, type Claim, type WorkloadStoragePlan } from '../operator/storage';
import { namespaceName } from './flags';

/** kubectl's field manager for `kubectl apply --server-side`. */
export const KUBECTL_FIELD_MANAGER = 'kubectl';

/** Exit codes of `keelson storage apply`. */
export const STORAGE_EXIT = {
  /** Done, or nothing to do (or, with --dry-run, the plan can be carried out). */
  ok: 0,
  /** The input could not be read, or a request failed. */
  error: 1,
  /** A change cannot be made (shrinking, no expansion, another StorageClass): nothing was changed. */
  refused: 2,
} as const;

interface StatefulSetManifest {
  readonly apiVersion: string;
  readonly kind: 'StatefulSet';
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [k: string]: unknown };
  readonly spec?: { readonly volumeClaimTemplates?: Claim[]; readonly [k: string]: unknown };
  readonly [k: string]: unknown;
}

/** The files `-f` names: the file itself, or a folder's `.yaml`, `.yml` and `.json` files (not recursive, as kubectl). */
export function manifestFiles(target: string): string[] {
  const stat = fs.statSync(target);
  if (!stat.isDirectory()) return [target];
  return fs
    .readdirSync(target)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => path.join(target, f));
}

/**
 * The StatefulSets (apps/v1) of `files`, each given its namespace: the object's own, else
 * `namespace`. A `namespace` that contradicts an object's is an error, as in kubectl.
 */
export function readStatefulSets(files: readonly string[], namespace: string): StatefulSetManifest[] {
  const found: StatefulSetManifest[] = [];
  const problems: string[] = [];
  for (const file of files) {
    parseAllDocuments(fs.readFileSync(file, 'utf8')).forEach((document, index) => {
      if (document.errors.length > 0) {
        problems.push(`${file}: document ${index + 1}: ${document.errors[0].message}`);
        return;
      }
      const object = document.toJS() as Partial<StatefulSetManifest> | null;
      if (!object || object.kind !== 'StatefulSet' || object.apiVersion !== 'apps/v1') return;
      const name = object.metadata?.name;
      if (typeof name !== 'string' || name === '') {
        problems.push(`${file}: document ${index + 1}: a StatefulSet without metadata.name`);
        return;
      }
      const own = object.metadata?.namespace;
      if (own !== undefined && own !== namespace && namespace !== '') {
        problems.push(
          `${file}: StatefulSet ${name} is in namespace "${own}", which does not match --namespace "${namespace}"`,
        );
        return;
      }
      found.push({
        ...(object as StatefulSetManifest),
        metadata: { ...object.metadata, name, namespace: own ?? (namespace || 'default') },
      });
    });
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return found;
}

/** What the command does (or found) for one StatefulSet of the input. */
export interface StatefulSetStorageStep {
  readonly namespace: string;
  readonly name: string;
  /** `absent`: not live (the user's apply creates it); `none`: its claim templates are live as they are. */
  readonly action: 'absent' | 'none' | 'grow' | 'replace';
  readonly plan?: WorkloadStoragePlan;
  readonly uid?: string;
}

const statefulSetPath = (namespace: string, name: string) =>
  `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/statefulsets/${encodeURIComponent(name)}`;

/** Plans every StatefulSet of `statefulSets`; reads only. */
export async function planStorage(
  client: KubeClient,
  statefulSets: readonly StatefulSetManifest[],
): Promise<StatefulSetStorageStep[]> {
  const planners = new Map<string, StoragePlanner>();
  const steps: StatefulSetStorageStep[] = [];
  for (const sts of statefulSets) {
    const { name, namespace } = sts.metadata as { name: string; namespace: string };
    let live: { metadata: { uid: string }; spec?: { volumeClaimTemplates?: Claim[] } };
    try {
      live = await client.request('get', 'GET', statefulSetPath(namespace, name), 'statefulsets');
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
      steps.push({ namespace, name, action: 'absent' });
      continue;
    }
    const want = sts.spec?.volumeClaimTemplates ?? [];
    const have = live.spec?.volumeClaimTemplates ?? [];
    if (want.length === 0 && have.length === 0) {
      steps.push({ namespace, name, action: 'none', uid: live.metadata.uid });
      continue;
    }
    let planner = planners.get(namespace);
    if (!planner) planners.set(namespace, (planner = new StoragePlanner(client, namespace)));
    const plan = await planner.plan(name, want, have);
    const action = plan.changes.templatesChanged ? 'replace' : plan.expansions.length > 0 ? 'grow' : 'none';
    steps.push({ namespace, name, action, plan, uid: live.metadata.uid });
  }
  return steps;
}

/** The lines that describe a plan to the user. */
export function describePlan(steps: readonly StatefulSetStorageStep[], fieldManager: string): string[] {
  const lines: string[] = [];
  for (const step of steps) {
    const id = `statefulset ${step.namespace}/${step.name}`;
    if (step.action === 'absent') {
      lines.push(`${id}: not in the cluster; nothing to do (your apply creates it)`);
      continue;
    }
    for (const problem of step.plan?.problems ?? []) lines.push(`${id}: cannot apply: ${problem}`);
    for (const e of step.plan?.expansions ?? []) {
      lines.push(`${id}: grow claim ${e.claim} from ${e.from} to ${e.to}`);
    }
    for (const volume of step.plan?.changes.added ?? []) {
      lines.push(`${id}: add volume "${volume}" (the StatefulSet makes its claims)`);
    }
    for (const volume of step.plan?.changes.removed ?? []) {
      lines.push(`${id}: drop volume "${volume}" from the claim templates (its claims are kept)`);
    }
    if (step.action === 'replace') {
      lines.push(
        `${id}: replace without its pods: delete with propagationPolicy=Orphan, recreate by server-side apply as field manager "${fieldManager}" (pods and claims stay)`,
      );
    } else if (step.action === 'none' && (step.plan?.problems.length ?? 0) === 0) {
      lines.push(`${id}: claim templates and claims as asked; nothing to do`);
    }
  }
  return lines;
}

/** Polls until the StatefulSet of `uid` is gone (the garbage collector first lets go of its pods). */
async function waitUntilGone(
  client: KubeClient,
  namespace: string,
  name: string,
  uid: string,
  deadlineMs: number,
): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      const live = await client.request<{ metadata: { uid: string } }>(
        'get',
        'GET',
        statefulSetPath(namespace, name),
        'statefulsets',
      );
      if (live.metadata.uid !== uid) return;
    } catch (error) {
      if (isStatus(error, 404)) return;
      throw error;
    }
    if (Date.now() > until) {
      throw new Error(
        `StatefulSet ${namespace}/${name} is still there ${deadlineMs / 1000} s after its deletion: ` +
          'is the garbage collector (kube-controller-manager) running? Its pods and claims are untouched; ' +
          'run the command again once it is gone',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Carries out a plan that has no problems; `say` reports each step as it is done. */
export async function applyStoragePlan(
  client: KubeClient,
  steps: readonly StatefulSetStorageStep[],
  statefulSets: readonly StatefulSetManifest[],
  options: { fieldManager: string; say: (line: string) => void; deleteDeadlineMs?: number },
): Promise<void> {
  for (const step of steps) {
    if (step.action !== 'grow' && step.action !== 'replace') continue;
    const id = `statefulset ${step.namespace}/${step.name}`;
    for (const e of step.plan!.expansions) {
      await expandClaim(client, step.namespace, e.claim, e.to);
      options.say(`${id}: claim ${e.claim} grows from ${e.from} to ${e.to}`);
    }
    if (step.action !== 'replace') continue;
    const manifest = statefulSets.find(
      (s) => s.metadata.name === step.name && s.metadata.namespace === step.namespace,
    )!;
    // The uid precondition: only the StatefulSet that was planned is deleted.
    await client.request('delete', 'DELETE', statefulSetPath(step.namespace, step.name), 'statefulsets', {
      body: {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        propagationPolicy: 'Orphan',
        preconditions: { uid: step.uid },
      },
    });
    options.say(`${id}: deleted with propagationPolicy=Orphan (its pods and claims stay)`);
    await waitUntilGone(client, step.namespace, step.name, step.uid!, options.deleteDeadlineMs ?? 120_000);
    await client.request('apply', 'PATCH', statefulSetPath(step.namespace, step.name), 'statefulsets', {
      query: { fieldManager: options.fieldManager, fieldValidation: 'Strict' },
      body: manifest,
      contentType: 'application/apply-patch+yaml',
    });
    options.say(
      `${id}: recreated by server-side apply as field manager "${options.fieldManager}"; it adopts the running pods`,
    );
  }
}

interface StorageApplyFlags {
  filename: string;
  namespace?: string;
  dryRun?: boolean;
  fieldManager: string;
  kubeconfig?: string;
  output: 'text' | 'json';
}

export function storageCommand(): Command {
  const command = new Command('storage').description(
    "make storage changes of synth output apply (a StatefulSet's claim templates are immutable)",
  );
  command
    .command('apply')
    .description(
      'for each StatefulSet of the manifests whose claim templates differ from the live ones: grow its claims ' +
        'where the StorageClass allows it, then replace it without its pods (delete with orphan propagation, ' +
        'recreate by server-side apply); afterwards your usual apply goes through. ' +
        `Exit codes: ${STORAGE_EXIT.ok} done or nothing to do, ${STORAGE_EXIT.refused} a change cannot be made ` +
        `(nothing changed), ${STORAGE_EXIT.error} bad input or a failed request`,
    )
    .requiredOption('-f, --filename <path>', 'a manifest file, or a folder of them (e.g. dist/)')
    .option('-n, --namespace <ns>', 'namespace of objects that name none (default: "default")', namespaceName)
    .option('--dry-run', 'print the plan and change nothing')
    .option(
      '--field-manager <name>',
      'field manager of the recreating server-side apply: the one your own apply uses ' +
        '(kubectl apply --server-side: "kubectl"; Argo CD: "argocd-controller"; Flux: "kustomize-controller")',
      KUBECTL_FIELD_MANAGER,
    )
    .option(
      '--kubeconfig <file>',
      'kubeconfig file (default: $KUBECONFIG, else ~/.kube/config, else in-cluster)',
    )
    .addOption(
      new Option('-o, --output <format>', 'text lines, or one JSON document')
        .choices(['text', 'json'])
        .default('text'),
    )
    .action(async (flags: StorageApplyFlags) => {
      process.exitCode = await storageApply(flags);
    });
  return command;
}

/** Runs `keelson storage apply`; returns its exit code. */
export async function storageApply(flags: StorageApplyFlags): Promise<number> {
  const json = flags.output === 'json';
  const out = (line: string) => {
    if (!json) process.stdout.write(`${line}\n`);
  };
  const fail = (message: string, code: number, extra: Record<string, unknown> = {}) => {
    if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: message, ...extra })}\n`);
    else process.stderr.write(`keelson storage apply: ${message}\n`);
    return code;
  };
  let statefulSets: StatefulSetManifest[];
  try {
    statefulSets = readStatefulSets(manifestFiles(flags.filename), flags.namespace ?? '');
  } catch (error) {
    return fail((error as Error).message, STORAGE_EXIT.error);
  }
  let client: KubeClient;
  let steps: StatefulSetStorageStep[];
  try {
    client = new KubeClient(
      loadApiAccess(flags.kubeconfig ? { ...process.env, KUBECONFIG: flags.kubeconfig } : process.env),
    );
    steps = await planStorage(client, statefulSets);
  } catch (error) {
    return fail((error as Error).message, STORAGE_EXIT.error);
  }
  const summary = steps.map((s) => ({
    namespace: s.namespace,
    name: s.name,
    action: s.action,
    expansions: s.plan?.expansions ?? [],
    addedVolumes: s.plan?.changes.added ?? [],
    removedVolumes: s.plan?.changes.removed ?? [],
    problems: s.plan?.problems ?? [],
  }));
  const lines = describePlan(steps, flags.fieldManager);
  const refused = steps.some((s) => (s.plan?.problems.length ?? 0) > 0);
  if (refused || flags.dryRun) {
    if (json) {
      process.stdout.write(
        `${JSON.stringify({ ok: !refused, dryRun: flags.dryRun === true, changed: false, fieldManager: flags.fieldManager, statefulSets: summary })}\n`,
      );
    } else {
      for (const line of lines) out(line);
      if (refused) out('nothing was changed: fix what cannot be applied, then run the command again');
    }
    return refused ? STORAGE_EXIT.refused : STORAGE_EXIT.ok;
  }
  const done: string[] = [];
  try {
    await applyStoragePlan(client, steps, statefulSets, {
      fieldManager: flags.fieldManager,
      say: (line) => {
        done.push(line);
        out(line);
      },
    });
  } catch (error) {
    const message = error instanceof ApiError || error instanceof Error ? error.message : String(error);
    return fail(message, STORAGE_EXIT.error, { done });
  }
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ ok: true, dryRun: false, changed: done.length > 0, fieldManager: flags.fieldManager, statefulSets: summary, done })}\n`,
    );
  } else if (done.length === 0) {
    for (const line of lines) out(line);
  }
  return STORAGE_EXIT.ok;
}
