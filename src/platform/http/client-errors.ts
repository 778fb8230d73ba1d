// Requests Node's HTTP parser refuses before Fastify sees them (URL and headers over 16 KiB, malformed
// HTTP, a request that is too slow to arrive): answered in Orchard's error shape (or a foreign format on
// its paths), then the connection is closed, since the parser no longer knows where a next request starts.
// Installed as Fastify's `clientErrorHandler` option; inject() bypasses the parser, so test it over a socket.
import http from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyInstance } from 'fastify';
import type { ForeignErrorFormat } from './errors.ts';

// Node refuses a request line plus headers over 16 KiB; when the request line alone holds half of that, the URL is the problem.
const LONG_REQUEST_LINE = 8 * 1024;

/** The start of the request when the failing chunk holds it (it usually does: Node reads 64 KiB at a time). */
function requestLine(packet: unknown): string | null {
  if (!Buffer.isBuffer(packet)) return null;
  const start = packet.subarray(0, LONG_REQUEST_LINE + 2).toString('latin1');
  return /^[A-Z]+ \S/.test(start) ? start.split('\r\n', 1)[0] : null;
}

function classify(err: ConnectionError, line: string | null): { status: number; code: string; message: string } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return line && line.length > LONG_REQUEST_LINE
        ? { status: 414, code: 'URI_TOO_LONG', message: 'The URL is too long (at most 8 KiB): send long inputs in a request body.' }
        : { status: 431, code: 'HEADERS_TOO_LARGE', message: 'The URL and headers together exceed 16 KiB.' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'REQUEST_TIMEOUT', message: 'The request took too long to arrive.' };
    default:
      return { status: 400, code: 'BAD_REQUEST', message: `The request is not valid HTTP/1.1 (${(err as { reason?: string }).reason ?? err.code}).` };
  }
}

export function clientErrorReply(formats: ForeignErrorFormat[] = []) {
  return function onClientError(this: unknown, err: ConnectionError, socket: Socket): void {
    if (err.code === 'ECONNRESET' || socket.destroyed) return; // the client is gone
    const line = requestLine(err.rawPacket);
    const { status, code, message } = classify(err, line);
    (this as FastifyInstance | undefined)?.log?.debug({ err, status }, 'client error');
    if (!socket.writable) return void socket.destroy();
    const url = line?.split(' ')[1] ?? '';
    const foreign = formats.find((f) => url.startsWith(f.prefix));
    const body = JSON.stringify(foreign ? foreign.body(status, code, message) : { error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      () => socket.destroy(),
    );
  };
}
