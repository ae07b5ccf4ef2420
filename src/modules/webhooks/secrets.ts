// Webhook signing keys. A key is shown once (the POST's 201) and must be kept to sign, so it is
// stored encrypted (AES-256-GCM, key derived from SECRET_KEY with HKDF): a copy of the database
// alone does not let anyone forge deliveries. Changing SECRET_KEY makes stored keys unreadable —
// their deliveries then fail with a message saying so, and the webhooks must be created again.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

const FORMAT = 'v1';

export const generateWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64url')}`;

function encryptionKey(secretKey: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secretKey, 'ctms', 'webhook signing keys', 32));
}

export function encryptWebhookSecret(secret: string, secretKey: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', encryptionKey(secretKey), iv);
  const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return [FORMAT, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), sealed.toString('base64url')].join('.');
}

/** The signing key, or undefined when it cannot be read with this SECRET_KEY. */
export function decryptWebhookSecret(stored: string, secretKey: string): string | undefined {
  const [format, iv, tag, sealed] = stored.split('.');
  if (format !== FORMAT || iv === undefined || tag === undefined || sealed === undefined) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', encryptionKey(secretKey), Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/** The X-CTMS-Signature value: HMAC-SHA256 of the raw body with the signing key, in hex. */
export const signWebhookBody = (body: string, secret: string): string => `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
