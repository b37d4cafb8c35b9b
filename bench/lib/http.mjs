// A small HTTP/1.1 client on node:http for setup work and the code-flow loop: keep-alive,
// no redirects followed, an optional cookie jar. Only ever used against 127.0.0.1.
import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';

/** A keep-alive agent for `sockets` concurrent requests. */
export function keepAlive(sockets = 16) {
  return new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
}

const defaultAgent = keepAlive(8);

/**
 * One request. `form` (an object) becomes an application/x-www-form-urlencoded body; `basic`
 * ([id, secret]) an Authorization header; `jar` sends and stores cookies. Resolves to
 * `{ status, headers, body }` (body a string); rejects on network errors and after `timeoutMs`.
 */
export function request(url, opts = {}) {
  const u = new URL(url);
  const headers = { ...opts.headers };
  let body = opts.body;
  if (opts.form) {
    body = new URLSearchParams(opts.form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  if (opts.basic) headers.authorization = basicAuth(...opts.basic);
  if (opts.jar) {
    const cookie = opts.jar.header(u.pathname);
    if (cookie) headers.cookie = cookie;
  }
  if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: opts.method ?? (body === undefined ? 'GET' : 'POST'),
        headers,
        agent: opts.agent ?? defaultAgent,
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          if (opts.jar) opts.jar.store(res.headers['set-cookie'], u.pathname);
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${opts.method ?? 'GET'} ${url}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** RFC 6749 §2.3.1 client_secret_basic. */
export function basicAuth(id, secret) {
  const enc = (s) => encodeURIComponent(s);
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/** A cookie jar that honours Path and deletion (Max-Age=0 or an Expires in the past); enough for two servers. */
export class CookieJar {
  cookies = new Map(); // name + path → { name, value, path }

  store(setCookie, requestPath) {
    for (const line of setCookie ?? []) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = requestPath.replace(/\/[^/]*$/, '') || '/';
      let expired = false;
      for (const attr of attrs) {
        const [k, v = ''] = attr.trim().split('=');
        const key = k.toLowerCase();
        if (key === 'path') path = v || '/';
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      const id = `${name}\u0000${path}`;
      if (expired || value === '') this.cookies.delete(id);
      else this.cookies.set(id, { name, value, path });
    }
  }

  header(path) {
    const out = [];
    for (const c of this.cookies.values()) {
      if (path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)) {
        out.push(`${c.name}=${c.value}`);
      }
    }
    return out.join('; ');
  }
}

/** base64url of random bytes. */
export function randomB64(bytes = 32) {
  return randomBytes(bytes).toString('base64url');
}
