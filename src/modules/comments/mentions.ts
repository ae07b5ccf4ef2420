// `@username` mentions in comment text. Usernames are ASCII letters, digits and `._@+-`, so a
// mention is "@" (not inside a word or an e-mail address) followed by those characters. Text
// punctuation may follow a name ("@ann." / "@ann-"), so each mention also tries its name without
// trailing punctuation; the exact spelling wins when both exist.
const MENTION = /(?<![A-Za-z0-9._@+-])@([A-Za-z0-9._@+-]+)/g;
const TRAILING_PUNCTUATION = /[._@+-]+$/;
const USERNAME_MIN = 3;
const USERNAME_MAX = 150;
/** More distinct mentions than this in one comment are not looked up (a comment is not a mailing list). */
export const MAX_MENTIONS = 50;

/** The names each mention could stand for, longest first, per mention in order of appearance. */
export function mentionCandidates(text: string): string[][] {
  const seen = new Set<string>();
  const out: string[][] = [];
  for (const match of text.matchAll(MENTION)) {
    const name = match[1] ?? '';
    const key = name.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    const names = [name, name.replace(TRAILING_PUNCTUATION, '')].filter(
      (candidate, i, all) => candidate.length >= USERNAME_MIN && candidate.length <= USERNAME_MAX && all.indexOf(candidate) === i,
    );
    if (names.length > 0) out.push(names);
    if (out.length >= MAX_MENTIONS) break;
  }
  return out;
}

/**
 * The users a text mentions, given those of the candidate names that exist (keyed by lowercased
 * username): one per mention, the exact spelling first, each user once.
 */
export function resolveMentions<U extends { id: number }>(candidates: readonly string[][], byLowerName: ReadonlyMap<string, U>): U[] {
  const found = new Map<number, U>();
  for (const names of candidates) {
    for (const name of names) {
      const user = byLowerName.get(name.toLowerCase());
      if (user) {
        found.set(user.id, user);
        break;
      }
    }
  }
  return [...found.values()];
}
