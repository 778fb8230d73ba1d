import { test } from 'node:test';
import assert from 'node:assert/strict';
import { afterPublish, afterReview, afterSubmit, isVersionEditable, missingForSubmission } from './workflow.ts';

test('submission: drafts and rejected apps go to review, published apps stay live, others cannot', () => {
  assert.equal(afterSubmit('draft'), 'in_review');
  assert.equal(afterSubmit('rejected'), 'in_review');
  assert.equal(afterSubmit('published'), 'published');
  for (const s of ['in_review', 'approved', 'removed'] as const) assert.equal(afterSubmit(s), null);
});

test('review and publish', () => {
  assert.equal(afterReview('in_review', 'approved'), 'approved');
  assert.equal(afterReview('in_review', 'rejected'), 'rejected');
  assert.equal(afterReview('published', 'rejected'), 'published');
  assert.equal(afterPublish('approved'), 'published');
  assert.equal(afterPublish('published'), 'published');
  assert.equal(afterPublish('draft'), null);
  assert.equal(afterPublish('removed'), null);
  assert.ok(isVersionEditable('draft') && isVersionEditable('rejected'));
  assert.ok(!isVersionEditable('in_review') && !isVersionEditable('approved') && !isVersionEditable('published'));
});

test('missingForSubmission lists every gap', () => {
  assert.deepEqual(missingForSubmission({ hasIcon: false, version: null, isFree: false, priceCount: 0 }), ['icon', 'version', 'prices']);
  assert.deepEqual(missingForSubmission({ hasIcon: true, version: { status: 'draft', hasBinary: false }, isFree: true, priceCount: 0 }), ['binary']);
  assert.deepEqual(missingForSubmission({ hasIcon: true, version: { status: 'draft', hasBinary: true }, isFree: false, priceCount: 2 }), []);
});
