import {
  claimAction,
  claimsOf,
  claimTemplateChanges,
  volumeChangeProblems,
  type Claim,
} from '../lib/operator/storage';

const template = (name: string, storage: string, storageClassName?: string): Claim => ({
  metadata: { name },
  spec: { resources: { requests: { storage } }, ...(storageClassName ? { storageClassName } : {}) },
});
const claim = (name: string, storage: string, storageClassName?: string, phase = 'Bound'): Claim => ({
  ...template(name, storage, storageClassName),
  status: { phase },
});

describe('claimTemplateChanges', () => {
  test('sees no problem when only labels or the capacity differ', () => {
    const live = [{ ...template('data', '2048Mi'), metadata: { name: 'data', labels: { old: 'x' } } }];
    expect(claimTemplateChanges('demo-servers-default', [template('data', '4Gi')], live)).toEqual({
      volumes: [{ volume: 'data', capacity: '4Gi' }],
      added: [],
      removed: [],
      templatesChanged: true,
      problems: [],
    });
  });

  test("hands every volume the StatefulSet has, with the spec's capacity, to the claim check", () => {
    expect(
      claimTemplateChanges('s', [template('data', '2Gi'), template('new', '1Gi')], [template('data', '2Gi')])
        .volumes,
    ).toEqual([{ volume: 'data', capacity: '2Gi' }]);
  });

  test('rejects a changed storageClass, and the operator an added and a removed volume, saying what to do', () => {
    const changes = claimTemplateChanges(
      'demo-servers-default',
      [template('data', '2Gi', 'fast'), template('logs', '1Gi')],
      [template('data', '2Gi', 'standard'), template('cache', '1Gi')],
    );
    expect(changes).toMatchObject({ added: ['logs'], removed: ['cache'], templatesChanged: true });
    expect(changes.problems).toEqual([
      expect.stringMatching(
        /volume "data" asks for storageClass "fast", but its claims were made with "standard".*no data can move.*keelson never deletes claims/,
      ),
    ]);
    expect(volumeChangeProblems('demo-servers-default', changes)).toEqual([
      expect.stringMatching(/volume "logs" is new.*--cascade=orphan/),
      expect.stringMatching(/volume "cache" is no longer in the spec.*its claims are kept/),
    ]);
  });

  test('sees templates the live StatefulSet holds as unchanged, whatever the API server added', () => {
    const desired = { ...template('data', '1Gi', 'x'), metadata: { name: 'data', labels: { a: 'b' } } };
    const live = {
      metadata: { name: 'data', labels: { a: 'b' } },
      spec: {
        resources: { requests: { storage: '1024Mi' } },
        storageClassName: 'x',
        volumeMode: 'Filesystem',
      },
      status: { phase: 'Pending' },
    };
    expect(claimTemplateChanges('s', [desired], [live]).templatesChanged).toBe(false);
    // A label the live template has and the desired one drops is a change the API server refuses.
    expect(claimTemplateChanges('s', [template('data', '1Gi', 'x')], [live]).templatesChanged).toBe(true);
  });

  test('an unnamed class in the spec keeps whatever class the claims have', () => {
    expect(
      claimTemplateChanges('s', [template('data', '2Gi')], [template('data', '2Gi', 'x')]).problems,
    ).toEqual([]);
  });
});

describe('claimsOf', () => {
  test('finds the claims <volume>-<workload>-<ordinal> only', () => {
    const claims = ['data-s-0', 'data-s-12', 'data-s-x', 'data-s2-0', 'logs-s-0'].map((n) =>
      template(n, '1Gi'),
    );
    expect(claimsOf('data', 's', claims).map((c) => c.metadata?.name)).toEqual(['data-s-0', 'data-s-12']);
  });
});

describe('claimAction', () => {
  test('expands a bound claim whose StorageClass allows it', () => {
    expect(claimAction(claim('data-s-0', '2Gi', 'fast'), '4Gi', true)).toEqual({
      kind: 'expand',
      from: '2Gi',
      to: '4Gi',
    });
  });

  test('does nothing to a claim that already holds the capacity', () => {
    expect(claimAction(claim('data-s-0', '4096Mi', 'fast'), '4Gi', true)).toEqual({ kind: 'none' });
  });

  test('rejects shrinking, naming the claim and the smallest capacity allowed', () => {
    expect(claimAction(claim('data-s-0', '4Gi', 'fast'), '2Gi', true)).toEqual({
      kind: 'problem',
      message: expect.stringMatching(
        /claim data-s-0 holds 4Gi .* cannot shrink .* set capacity to at least 4Gi/,
      ),
    });
  });

  test('rejects growing where the StorageClass does not allow expansion or there is none', () => {
    expect(claimAction(claim('data-s-0', '2Gi', 'slow'), '4Gi', false)).toMatchObject({
      kind: 'problem',
      message: expect.stringContaining('its StorageClass "slow" does not allow volume expansion'),
    });
    expect(claimAction(claim('data-s-0', '2Gi'), '4Gi', undefined)).toMatchObject({
      kind: 'problem',
      message: expect.stringContaining('it has no StorageClass'),
    });
  });

  test('waits for a claim that is not bound (the API server expands only bound claims)', () => {
    expect(claimAction(claim('data-s-0', '2Gi', 'fast', 'Pending'), '4Gi', true)).toMatchObject({
      kind: 'problem',
      message: expect.stringContaining('not bound yet'),
    });
  });
});
