// Issue #16, the lean lane's POSTs and request bodies that do not end well, over raw sockets to
// both lanes: a body larger than allowed is answered 413 and then read for a short while only
// (then the connection closes, as the Hono app's adapter does), and a client that goes away
// mid-body is its own failure (invalid_request), never a "database unavailable".
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lanes, startLanes } from './lanes.js';

/** Opens a socket to `base` and writes `head`; resolves once connected. */
function open(base: string, head: string): Promise<Socket> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(head);
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

/** What the socket receives until it closes (or `ms` pass), and whether the server closed it. */
function received(socket: Socket, ms: number): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    const timer = setTimeout(() => resolve({ text, closed: false }), ms);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.on('error', () => {});
  });
}

const head = (path: string, headers: string) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n${headers}\r\n`;

describe('lean lane (#16): request bodies that do not end well', () => {
  let lanes: Lanes;
  beforeAll(async () => {
    lanes = await startLanes();
  });
  afterAll(() => lanes?.close());

  it.each(['lean', 'hono'] as const)(
    '%s: a body that goes on past the limit gets 413, then the connection closes within seconds',
    async (lane) => {
      const limit = lanes.t.rt.config.bodyLimit;
      const socket = await open(lanes[lane].url, head('/oauth/introspect', 'Transfer-Encoding: chunked\r\n'));
      const chunk = `${(64 * 1024).toString(16)}\r\n${'a'.repeat(64 * 1024)}\r\n`;
      let writing = true;
      const pump = () => {
        while (writing && socket.writable && socket.write(chunk)) {}
        if (writing && socket.writable) socket.once('drain', pump);
      };
      pump();
      const answer = await received(socket, 5000);
      writing = false;
      socket.destroy();
      expect(answer.text).toMatch(/^HTTP\/1\.1 413 /);
      expect(answer.text).toContain(`larger than ${limit} bytes`);
      expect(answer.closed).toBe(true);
    },
  );

  it.each(['lean', 'hono'] as const)(
    '%s: a declared length past the limit, with the body never sent, gets 413 and the connection closes soon',
    async (lane) => {
      const limit = lanes.t.rt.config.bodyLimit;
      const socket = await open(lanes[lane].url, head('/oauth/token', `Content-Length: ${limit * 10}\r\n`));
      const start = performance.now();
      const answer = await received(socket, 4000);
      socket.destroy();
      expect(answer.text).toMatch(/^HTTP\/1\.1 413 /);
      expect(answer.closed).toBe(true);
      expect(performance.now() - start).toBeLessThan(4000);
    },
  );

  it.each(['lean', 'hono'] as const)(
    '%s: a client that goes away mid-body is logged as its own failure, not as the database',
    async (lane) => {
      const before = lanes.lines.length;
      const socket = await open(
        lanes[lane].url,
        `${head('/oauth/token', 'Content-Length: 100\r\n')}grant_type=`,
      );
      await new Promise((r) => setTimeout(r, 100));
      socket.destroy();
      let refused: Record<string, unknown> | undefined;
      for (let i = 0; i < 100 && !refused; i++) {
        await new Promise((r) => setTimeout(r, 20));
        refused = lanes.lines.slice(before).find((l) => l.msg === 'request refused' || l.level === 40);
      }
      expect(refused).toMatchObject({ msg: 'request refused', error: 'invalid_request' });
      expect(lanes.lines.slice(before).some((l) => l.msg === 'database unavailable')).toBe(false);
    },
  );
});
