/**
 * The rotation of a `keelsonCa` class's CA (lib/operator/ca-rotation.ts), as a pure function of (the
 * CA Secret's contents, the class's spec, now): when the successor is made, when it starts signing,
 * when the old CA is dropped, what is trusted meanwhile, and the Secret layout (which reads the
 * Secret keelson wrote before rotation). Real CAs, an injected clock; a walk through three CA
 * lifetimes checks that no certificate ever outlives the trust of the CA that signed it.
 */
import { X509Certificate } from 'node:crypto';
import {
  CA_SECRET_KEYS,
  caSecretContents,
  CaSecretError,
  NEXT_CA_PUBLISHED_ANNOTATION,
  planCa,
  readCaSecret,
  splitPem,
  switchDelaySeconds,
  withNewCa,
  type CaPlan,
  type CaSecretContents,
  type SigningCa,
} from '../lib/operator/ca-rotation';
import { createCertificateAuthority, issueCertificate } from '../lib/tls/certificates';

const H = 3600_000;
const T0 = new Date('2026-01-01T00:00:00Z').getTime();
/** A small class: CAs of 10 h, overlap 4 h (switch 2 h after the successor is published). */
const SPEC = { caLifetimeSeconds: 10 * 3600, caRotationOverlapSeconds: 4 * 3600 };
const at = (ms: number) => new Date(ms);

async function ca(madeAt: number, lifetimeSeconds = SPEC.caLifetimeSeconds): Promise<SigningCa> {
  const made = await createCertificateAuthority({
    commonName: 'keelson test',
    lifetimeSeconds,
    now: at(madeAt),
  });
  return { certificatePem: made.certificatePem, privateKeyPem: made.privateKeyPem, notAfter: made.notAfter };
}

/** Plans at `now`, making any CA the plan asks for (as the signer does), and plans again. */
async function settle(stored: CaSecretContents | undefined, now: number): Promise<CaPlan> {
  const plan = planCa(stored, SPEC, at(now));
  if (!plan.create) return plan;
  const made = await ca(now);
  const again = planCa(withNewCa(plan.state, plan.create, made, at(now)), SPEC, at(now));
  expect(again.create).toBeUndefined();
  return again;
}

const pem = (c: { certificatePem: string }) => c.certificatePem;

describe('CA rotation plan', () => {
  it('makes the first CA when there is none, which signs alone until the overlap', async () => {
    const plan = planCa(undefined, SPEC, at(T0));
    expect(plan).toMatchObject({ create: 'current', trusted: [] });
    expect(plan.signing).toBeUndefined();
    const made = await settle(undefined, T0);
    expect(made.state.next).toBeUndefined();
    expect(made.trusted).toEqual([pem(made.signing!)]);
    // CAs start a minute early (clock skew); the successor is due `overlap` before the end.
    expect(made.nextTransitionAt).toEqual(at(made.signing!.notAfter.getTime() - 4 * H));
  });

  it('reads the Secret keelson wrote before rotation (ca.crt, ca.key) and keeps it as it is', async () => {
    const current = await ca(T0);
    const legacy = { 'ca.crt': current.certificatePem, 'ca.key': current.privateKeyPem };
    const stored = readCaSecret(legacy, {}, at(T0 + H));
    expect(stored.current).toMatchObject({ certificatePem: current.certificatePem });
    expect(stored.next).toBeUndefined();
    const plan = planCa(stored, SPEC, at(T0 + H));
    expect(plan.create).toBeUndefined();
    expect(plan.signing!.certificatePem).toBe(current.certificatePem);
    // Nothing to write: the upgrade leaves the Secret alone until rotation is due.
    expect(caSecretContents(plan.state)).toEqual({ data: legacy, annotations: {} });
  });

  it('makes the successor once the CA has the overlap or less left, and keeps signing with the old one', async () => {
    const current = await ca(T0);
    const end = current.notAfter.getTime();
    expect(planCa({ current, previous: [] }, SPEC, at(end - 4 * H - 1000)).create).toBeUndefined();
    expect(planCa({ current, previous: [] }, SPEC, at(end - 4 * H)).create).toBe('next');

    const published = end - 4 * H + 60_000;
    const plan = await settle({ current, previous: [] }, published);
    expect(plan.signing!.certificatePem).toBe(current.certificatePem);
    expect(plan.state.next!.publishedAt).toEqual(at(published));
    expect(plan.trusted).toEqual([current.certificatePem, plan.state.next!.certificatePem]);
    // Next: the switch, half the overlap after publishing.
    expect(switchDelaySeconds(SPEC)).toBe(2 * 3600);
    expect(plan.nextTransitionAt).toEqual(at(published + 2 * H));
    // The Secret holds both and when the successor was published.
    const { data, annotations } = caSecretContents(plan.state);
    expect(Object.keys(data).sort()).toEqual(['ca.crt', 'ca.key', 'next.crt', 'next.key']);
    expect(annotations).toEqual({ [NEXT_CA_PUBLISHED_ANNOTATION]: new Date(published).toISOString() });
    // ...which reads back as the same state (and plans the same).
    const back = readCaSecret(data, annotations, at(published + 1000));
    expect(back).toEqual(plan.state);
    expect(planCa(back, SPEC, at(published + 1000)).state).toEqual(plan.state);
  });

  it('switches signing to the successor half the overlap after it was published; the old CA stays trusted', async () => {
    const current = await ca(T0);
    const end = current.notAfter.getTime();
    const published = end - 4 * H;
    const next = { ...(await ca(published)), publishedAt: at(published) };
    const stored = { current, next, previous: [] };
    expect(planCa(stored, SPEC, at(published + 2 * H - 1)).signing!.certificatePem).toBe(
      current.certificatePem,
    );
    const plan = planCa(stored, SPEC, at(published + 2 * H));
    expect(plan.create).toBeUndefined();
    expect(plan.signing!.certificatePem).toBe(next.certificatePem);
    expect(plan.state.next).toBeUndefined();
    expect(plan.state.previous.map(pem)).toEqual([current.certificatePem]);
    expect(plan.trusted).toEqual([current.certificatePem, next.certificatePem]);
    // Next: the old CA's end, when it is dropped.
    expect(plan.nextTransitionAt).toEqual(current.notAfter);
    const { data } = caSecretContents(plan.state);
    expect(data).toEqual({
      'ca.crt': next.certificatePem,
      'ca.key': next.privateKeyPem,
      'previous.crt': current.certificatePem,
    });
    expect(data['previous.crt']).not.toContain('PRIVATE KEY');
  });

  it('switches at once when the old CA has an hour or less left, however recently the successor came', async () => {
    const current = await ca(T0);
    const end = current.notAfter.getTime();
    const next = { ...(await ca(end - 2 * H)), publishedAt: at(end - 2 * H) };
    const stored = { current, next, previous: [] };
    const before = planCa(stored, SPEC, at(end - H - 1));
    expect(before.signing!.certificatePem).toBe(current.certificatePem);
    expect(before.nextTransitionAt).toEqual(at(end - H));
    expect(planCa(stored, SPEC, at(end - H)).signing!.certificatePem).toBe(next.certificatePem);
  });

  it('comes late to a CA near its end (an upgrade, an operator that was down): makes the successor and signs with it at once', async () => {
    const current = await ca(T0);
    const end = current.notAfter.getTime();
    const plan = await settle({ current, previous: [] }, end - 30 * 60_000);
    expect(plan.signing!.certificatePem).not.toBe(current.certificatePem);
    expect(plan.trusted).toEqual([current.certificatePem, plan.signing!.certificatePem]);
    expect(plan.state.previous.map(pem)).toEqual([current.certificatePem]);
    // With more than an hour left the old CA goes on signing (its certificates are clipped).
    const early = await settle({ current, previous: [] }, end - 2 * H);
    expect(early.signing!.certificatePem).toBe(current.certificatePem);
  });

  it('drops the old CA when it expires, and starts over from a CA that expired unrotated', async () => {
    const old = await ca(T0);
    const current = await ca(old.notAfter.getTime() - 4 * H);
    const stored = { current, previous: [old] };
    const plan = planCa(stored, SPEC, old.notAfter);
    expect(plan.state.previous).toEqual([]);
    expect(plan.trusted).toEqual([current.certificatePem]);
    expect(plan.signing!.certificatePem).toBe(current.certificatePem);
    expect(caSecretContents(plan.state).data).not.toHaveProperty(CA_SECRET_KEYS.previous);

    const dead = planCa({ current: old, previous: [] }, SPEC, at(old.notAfter.getTime() + H));
    expect(dead).toMatchObject({ create: 'current', trusted: [] });
  });

  it('refuses a Secret it cannot read, naming keys, never their values', async () => {
    const current = await ca(T0);
    const now = at(T0);
    const errors = [
      () => readCaSecret({ 'ca.crt': current.certificatePem }, {}, now),
      () => readCaSecret({ 'ca.key': current.privateKeyPem }, {}, now),
      () => readCaSecret({}, {}, now),
      () =>
        readCaSecret(
          {
            'ca.crt': current.certificatePem,
            'ca.key': current.privateKeyPem,
            'next.key': current.privateKeyPem,
          },
          {},
          now,
        ),
      () => readCaSecret({ 'ca.crt': current.privateKeyPem, 'ca.key': current.privateKeyPem }, {}, now),
    ];
    for (const read of errors) {
      expect(read).toThrow(CaSecretError);
      try {
        read();
      } catch (error) {
        expect((error as Error).message).not.toContain('PRIVATE KEY');
        expect((error as Error).message).not.toContain(current.privateKeyPem.split('\n')[1]);
      }
    }
    // A successor without its publication time counts as published when read.
    const next = await ca(T0);
    const read = readCaSecret(
      {
        ...caSecretContents({ current, previous: [] }).data,
        'next.crt': next.certificatePem,
        'next.key': next.privateKeyPem,
      },
      {},
      at(T0 + H),
    );
    expect(read.next!.publishedAt).toEqual(at(T0 + H));
  });

  it('splits a PEM bundle into its certificates', async () => {
    const [a, b] = [await ca(T0), await ca(T0)];
    expect(splitPem(`${a.certificatePem.trim()}\n\n${b.certificatePem}`)).toEqual([
      a.certificatePem,
      b.certificatePem,
    ]);
  });

  it('never lets a certificate outlive the trust of the CA that signed it, over three CA lifetimes', async () => {
    const certificateLifetime = 2 * H;
    let stored: CaSecretContents | undefined;
    /** Certificates issued so far: who signed them and until when they are valid. */
    const issued: { signer: string; notAfter: number }[] = [];
    const published = new Map<string, number>();
    let switches = 0;
    let lastSigner = '';
    for (let now = T0; now < T0 + 30 * H; now += 10 * 60_000) {
      const plan = await settle(stored, now);
      // Level-triggered: planning again at once changes nothing.
      expect(planCa(plan.state, SPEC, at(now)).state).toEqual(plan.state);
      stored = plan.state;
      for (const trusted of plan.trusted) if (!published.has(trusted)) published.set(trusted, now);
      const signer = plan.signing!;
      expect(plan.trusted).toContain(signer.certificatePem);
      expect(plan.trusted.length).toBeLessThanOrEqual(2);
      // The signer can issue an hour-long certificate; the issued one ends with its CA at the latest.
      const notAfter = Math.min(now - 60_000 + certificateLifetime, signer.notAfter.getTime());
      expect(notAfter - (now - 60_000)).toBeGreaterThanOrEqual(H);
      issued.push({ signer: signer.certificatePem, notAfter });
      // Every certificate still valid is signed by a CA that is trusted now.
      for (const c of issued.filter((c) => c.notAfter > now)) expect(plan.trusted).toContain(c.signer);
      if (signer.certificatePem !== lastSigner) {
        if (lastSigner) {
          switches++;
          // A successor signs only after its bundle was out for half the overlap.
          expect(now - published.get(signer.certificatePem)!).toBeGreaterThanOrEqual(2 * H);
        }
        lastSigner = signer.certificatePem;
      }
      expect(plan.nextTransitionAt!.getTime()).toBeGreaterThan(now);
    }
    // A 10 h CA signs for 6 h (its successor comes 4 h before its end and signs 2 h later): switches at 8, 14, 20, 26 h.
    expect(switches).toBe(4);
  });

  it('issues certificates that end with the CA that signs them', async () => {
    const current = await ca(T0);
    const now = at(current.notAfter.getTime() - 90 * 60_000);
    const key = (await ca(T0)).certificatePem;
    const issued = await issueCertificate({
      ca: current,
      subjectPublicKey: new X509Certificate(key).publicKey.export({ type: 'spki', format: 'der' }),
      dnsNames: ['a.example'],
      lifetimeSeconds: 24 * 3600,
      now,
    });
    expect(issued.notAfter).toEqual(current.notAfter);
    expect(
      new X509Certificate(issued.certificatePem).verify(
        new X509Certificate(current.certificatePem).publicKey,
      ),
    ).toBe(true);
  });
});
