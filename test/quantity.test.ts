import {
  compareQuantities,
  formatBytes,
  parseQuantity,
  quantityProblems,
  tryParseQuantity,
} from '../lib/quantity';

describe('parseQuantity', () => {
  it.each([
    ['500m', 0.5],
    ['100m', 0.1],
    ['2', 2],
    ['1.5', 1.5],
    ['.5', 0.5],
    ['3.', 3],
    ['+2', 2],
    ['-1', -1],
    ['100k', 100_000],
    ['1G', 1e9],
    ['1M', 1e6],
    ['2T', 2e12],
    ['1P', 1e15],
    ['1E', 1e18],
    ['1e3', 1000],
    ['1E3', 1000],
    ['5e-1', 0.5],
    ['1Ki', 1024],
    ['512Mi', 512 * 1024 ** 2],
    ['1Gi', 1024 ** 3],
    ['1.5Gi', 1.5 * 1024 ** 3],
    ['2Ti', 2 * 1024 ** 4],
    ['1Pi', 1024 ** 5],
    ['1Ei', 2 ** 60],
  ])('reads %s as %d', (text, value) => {
    expect(parseQuantity(text)).toBe(value);
  });

  it('reads decimal suffixes without float drift', () => {
    expect(parseQuantity('300m')).toBe(0.3);
    expect(parseQuantity('1.1G')).toBe(1_100_000_000);
  });

  it.each(['', ' 1', '1 ', 'abc', '1gi', '1KI', '1kb', '1Mi2', '--1', '1.2.3', 'e3', '1e', '1ee3', 'm', '.'])(
    'rejects %j',
    (text) => {
      expect(tryParseQuantity(text)).toBeUndefined();
      expect(() => parseQuantity(text)).toThrow(/is not a Kubernetes quantity/);
    },
  );

  it('rejects an exponent too large for a number', () => {
    expect(tryParseQuantity('1e999')).toBeUndefined();
  });
});

describe('quantityProblems', () => {
  it('accepts a valid quantity', () => {
    expect(quantityProblems('1Gi', 'spec.x')).toEqual([]);
  });

  it('rejects an invalid string, naming the path and the value', () => {
    const problems = quantityProblems('1 GB', 'spec.brokers.config.resources.memory.limit');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^spec\.brokers\.config\.resources\.memory\.limit: "1 GB" is not a Kubernetes quantity; .*512Mi/,
    );
  });

  it('rejects a value that is not a string', () => {
    expect(quantityProblems(2, 'spec.x')).toEqual([
      expect.stringMatching(/^spec\.x: must be a quantity string .*not 2$/),
    ]);
    expect(quantityProblems(undefined, 'spec.x')[0]).toMatch(/not undefined$/);
  });
});

describe('compareQuantities', () => {
  it('compares across units', () => {
    expect(compareQuantities('500m', '1')).toBe(-1);
    expect(compareQuantities('2', '500m')).toBe(1);
    expect(compareQuantities('1Gi', '1024Mi')).toBe(0);
    expect(compareQuantities('1G', '1Gi')).toBe(-1);
    expect(compareQuantities('1000m', '1')).toBe(0);
  });

  it('rejects an invalid quantity', () => {
    expect(() => compareQuantities('1x', '1')).toThrow(/"1x" is not a Kubernetes quantity/);
  });

  it('sorts quantities when used as a comparator', () => {
    expect(['1Gi', '100Mi', '2G', '1'].sort(compareQuantities)).toEqual(['1', '100Mi', '1Gi', '2G']);
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0'],
    [1000, '1000'],
    [1024, '1Ki'],
    [1536, '1536'],
    [1024 ** 3, '1Gi'],
    [1.5 * 1024 ** 3, '1536Mi'],
    [1.5 * 1024 ** 2, '1536Ki'],
    [3 * 1024 ** 4, '3Ti'],
    [2 ** 50, '1Pi'],
    [2 ** 61, '2Ei'],
  ])('writes %d as %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('round-trips through parseQuantity', () => {
    for (const text of ['512Mi', '1Gi', '1536Ki', '7Ti', '123']) {
      expect(formatBytes(parseQuantity(text))).toBe(text);
    }
  });

  it.each([-1024, 0.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects %d', (bytes) => {
    expect(() => formatBytes(bytes)).toThrow(/expected a whole, non-negative number/);
  });
});
