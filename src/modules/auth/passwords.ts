// Password checks that do not reveal whether an account exists: a login for an unknown user still
// runs one bcrypt comparison, against a dummy hash made once with the configured cost.
import { hashPassword, randomToken, verifyPassword } from '../../lib/hash.js';

/** A bcrypt hash of a random secret nobody knows, at the configured cost. */
export function dummyPasswordHash(rounds: number): Promise<string> {
  const hash = hashPassword(randomToken(), rounds);
  // Awaited at the first login; an early failure must not become an unhandled rejection meanwhile.
  hash.catch(() => undefined);
  return hash;
}

/** bcrypt comparison that treats an unreadable stored hash as a mismatch instead of a 500. */
export async function passwordMatches(password: string, hash: string): Promise<boolean> {
  try {
    return await verifyPassword(password, hash);
  } catch {
    return false;
  }
}
