import { applyJvmArgumentOverrides, jvmArgumentOverridesProblems } from '../lib/jvm';

const defaults = [
  '-Xmx819m',
  '-Xms819m',
  '-XX:+UseG1GC',
  '-Djava.security.properties=/conf/security',
  '-Dfoo=1',
];

describe('applyJvmArgumentOverrides', () => {
  it('returns the defaults unchanged without overrides', () => {
    expect(applyJvmArgumentOverrides(defaults)).toEqual(defaults);
    expect(applyJvmArgumentOverrides(defaults, {})).toEqual(defaults);
  });

  it('does not change the defaults array', () => {
    const before = [...defaults];
    applyJvmArgumentOverrides(defaults, { remove: ['-Dfoo=1'], add: ['-Xmx1g'] });
    expect(defaults).toEqual(before);
  });

  it('removes exact matches only', () => {
    expect(applyJvmArgumentOverrides(defaults, { remove: ['-Dfoo=1', '-Dfoo'] })).toEqual(
      defaults.slice(0, 4),
    );
  });

  it('removes arguments a regex matches as a whole', () => {
    expect(applyJvmArgumentOverrides(defaults, { removeRegex: ['-D.*'] })).toEqual(defaults.slice(0, 3));
    // "-X" alone is not a full match of any argument.
    expect(applyJvmArgumentOverrides(defaults, { removeRegex: ['-X'] })).toEqual(defaults);
    expect(applyJvmArgumentOverrides(defaults, { removeRegex: ['-Xm[xs].*'] })).toEqual(defaults.slice(2));
  });

  it('treats an alternation as a whole-argument match', () => {
    expect(applyJvmArgumentOverrides(['-Da=1', 'x-Db=2'], { removeRegex: ['-Da=1|-Db=2'] })).toEqual([
      'x-Db=2',
    ]);
  });

  it('appends added arguments after removals', () => {
    expect(
      applyJvmArgumentOverrides(['-a', '-b'], { add: ['-c', '-a2'], remove: ['-a'], removeRegex: ['-b'] }),
    ).toEqual(['-c', '-a2']);
  });

  it('lets an added -Xmx replace the existing one', () => {
    expect(applyJvmArgumentOverrides(defaults, { add: ['-Xmx2g'] })).toEqual([
      '-Xms819m',
      '-XX:+UseG1GC',
      '-Djava.security.properties=/conf/security',
      '-Dfoo=1',
      '-Xmx2g',
    ]);
  });

  it('lets an added system property replace the same property only', () => {
    const result = applyJvmArgumentOverrides(defaults, { add: ['-Dfoo=2'] });
    expect(result.filter((arg) => arg.startsWith('-D'))).toEqual([
      '-Djava.security.properties=/conf/security',
      '-Dfoo=2',
    ]);
  });

  it('lets an added -XX option replace its other spellings', () => {
    expect(
      applyJvmArgumentOverrides(['-XX:+UseG1GC', '-XX:MaxGCPauseMillis=200'], { add: ['-XX:-UseG1GC'] }),
    ).toEqual(['-XX:MaxGCPauseMillis=200', '-XX:-UseG1GC']);
    expect(
      applyJvmArgumentOverrides(['-XX:MaxGCPauseMillis=200'], { add: ['-XX:MaxGCPauseMillis=50'] }),
    ).toEqual(['-XX:MaxGCPauseMillis=50']);
  });

  it('does not duplicate an argument added twice', () => {
    expect(applyJvmArgumentOverrides(['-server'], { add: ['-server', '-server'] })).toEqual(['-server']);
  });

  it('rejects an invalid regex', () => {
    expect(() => applyJvmArgumentOverrides(defaults, { removeRegex: ['(['] })).toThrow(SyntaxError);
  });
});

describe('jvmArgumentOverridesProblems', () => {
  it('accepts valid overrides', () => {
    expect(
      jvmArgumentOverridesProblems({ add: ['-Xmx1g'], remove: ['-Dx'], removeRegex: ['-D.*'] }, 'spec.x'),
    ).toEqual([]);
    expect(jvmArgumentOverridesProblems(undefined, 'spec.x')).toEqual([]);
  });

  it('rejects invalid regexes, naming each by index', () => {
    const problems = jvmArgumentOverridesProblems(
      { removeRegex: ['ok', '([', '*x'] },
      'spec.brokers.roleGroups.default.jvmArgumentOverrides',
    );
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(
      /^spec\.brokers\.roleGroups\.default\.jvmArgumentOverrides\.removeRegex\[1\]: "\(\[" is not a valid regular expression \(.+\)$/,
    );
    expect(problems[1]).toMatch(/\.removeRegex\[2\]: "\*x" is not a valid regular expression/);
  });

  it('rejects empty arguments to add', () => {
    expect(jvmArgumentOverridesProblems({ add: ['-Xmx1g', ' '] }, 'spec.x')).toEqual([
      'spec.x.add[1]: must not be empty; remove the entry or give a JVM argument',
    ]);
  });
});
