// The per-request logger: nothing made for lines below the level, the request id on every line written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { requestLogger, type Logger } from './logger.ts';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { parent: pino({ level }, stream) as Logger, lines };
}

test('a request logger writes enabled levels with its bindings and makes no child for the rest', async () => {
  const { parent, lines } = capture('info');
  let children = 0;
  const child = parent.child.bind(parent);
  parent.child = ((...args: Parameters<Logger['child']>) => (children++, child(...args))) as Logger['child'];
  const log = requestLogger(parent, { requestId: 'r-1' }, {});
  log.debug({ url: '/apps' }, 'request done');
  assert.equal(children, 0, 'a debug line at level info costs no child');
  log.error({ status: 500 }, 'request failed');
  log.warn('request not served');
  assert.equal(children, 1, 'one child, made on the first line written');
  delete (parent as Partial<Logger>).child; // pino's own again (the spy is bound to the parent)
  log.child({ part: 'x' }).info('from a child');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(
    lines.map((l) => [l.msg, l.requestId, l.level]),
    [
      ['request failed', 'r-1', 50],
      ['request not served', 'r-1', 40],
      ['from a child', 'r-1', 30],
    ],
  );
  assert.equal(lines[0].status, 500);
  assert.equal(log.level, 'info');
});

test('a route with its own level gets a real child at that level', () => {
  const { parent } = capture('info');
  const log = requestLogger(parent, { requestId: 'r-2' }, { level: 'debug' });
  assert.equal(log.level, 'debug');
});
