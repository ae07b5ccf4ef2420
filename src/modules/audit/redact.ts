// Redaction of what the audit trail stores: any key that names a secret (§8: password, token,
// secret, access, refresh, authorization — and cookie) has its value replaced, at any depth, in
// objects and arrays alike. Deep or huge values are cut rather than stored whole.
export const REDACTED = '[REDACTED]';
const SECRET_KEY = /password|token|secret|access|refresh|authorization|cookie/i;
const MAX_DEPTH = 12;
/** Stored JSON is capped at this many characters; beyond it a marker says how much there was. */
export const MAX_STORED_CHARS = 16 * 1024;

export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[TRUNCATED]';
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = SECRET_KEY.test(key) ? REDACTED : redact(item, depth + 1);
  return out;
}

/** JSON text of the redacted value for storage, or null when there is nothing to store. */
export function redactedJson(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const text = JSON.stringify(redact(value));
  if (text === undefined) return null;
  return text.length <= MAX_STORED_CHARS ? text : JSON.stringify(`[TRUNCATED: ${text.length} characters]`);
}

/** An error response body as stored: parsed and redacted when it is JSON, else the text itself. */
export function redactedResponse(payload: unknown): string | null {
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return null;
  const text = payload.toString();
  try {
    return redactedJson(JSON.parse(text));
  } catch {
    return redactedJson(text);
  }
}
