import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { JwtError, signJwt, verifiedTokensKept, verifyJwt } from '../../src/lib/jwt.js';

const SECRET = 'the-secret-of-these-tests-long-enough';
const OTHER = 'another-secret-of-these-tests-long-enough';
const NOW = 2_000_000_000;

const reason = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof JwtError ? error.reason : error;
  }
  return 'accepted';
};

describe('verified tokens are kept, and every rule still holds for them', () => {
  it('a kept token still expires on time', () => {
    const token = signJwt({ sub: '1', exp: NOW + 60 }, SECRET);
    expect(verifyJwt(token, SECRET, NOW)).toMatchObject({ sub: '1' });
    expect(verifyJwt(token, SECRET, NOW + 59)).toMatchObject({ sub: '1' });
    expect(reason(() => verifyJwt(token, SECRET, NOW + 60))).toBe('expired');
    const expired = (() => {
      try {
        verifyJwt(token, SECRET, NOW + 3600);
      } catch (error) {
        return error as JwtError;
      }
    })();
    expect(expired?.payload).toMatchObject({ sub: '1', exp: NOW + 60 });
  });

  it('a kept token is still refused before its nbf', () => {
    const token = signJwt({ sub: '2', exp: NOW + 600, nbf: NOW + 10 }, SECRET);
    expect(verifyJwt(token, SECRET, NOW + 10)).toMatchObject({ sub: '2' });
    expect(reason(() => verifyJwt(token, SECRET, NOW + 9))).toBe('not_yet_valid');
  });

  it('a kept token is refused under another secret', () => {
    const token = signJwt({ sub: '3', exp: NOW + 600 }, SECRET);
    expect(verifyJwt(token, SECRET, NOW)).toMatchObject({ sub: '3' });
    expect(reason(() => verifyJwt(token, OTHER, NOW))).toBe('signature');
    // and the one of the other secret is not accepted under the first after it was kept
    const other = signJwt({ sub: '3', exp: NOW + 600 }, OTHER);
    expect(verifyJwt(other, OTHER, NOW)).toMatchObject({ sub: '3' });
    expect(reason(() => verifyJwt(other, SECRET, NOW))).toBe('signature');
    expect(verifyJwt(token, SECRET, NOW)).toMatchObject({ sub: '3' });
  });

  it('a tampered copy of a kept token is refused', () => {
    const token = signJwt({ sub: '4', role: 'developer', exp: NOW + 600 }, SECRET);
    expect(verifyJwt(token, SECRET, NOW)).toMatchObject({ sub: '4' });
    const [header, , signature] = token.split('.') as [string, string, string];
    const body = Buffer.from(JSON.stringify({ sub: '4', role: 'admin', exp: NOW + 600 })).toString('base64url');
    expect(reason(() => verifyJwt(`${header}.${body}.${signature}`, SECRET, NOW))).toBe('signature');
    const flipped = signature.slice(0, -1) + (signature.endsWith('A') ? 'B' : 'A');
    expect(reason(() => verifyJwt(`${header}.${token.split('.')[1]}.${flipped}`, SECRET, NOW))).toBe('signature');
    expect(reason(() => verifyJwt(`${token}x`, SECRET, NOW))).not.toBe('accepted');
    // alg:none with the kept token's body
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    expect(reason(() => verifyJwt(`${none}.${token.split('.')[1]}.${signature}`, SECRET, NOW))).toBe('algorithm');
  });

  it('refuses every other spelling of a valid signature: unused low bits of its last character set, padding, stray characters', () => {
    const token = signJwt({ sub: '5', role: 'developer', exp: NOW + 600 }, SECRET);
    const [header, body, signature] = token.split('.') as [string, string, string];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // 32 bytes in 43 characters: the last one carries 4 bits, its 2 low bits are unused.
    const last = alphabet.indexOf(signature.at(-1) as string);
    const sameBytes = [1, 2, 3].map((low) => `${signature.slice(0, -1)}${alphabet[(last & ~3) | ((last + low) & 3)]}`);
    const spellings = [...sameBytes, `${signature}=`, `${signature.slice(0, 10)}*${signature.slice(10)}`, `${signature} `];
    for (const spelling of spellings) {
      expect(Buffer.from(spelling, 'base64url').equals(Buffer.from(signature, 'base64url')), spelling).toBe(true);
      expect(reason(() => verifyJwt(`${header}.${body}.${spelling}`, SECRET, NOW)), spelling).toBe('signature');
    }
    expect(verifyJwt(token, SECRET, NOW)).toMatchObject({ sub: '5' });
  });

  it('keeps the payload from being changed through the kept copy', () => {
    const token = signJwt({ sub: '5', exp: NOW + 600 }, SECRET);
    const payload = verifyJwt(token, SECRET, NOW);
    expect(() => {
      payload.sub = '6';
    }).toThrow(TypeError);
    expect(verifyJwt(token, SECRET, NOW).sub).toBe('5');
  });

  it('keeps no refused token and stays bounded', () => {
    const before = verifiedTokensKept();
    const forged = (i: number) => {
      const body = Buffer.from(JSON.stringify({ sub: String(i), exp: NOW + 600 })).toString('base64url');
      const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
      return `${head}.${body}.${createHmac('sha256', 'wrong').update(`${head}.${body}`).digest('base64url')}`;
    };
    for (let i = 0; i < 1000; i++) expect(reason(() => verifyJwt(forged(i), SECRET, NOW))).toBe('signature');
    expect(reason(() => verifyJwt(signJwt({ sub: '7', exp: NOW - 1 }, SECRET), SECRET, NOW))).toBe('expired');
    expect(verifiedTokensKept()).toBe(before);
    for (let i = 0; i < 10_000; i++) verifyJwt(signJwt({ sub: String(i), exp: NOW + 600 }, SECRET), SECRET, NOW);
    expect(verifiedTokensKept()).toBe(4096);
    // the newest are kept, and an evicted one is still verified in full
    const first = signJwt({ sub: '0', exp: NOW + 600 }, SECRET);
    expect(verifyJwt(first, SECRET, NOW)).toMatchObject({ sub: '0' });
    expect(verifiedTokensKept()).toBe(4096);
  });
});
