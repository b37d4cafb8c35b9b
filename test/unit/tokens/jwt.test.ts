import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { importJWK, type JWK, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import type { SigningAlg } from '../../../src/config/schema.js';
import {
  peekJti,
  peekKid,
  type SigningKey,
  signJwt,
  type VerificationKey,
  verifyJwt,
} from '../../../src/tokens/jwt.js';

function pair(alg: SigningAlg): { publicKey: KeyObject; privateKey: KeyObject } {
  switch (alg) {
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'RS256':
    case 'PS256':
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
    case 'EdDSA':
      return generateKeyPairSync('ed25519');
  }
}

interface TestKey {
  signer: SigningKey;
  verifier: VerificationKey;
  jwk: JWK;
}

function makeKey(alg: SigningAlg, kid = `kid-${alg}`): TestKey {
  const { publicKey, privateKey } = pair(alg);
  return {
    signer: { kid, alg, key: privateKey },
    verifier: { kid, alg, key: publicKey },
    jwk: publicKey.export({ format: 'jwk' }) as JWK,
  };
}

const ALGS: SigningAlg[] = ['ES256', 'RS256', 'PS256', 'EdDSA'];
const KEYS = Object.fromEntries(ALGS.map((alg) => [alg, makeKey(alg)])) as Record<SigningAlg, TestKey>;
const only = (k: VerificationKey) => (kid: string) => (kid === k.kid ? k : undefined);

const now = Math.floor(Date.now() / 1000);
const claims = {
  iss: 'https://sesame.test',
  sub: 'user-1',
  aud: 'https://api.test',
  iat: now,
  exp: now + 60,
};

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe.each(ALGS)('%s', (alg) => {
  const k = KEYS[alg];

  it('signJwt output verifies with jose (interoperability)', async () => {
    const token = signJwt(k.signer, claims, 'at+jwt');
    const key = await importJWK(k.jwk, alg);
    const { payload, protectedHeader } = await jwtVerify(token, key, {
      algorithms: [alg],
      issuer: 'https://sesame.test',
      audience: 'https://api.test',
      typ: 'at+jwt',
      currentDate: new Date(now * 1000),
    });
    expect(protectedHeader).toEqual({ alg, typ: 'at+jwt', kid: `kid-${alg}` });
    expect(payload).toEqual(claims);
  });

  it('defaults typ to JWT', async () => {
    const token = signJwt(k.signer, { sub: 'x' });
    const { protectedHeader } = await jwtVerify(token, await importJWK(k.jwk, alg), { algorithms: [alg] });
    expect(protectedHeader.typ).toBe('JWT');
  });

  it('verifyJwt accepts its own tokens and returns header and payload', () => {
    const token = signJwt(k.signer, claims, 'at+jwt');
    expect(verifyJwt(token, only(k.verifier))).toEqual({
      header: { alg, typ: 'at+jwt', kid: `kid-${alg}` },
      payload: claims,
    });
  });

  it('verifyJwt accepts a token signed by jose', async () => {
    const jwk = k.signer.key.export({ format: 'jwk' }) as JWK;
    const token = await new SignJWT({ sub: 'from-jose' })
      .setProtectedHeader({ alg, kid: k.signer.kid })
      .sign(await importJWK(jwk, alg));
    expect(verifyJwt(token, only(k.verifier))?.payload).toEqual({ sub: 'from-jose' });
  });

  it('verifyJwt rejects a tampered payload', () => {
    const [h, , s] = signJwt(k.signer, claims).split('.') as [string, string, string];
    const forged = `${h}.${b64({ ...claims, sub: 'admin' })}.${s}`;
    expect(verifyJwt(forged, only(k.verifier))).toBeNull();
  });

  it('verifyJwt rejects a tampered signature', () => {
    const [h, p, s] = signJwt(k.signer, claims).split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    sig[0] = (sig[0] ?? 0) ^ 0xff;
    expect(verifyJwt(`${h}.${p}.${sig.toString('base64url')}`, only(k.verifier))).toBeNull();
  });

  it('verifyJwt rejects a kid it does not know', () => {
    const stranger = makeKey(alg, 'unknown-kid');
    const token = signJwt(stranger.signer, claims);
    expect(verifyJwt(token, only(k.verifier))).toBeNull();
  });

  it('verifyJwt rejects a signature by another key under the same kid', () => {
    const impostor = makeKey(alg, k.signer.kid);
    expect(verifyJwt(signJwt(impostor.signer, claims), only(k.verifier))).toBeNull();
  });

  it('verifyJwt rejects alg none', () => {
    const token = `${b64({ alg: 'none', typ: 'JWT', kid: k.signer.kid })}.${b64(claims)}.`;
    expect(verifyJwt(token, only(k.verifier))).toBeNull();
  });
});

describe('verifyJwt: algorithm confusion (RFC 8725 §3.1)', () => {
  it('rejects a valid PS256 signature when the key is registered for RS256', () => {
    const rsa = KEYS.RS256;
    // A genuine PS256 signature by the same RSA private key, header alg PS256.
    const token = signJwt({ ...rsa.signer, alg: 'PS256' }, claims);
    expect(verifyJwt(token, only({ ...rsa.verifier, alg: 'PS256' }))?.payload).toEqual(claims);
    expect(verifyJwt(token, only(rsa.verifier))).toBeNull();
  });

  it('rejects a header alg that differs from the key even with a signature made for the key alg', () => {
    const ec = KEYS.ES256;
    const [, p, s] = signJwt(ec.signer, claims).split('.') as [string, string, string];
    const h = b64({ alg: 'ES384', typ: 'JWT', kid: ec.signer.kid });
    expect(verifyJwt(`${h}.${p}.${s}`, only(ec.verifier))).toBeNull();
  });

  it('rejects an RS256 token when the RSA key is registered for PS256', () => {
    const rsa = KEYS.PS256;
    const token = signJwt({ ...rsa.signer, alg: 'RS256' }, claims);
    expect(verifyJwt(token, only(rsa.verifier))).toBeNull();
  });
});

describe('verifyJwt: malformed tokens', () => {
  const k = KEYS.ES256;
  const good = signJwt(k.signer, claims);
  const [h, p, s] = good.split('.') as [string, string, string];

  it.each([
    ['two parts', `${h}.${p}`],
    ['four parts', `${good}.x`],
    ['empty', ''],
    ['a header that is not JSON', `${Buffer.from('{nope').toString('base64url')}.${p}.${s}`],
    ['a header that is an array', `${b64(['ES256'])}.${p}.${s}`],
    ['a header without kid', `${b64({ alg: 'ES256' })}.${p}.${s}`],
    ['a header without alg', `${b64({ kid: k.signer.kid })}.${p}.${s}`],
  ])('returns null for %s', (_name, token) => {
    expect(verifyJwt(token, only(k.verifier))).toBeNull();
  });

  it('returns null when the signed payload is not a JSON object', () => {
    const token = signJwt(k.signer, claims);
    const [hh] = token.split('.') as [string];
    // Sign a non-object payload by hand with the same header.
    const body = Buffer.from('"just a string"').toString('base64url');
    const sig = sign('sha256', Buffer.from(`${hh}.${body}`), {
      key: k.signer.key,
      dsaEncoding: 'ieee-p1363',
    });
    expect(verifyJwt(`${hh}.${body}.${sig.toString('base64url')}`, only(k.verifier))).toBeNull();
  });
});

describe('verifyJwt: strict base64url (RFC 7515 §2, §7.1)', () => {
  const k = KEYS.ES256;
  // A signature with a base64url-only character (- or _), so that its standard-base64 form
  // differs in more than padding (ECDSA signatures are random: about 6% have neither).
  let good = signJwt(k.signer, claims);
  while (!/[-_]/.test(good.split('.')[2]!)) good = signJwt(k.signer, claims);
  const [h, p, s] = good.split('.') as [string, string, string];

  it.each([
    ['junk appended to the signature', `${good}!!`],
    ['padding on the signature', `${good}=`],
    ['standard base64 for the signature', `${h}.${p}.${Buffer.from(s, 'base64url').toString('base64')}`],
  ])('rejects %s, as jose does', async (_name, token) => {
    expect(token).not.toBe(good);
    await expect(jwtVerify(token, await importJWK(k.jwk, 'ES256'))).rejects.toThrow();
    expect(verifyJwt(token, only(k.verifier))).toBeNull();
  });
});

describe('peekKid', () => {
  it('reads the kid from the header without verifying', () => {
    expect(peekKid(signJwt(KEYS.EdDSA.signer, claims))).toBe('kid-EdDSA');
    expect(peekKid(`${b64({ alg: 'none', kid: 'k' })}.e30.`)).toBe('k');
  });

  it('is undefined without a usable kid', () => {
    expect(peekKid('nodots')).toBeUndefined();
    expect(peekKid('.e30.')).toBeUndefined();
    expect(peekKid(`${b64({ alg: 'ES256' })}.e30.x`)).toBeUndefined();
    expect(peekKid(`${b64({ kid: 5 })}.e30.x`)).toBeUndefined();
  });
});

describe('peekJti', () => {
  const token = (payload: unknown) => `${b64({ alg: 'ES256', kid: 'k' })}.${b64(payload)}.c2ln`;

  it('reads the jti from the payload without verifying', () => {
    expect(peekJti(signJwt(KEYS.ES256.signer, { ...claims, jti: 'abc_DEF-123' }))).toBe('abc_DEF-123');
    expect(peekJti(token({ jti: 'j' }))).toBe('j');
  });

  it("is undefined for what cannot be one of Sesame's: not a compact JWS, no string jti, a control character, overlong", () => {
    expect(peekJti('nodots')).toBeUndefined();
    expect(peekJti(`${token({ jti: 'j' })}.extra`)).toBeUndefined();
    expect(peekJti(`${token({ jti: 'j' })}=`)).toBeUndefined();
    expect(peekJti(token({ jti: 5 }))).toBeUndefined();
    expect(peekJti(token({ jti: '' }))).toBeUndefined();
    expect(peekJti(token({ jti: 'a\u0000b' }))).toBeUndefined();
    expect(peekJti(token({ jti: 'a b' }))).toBeUndefined();
    expect(peekJti(token({ jti: 'é' }))).toBeUndefined();
    expect(peekJti(token({ jti: 'a'.repeat(255) }))).toBe('a'.repeat(255));
    expect(peekJti(token({ jti: 'a'.repeat(256) }))).toBeUndefined();
    expect(peekJti(token([1]))).toBeUndefined();
  });
});

describe('signature encoding', () => {
  it('ES256 signatures are 64-byte R||S, not DER (RFC 7518 §3.4)', () => {
    const s = signJwt(KEYS.ES256.signer, claims).split('.')[2]!;
    expect(Buffer.from(s, 'base64url')).toHaveLength(64);
  });

  it('EdDSA signatures are 64 bytes and RSA signatures 256 bytes', () => {
    expect(Buffer.from(signJwt(KEYS.EdDSA.signer, claims).split('.')[2]!, 'base64url')).toHaveLength(64);
    expect(Buffer.from(signJwt(KEYS.RS256.signer, claims).split('.')[2]!, 'base64url')).toHaveLength(256);
    expect(Buffer.from(signJwt(KEYS.PS256.signer, claims).split('.')[2]!, 'base64url')).toHaveLength(256);
  });
});
