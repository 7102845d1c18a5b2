import {
  assertValidName,
  headlessServiceName,
  nameProblems,
  roleGroupName,
  STATEFULSET_NAME_MAX,
} from '../lib';

describe('generated names', () => {
  test('follow <instance>-<role>-<group> and <...>-headless', () => {
    expect(roleGroupName('kafka', 'brokers', 'default')).toBe('kafka-brokers-default');
    expect(headlessServiceName('kafka', 'brokers', 'default')).toBe('kafka-brokers-default-headless');
  });

  test('accept DNS labels up to 63 characters', () => {
    expect(nameProblems('a'.repeat(63), 'dns-label', 'x')).toEqual([]);
    expect(nameProblems('zk-0', 'dns-label', 'x')).toEqual([]);
  });

  test('rejects a DNS label over 63 characters, naming what the name is for', () => {
    expect(nameProblems('a'.repeat(64), 'dns-label', 'the Service name')).toEqual([
      `the Service name "${'a'.repeat(64)}" is 64 characters long; the limit is 63. Use a shorter stacklet, role group or object name.`,
    ]);
  });

  test('rejects StatefulSet names that leave no room for the controller-revision-hash label', () => {
    expect(STATEFULSET_NAME_MAX).toBe(52);
    expect(nameProblems('a'.repeat(52), 'statefulset', 'x')).toEqual([]);
    expect(nameProblems('a'.repeat(53), 'statefulset', 'x')[0]).toMatch(/controller-revision-hash/);
  });

  test('rejects upper case, underscores and leading or trailing dashes', () => {
    for (const bad of ['Kafka', 'my_kafka', '-kafka', 'kafka-']) {
      expect(nameProblems(bad, 'dns-label', 'x')).toHaveLength(1);
    }
  });

  test('allows dots in subdomains but not in labels', () => {
    expect(nameProblems('a.b', 'dns-subdomain', 'x')).toEqual([]);
    expect(nameProblems('a.b', 'dns-label', 'x')).toHaveLength(1);
  });

  test('assertValidName throws every problem at once', () => {
    expect(() => assertValidName(`_${'a'.repeat(70)}`, 'dns-label', 'the name')).toThrow(
      /is 71 characters long[\s\S]*must consist of lower case letters/,
    );
  });
});
