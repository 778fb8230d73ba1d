import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { idempotencyKeyOf, requestHash } from './idempotency.ts';

test('requestHash: the same request in any key order is the same hash; any difference is another', () => {
  const a = requestHash({ appId: 'x', price: { amountMilli: 990, currency: 'USD' }, quantity: undefined });
  const b = requestHash({ price: { currency: 'USD', amountMilli: 990 }, appId: 'x' });
  assert.equal(a, b);
  assert.notEqual(a, requestHash({ appId: 'x', price: { amountMilli: 991, currency: 'USD' } }));
  assert.notEqual(requestHash(['a', null]), requestHash(['a']));
  assert.match(a, /^[0-9a-f]{64}$/);
});

test('idempotencyKeyOf: required, 1 to 255 printable ASCII characters without spaces', () => {
  const req = (key?: unknown) => ({ headers: key === undefined ? {} : { 'idempotency-key': key } }) as unknown as FastifyRequest;
  assert.equal(idempotencyKeyOf(req('7f1c-retry-1')), '7f1c-retry-1');
  assert.equal(idempotencyKeyOf(req('x'.repeat(255))).length, 255);
  const code = (k?: unknown) => {
    try {
      idempotencyKeyOf(req(k));
      return 'accepted';
    } catch (err) {
      return (err as { code: string }).code;
    }
  };
  assert.equal(code(undefined), 'IDEMPOTENCY_KEY_REQUIRED');
  for (const bad of ['', 'has space', 'x'.repeat(256), 'tab\there', 'ünï', ['a', 'b']]) assert.equal(code(bad), 'IDEMPOTENCY_KEY_INVALID', String(bad));
});
