// Reading @mentions out of comment text (pure).
import { describe, expect, it } from 'vitest';
import { MAX_MENTIONS, mentionCandidates, resolveMentions } from '../../src/modules/comments/mentions.js';

describe('mentionCandidates', () => {
  it('finds names after @, with and without trailing punctuation, once each (case-insensitively)', () => {
    expect(mentionCandidates('@ann, @bob. and @Ann; @carl-')).toEqual([['ann'], ['bob.', 'bob'], ['carl-', 'carl']]);
  });

  it('keeps usernames that contain @ and dots whole', () => {
    expect(mentionCandidates('ask @ann@example.com')).toEqual([['ann@example.com']]);
  });

  it('ignores e-mail addresses, a lone @, and names too short or too long', () => {
    expect(mentionCandidates(`write to ann@example.com @ @ab @${'x'.repeat(151)}`)).toEqual([]);
  });

  it(`stops after ${MAX_MENTIONS} mentions`, () => {
    const text = Array.from({ length: MAX_MENTIONS + 10 }, (_, i) => `@user${i}`).join(' ');
    expect(mentionCandidates(text)).toHaveLength(MAX_MENTIONS);
  });
});

describe('resolveMentions', () => {
  const ann = { id: 1 };
  const annDot = { id: 2 };
  it('prefers the exact spelling, then the name without punctuation, each user once', () => {
    const users = new Map([
      ['ann', ann],
      ['ann.', annDot],
    ]);
    expect(resolveMentions([['ann.', 'ann'], ['ann']], users)).toEqual([annDot, ann]);
    expect(resolveMentions([['ann!'], ['zed']], users)).toEqual([]);
    expect(resolveMentions([['ann'], ['ANN']], users)).toEqual([ann]);
  });
});
