import { defaultIdOffset, ordinalIdProblems } from '../lib';

const scheme = { first: 1, stride: 10, slots: 25, max: 254 };

describe('ordinal ids across role groups', () => {
  test('a default offset depends only on role and group, and falls on the scheme', () => {
    const offset = defaultIdOffset(scheme, 'servers', 'default');
    expect(offset).toBe(defaultIdOffset(scheme, 'servers', 'default'));
    expect((offset - 1) % 10).toBe(0);
    expect(offset).toBeGreaterThanOrEqual(1);
    expect(offset).toBeLessThanOrEqual(241);
  });

  test('disjoint ranges have no problems', () => {
    expect(
      ordinalIdProblems(scheme, [
        { path: 'spec.s.roleGroups.a.config.myidOffset', offset: 1, replicas: 3 },
        { path: 'spec.s.roleGroups.b.config.myidOffset', offset: 4, replicas: 2 },
      ]),
    ).toEqual([]);
  });

  test('rejects overlapping ranges, naming both groups and the field to set', () => {
    expect(
      ordinalIdProblems(scheme, [
        { path: 'spec.s.roleGroups.a.config.myidOffset', offset: 1, replicas: 3 },
        { path: 'spec.s.roleGroups.b.config.myidOffset', offset: 3, replicas: 2 },
      ]),
    ).toEqual([
      'spec.s.roleGroups.b.config.myidOffset: the ids 3-4 overlap the ids 1-3 of spec.s.roleGroups.a; ' +
        'set myidOffset on one of the two role groups so their ids are disjoint',
    ]);
  });

  test('rejects ids beyond the limit', () => {
    expect(
      ordinalIdProblems(scheme, [
        { path: 'spec.s.roleGroups.a.config.myidOffset', offset: 250, replicas: 6 },
      ]),
    ).toEqual([
      'spec.s.roleGroups.a.config.myidOffset: the ids 250-255 must lie within 1-254; choose another offset',
    ]);
  });
});
