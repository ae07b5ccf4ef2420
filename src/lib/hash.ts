// Hashing helpers: SHA-256 for stored tokens; bcrypt (on libuv's thread pool, never blocking the
// event loop) for passwords.
import { createHash, randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';

export const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

export const randomToken = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/** bcrypt reads at most 72 bytes of its input. */
const BCRYPT_MAX_BYTES = 72;

/**
 * What bcrypt sees of a password. Passwords up to 72 bytes go in as they are (so hashes made by the
 * original service still verify); longer ones are pre-hashed, so that every character counts
 * instead of bcrypt silently ignoring the tail.
 */
function bcryptInput(password: string): string {
  return Buffer.byteLength(password, 'utf8') <= BCRYPT_MAX_BYTES
    ? password
    : createHash('sha256').update(password, 'utf8').digest('base64');
}

export const hashPassword = (password: string, rounds: number): Promise<string> => bcrypt.hash(bcryptInput(password), rounds);

export const verifyPassword = (password: string, hash: string): Promise<boolean> => bcrypt.compare(bcryptInput(password), hash);
