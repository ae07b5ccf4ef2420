// Hashing helpers: SHA-256 for stored tokens; bcrypt (on libuv's thread pool, never blocking the
// event loop) for passwords.
import { createHash, randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';

export const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

export const randomToken = (bytes = 32): string => randomBytes(bytes).toString('base64url');

export const hashPassword = (password: string, rounds: number): Promise<string> => bcrypt.hash(password, rounds);

export const verifyPassword = (password: string, hash: string): Promise<boolean> => bcrypt.compare(password, hash);
