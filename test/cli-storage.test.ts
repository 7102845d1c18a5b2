import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describePlan, manifestFiles, readStatefulSets } from '../lib/cli/storage-command';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-storage-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const sts = (name: string, namespace?: string) =>
  `apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: ${name}\n${namespace ? `  namespace: ${namespace}\n` : ''}spec: {}\n`;

describe('keelson storage apply: input', () => {
  test("reads a folder's manifest files (not its subfolders) and keeps only apps/v1 StatefulSets", () => {
    fs.writeFileSync(
      path.join(dir, 'a.k8s.yaml'),
      `${sts('one', 'data')}---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n`,
    );
    fs.writeFileSync(path.join(dir, 'b.yml'), sts('two'));
    fs.writeFileSync(path.join(dir, 'notes.txt'), sts('ignored'));
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'sub', 'c.yaml'), sts('nested'));
    const found = readStatefulSets(manifestFiles(dir), '');
    expect(found.map((s) => `${s.metadata.namespace}/${s.metadata.name}`)).toEqual([
      'data/one',
      'default/two',
    ]);
    expect(readStatefulSets(manifestFiles(dir), 'data').map((s) => s.metadata.namespace)).toEqual([
      'data',
      'data',
    ]);
  });

  test('rejects a --namespace that contradicts an object, and a StatefulSet without a name', () => {
    const file = path.join(dir, 'x.yaml');
    fs.writeFileSync(
      file,
      `${sts('one', 'data')}---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {}\n`,
    );
    expect(() => readStatefulSets([file], 'other')).toThrow(
      /StatefulSet one is in namespace "data", which does not match --namespace "other"[\s\S]*document 2: a StatefulSet without metadata.name/,
    );
  });
});

describe('keelson storage apply: the plan it prints', () => {
  test('names each claim to grow, the replacement and its field manager, and what cannot be done', () => {
    const changes = { volumes: [], added: ['logs'], removed: [], templatesChanged: true, problems: [] };
    expect(
      describePlan(
        [
          { namespace: 'data', name: 'gone', action: 'absent' },
          {
            namespace: 'data',
            name: 's',
            action: 'replace',
            uid: 'u',
            plan: {
              workload: 's',
              changes,
              expansions: [{ claim: 'data-s-0', from: '1Gi', to: '2Gi' }],
              problems: [],
            },
          },
          {
            namespace: 'data',
            name: 't',
            action: 'none',
            uid: 'v',
            plan: {
              workload: 't',
              changes: { ...changes, added: [], templatesChanged: false },
              expansions: [],
              problems: [],
            },
          },
        ],
        'argocd-controller',
      ),
    ).toEqual([
      'statefulset data/gone: not in the cluster; nothing to do (your apply creates it)',
      'statefulset data/s: grow claim data-s-0 from 1Gi to 2Gi',
      'statefulset data/s: add volume "logs" (the StatefulSet makes its claims)',
      'statefulset data/s: replace without its pods: delete with propagationPolicy=Orphan, recreate by server-side apply as field manager "argocd-controller" (pods and claims stay)',
      'statefulset data/t: claim templates and claims as asked; nothing to do',
    ]);
  });
});
