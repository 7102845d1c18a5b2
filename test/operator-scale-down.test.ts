import type { Manifest } from '../lib/operator/build';
import { handOverScaleDowns, leavingPods } from '../lib/operator/scale-down';
import type { RoleDefinition, RunningPods } from '../lib/stacklet/product';

const statefulSet = (name: string, component: string, replicas: number): Manifest => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name, labels: { 'app.kubernetes.io/component': component } },
  spec: { replicas },
});
const marker = (leaving: readonly string[]): Manifest => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'marker' },
  data: { leaving: leaving.join(',') },
});

/** A role that records what it was asked and waits while `waiting` says so. */
function handingOver(name: string, waiting: string[]) {
  const asked: { prepared: string[][]; pending: string[][] } = { prepared: [], pending: [] };
  const role = {
    name,
    scaleDown: {
      prepare: (leaving: readonly string[], desired: readonly Manifest[]) => {
        asked.prepared.push([...leaving]);
        return [...desired.filter((m) => m.metadata.name !== 'marker'), marker(leaving)];
      },
      pending: async (leaving: readonly string[]) => {
        asked.pending.push([...leaving]);
        return waiting;
      },
    },
  } as unknown as RoleDefinition;
  return { role, asked };
}

const pods: RunningPods = { of: () => [], serverTls: false, getJson: async () => ({}) };
const replicasOf = (manifests: readonly Manifest[], name: string) =>
  (manifests.find((m) => m.metadata.name === name)!.spec as { replicas: number }).replicas;

describe('a scale-down with a hand-over', () => {
  const live = (m: Manifest) =>
    m.kind === 'StatefulSet' ? statefulSet(m.metadata.name, 'data', 3) : undefined;

  test('names the highest ordinals a desired StatefulSet takes away from the live one', () => {
    expect(leavingPods(statefulSet('d', 'data', 1), statefulSet('d', 'data', 3))).toEqual(['d-1', 'd-2']);
    expect(leavingPods(statefulSet('d', 'data', 3), statefulSet('d', 'data', 1))).toEqual([]);
    expect(leavingPods(statefulSet('d', 'data', 1), undefined)).toEqual([]);
  });

  test('keeps the live replicas while the leaving pods wait, with the prepared objects applied', async () => {
    const { role, asked } = handingOver('data', ['d-1 is still copying', 'd-2 is still copying']);
    const desired = [statefulSet('d', 'data', 1), statefulSet('other', 'meta', 1)];
    const result = await handOverScaleDowns([role], desired, live, pods, false);
    expect(asked).toEqual({ prepared: [['d-1', 'd-2']], pending: [['d-1', 'd-2']] });
    expect(result.pending).toEqual(['d-1 is still copying', 'd-2 is still copying']);
    expect(replicasOf(result.manifests, 'd')).toBe(3);
    // Another role's StatefulSet shrinks as its spec says.
    expect(replicasOf(result.manifests, 'other')).toBe(1);
    expect(result.manifests.find((m) => m.metadata.name === 'marker')?.data).toEqual({ leaving: 'd-1,d-2' });
  });

  test('lowers the replicas once nothing is pending, and still prepares with none leaving', async () => {
    const done = handingOver('data', []);
    const shrunk = await handOverScaleDowns([done.role], [statefulSet('d', 'data', 1)], live, pods, false);
    expect(shrunk.pending).toEqual([]);
    expect(replicasOf(shrunk.manifests, 'd')).toBe(1);
    const steady = handingOver('data', ['never asked']);
    const same = await handOverScaleDowns([steady.role], [statefulSet('d', 'data', 3)], live, pods, false);
    expect(steady.asked).toEqual({ prepared: [[]], pending: [] });
    expect(same.pending).toEqual([]);
  });

  test('is no scale-down while the stacklet is stopped, nor for a role without a hand-over', async () => {
    const { role, asked } = handingOver('data', ['never asked']);
    const stopped = await handOverScaleDowns([role], [statefulSet('d', 'data', 0)], live, pods, true);
    expect(asked.pending).toEqual([]);
    expect(replicasOf(stopped.manifests, 'd')).toBe(0);
    const plain = { name: 'data' } as unknown as RoleDefinition;
    const shrunk = await handOverScaleDowns([plain], [statefulSet('d', 'data', 1)], live, pods, false);
    expect(replicasOf(shrunk.manifests, 'd')).toBe(1);
  });
});
