import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../../src/lib/hash.js';

describe('password hashing', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const hash = await hashPassword('correct horse battery', 4);
    expect(hash).not.toContain('correct horse');
    expect(await verifyPassword('correct horse battery', hash)).toBe(true);
    expect(await verifyPassword('correct horse batterY', hash)).toBe(false);
  });

  it('tells apart long passwords that differ only after the 72nd byte', async () => {
    const base = 'x'.repeat(80);
    const hash = await hashPassword(`${base}-one`, 4);
    expect(await verifyPassword(`${base}-one`, hash)).toBe(true);
    expect(await verifyPassword(`${base}-two`, hash)).toBe(false);
  });
});
