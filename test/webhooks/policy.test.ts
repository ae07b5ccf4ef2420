// Pure parts of webhooks: which addresses are refused, the retry schedule, the signing-key sealing.
import { describe, expect, it } from 'vitest';
import { isForbiddenAddress } from '../../src/modules/webhooks/address-policy.js';
import { retryDelayMs } from '../../src/modules/webhooks/delivery-worker.js';
import { decryptWebhookSecret, encryptWebhookSecret, signWebhookBody } from '../../src/modules/webhooks/secrets.js';

describe('isForbiddenAddress', () => {
  it.each([
    '127.0.0.1', '127.255.255.254', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.0.1', '169.254.169.254',
    '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::', '::1', 'fe80::1', 'fe80::1%eth0', 'fc00::1',
    'fd12:3456::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::127.0.0.1', '64:ff9b::10.0.0.1',
    '64:ff9b::a9fe:a9fe', '2002:c0a8:101::1', 'ff02::1', 'not an address',
  ])('refuses %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each(['93.184.215.14', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'])(
    'allows the public address %s',
    (address) => {
      expect(isForbiddenAddress(address)).toBe(false);
    },
  );
});

describe('retryDelayMs', () => {
  it('doubles from the base, jittered within the upper half, capped at an hour', () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(attempt, 1000, () => 0))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(attempt, 1000, () => 1))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(40, 15_000, () => 1)).toBe(3_600_000);
  });
});

describe('signing keys', () => {
  it('seal with SECRET_KEY, open only with it, and sign bodies as receivers check them', () => {
    const sealed = encryptWebhookSecret('whsec_key', 'k'.repeat(40));
    expect(sealed).not.toContain('whsec_key');
    expect(encryptWebhookSecret('whsec_key', 'k'.repeat(40))).not.toBe(sealed);
    expect(decryptWebhookSecret(sealed, 'k'.repeat(40))).toBe('whsec_key');
    expect(decryptWebhookSecret(sealed, 'j'.repeat(40))).toBeUndefined();
    expect(decryptWebhookSecret('garbage', 'k'.repeat(40))).toBeUndefined();
    // RFC 4231 test case 2.
    expect(signWebhookBody('what do ya want for nothing?', 'Jefe')).toBe('sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });
});
