// Requests Node's HTTP parser refuses itself (over-long URL or headers, malformed HTTP) still get Orchard's
// error shape (Apple's on /inApps paths) and a closed connection. Over a real socket: inject() skips the parser.
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createTestApp, type TestApp } from './support/app.ts';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

describe('requests the HTTP parser refuses', () => {
  let t: TestApp;
  let port: number;

  before(async () => {
    t = await createTestApp('embedded');
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as net.AddressInfo).port;
  });
  after(async () => t?.close());

  /** Sends raw bytes and reads until the server closes the connection (it must). */
  const raw = (request: string) =>
    new Promise<RawResponse>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('the server did not close the connection'));
      }, 5000);
      socket.on('data', (c) => chunks.push(c));
      socket.on('error', () => {}); // a reset after the response is fine: the response is what is checked
      socket.on('close', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        const [head, ...rest] = text.split('\r\n\r\n');
        const [statusLine, ...headerLines] = head.split('\r\n');
        const headers = Object.fromEntries(headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
        resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
      });
      socket.write(request);
    });

  const get = (path: string, extraHeaders = '') => raw(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extraHeaders}\r\n`);

  function assertOrchardError(res: RawResponse, status: number, code: string) {
    assert.equal(res.status, status, JSON.stringify(res));
    assert.equal(res.headers.connection, 'close');
    assert.match(res.headers['content-type'], /^application\/json/);
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body));
    const body = JSON.parse(res.body);
    assert.equal(body.error.code, code);
    assert.equal(typeof body.error.message, 'string');
  }

  test("a path of about 10,000 characters with a few KiB of headers (the operator's case): 414 URI_TOO_LONG", async () => {
    const res = await get(`/api/v1/search?q=${'a'.repeat(10_000)}`, `Cookie: session=${'c'.repeat(7_000)}\r\n`);
    assertOrchardError(res, 414, 'URI_TOO_LONG');
  });

  test('a 20,000-character path: 414 URI_TOO_LONG', async () => {
    assertOrchardError(await get(`/api/v1/apps/${'x'.repeat(20_000)}`), 414, 'URI_TOO_LONG');
  });

  test('20 KiB of headers: 431 HEADERS_TOO_LARGE', async () => {
    assertOrchardError(await get('/api/v1/categories', `X-Padding: ${'p'.repeat(20_000)}\r\n`), 431, 'HEADERS_TOO_LARGE');
  });

  test('malformed HTTP (a NUL in a header value): 400 BAD_REQUEST', async () => {
    assertOrchardError(await get('/api/v1/categories', 'User-Agent: a\u0000b\r\n'), 400, 'BAD_REQUEST');
  });

  test("on Apple's paths, Apple's error format", async () => {
    const res = await get(`/inApps/v1/transactions/${'1'.repeat(20_000)}`);
    assert.equal(res.status, 414);
    assert.equal(res.headers.connection, 'close');
    const body = JSON.parse(res.body);
    assert.equal(body.errorCode, 4000000);
    assert.equal(typeof body.errorMessage, 'string');
  });

  test('the server still answers ordinary requests afterwards', async () => {
    const res = await get('/health', 'Connection: close\r\n');
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { status: 'ok' });
  });
});
