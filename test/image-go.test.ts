import { goProgramPath, type GoProgram } from '../lib/image/go';

describe('goProgramPath', () => {
  const opa: GoProgram = { name: 'opa', module: 'github.com/open-policy-agent/opa', version: 'v1.22.3' };

  it('keeps a program under its name and version, the same for the same build', () => {
    expect(goProgramPath(opa, '/cache')).toMatch(/^\/cache\/go\/opa-v1\.22\.3-[0-9a-f]{12}\/opa$/);
    expect(goProgramPath({ ...opa }, '/cache')).toBe(goProgramPath(opa, '/cache'));
  });

  it('builds anew when a build option changes, so no old binary is served', () => {
    const paths = [
      opa,
      { ...opa, ldflags: '-X main.version=1' },
      { ...opa, tags: ['sqlite'] },
      { ...opa, cgo: true },
      { ...opa, replace: { 'example.com/a': 'example.com/b v1.0.0' } },
      { ...opa, package: 'github.com/open-policy-agent/opa/cmd' },
    ].map((p) => goProgramPath(p, '/cache'));
    expect(new Set(paths).size).toBe(paths.length);
  });
});
