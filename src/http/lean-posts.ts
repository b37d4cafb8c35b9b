import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { introspectionAnswer } from '../endpoints/introspect.js';
import { TOKEN_REPEATABLE, tokenAnswer } from '../endpoints/token/index.js';
import { merged } from '../util/merged.js';
import { incomingOrigin } from './client-ip.js';
import type { Deps } from './context.js';
import { errorAnswer } from './error-handler.js';
import type { FormCall } from './form-call.js';
import { bodyParams, readIncoming } from './middleware/parse-form.js';
import { logRequest, stampHeaders } from './middleware/request-log.js';
import { TrustedProxies } from './proxies.js';
import { NO_STORE, writeJson } from './respond.js';

/** A POST the lean lane answers: the bodies it reads, and the endpoint's answer. */
interface LeanPost {
  /** Whether a JSON body is read as well as a form (the token endpoint, as in the route table). */
  json: boolean;
  repeatable: ReadonlySet<string>;
  /** Whether the route answers CORS (then a request with Origin goes to Hono, which does that). */
  cors: boolean;
  answer(call: FormCall): Promise<unknown>;
}

/**
 * Headers that Node keeps once when they are repeated, where the Fetch Request Hono reads joins
 * them: a request that repeats one goes to Hono, so both lanes see the same values.
 */
const SINGLE = new Map([
  ['authorization', 1],
  ['content-type', 2],
  ['user-agent', 4],
]);

/** Whether `req` repeats one of the SINGLE headers. */
function repeatsSingle(req: IncomingMessage): boolean {
  const raw = req.rawHeaders;
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const bit = SINGLE.get(raw[i]!.toLowerCase());
    if (bit === undefined) continue;
    if (seen & bit) return true;
    seen |= bit;
  }
  return false;
}

/** How long, and how much of, a body left unread (a 413, a refused type) is read and dropped. */
const DRAIN_MS = 500;
const DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * After an answer sent before its request's body was read in full: the rest is read and dropped
 * so that the connection can serve the next request, but for at most DRAIN_MS and DRAIN_BYTES;
 * then the connection is closed (as the Hono app's adapter does), so that a client cannot keep
 * the process reading an upload nobody wants.
 */
function drainUnread(req: IncomingMessage): void {
  if (req.complete || req.destroyed) return;
  let read = 0;
  const stop = () => {
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', stop);
    req.off('error', stop);
  };
  const close = () => {
    stop();
    if (!req.socket.destroyed) req.socket.destroySoon();
  };
  const onData = (chunk: Buffer) => {
    read += chunk.length;
    if (read > DRAIN_BYTES) close();
  };
  const timer = setTimeout(close, DRAIN_MS);
  timer.unref();
  req.on('data', onData);
  req.on('end', stop);
  req.on('error', stop);
  req.resume();
}

/**
 * The lean lane's POSTs (#16): the token endpoint and introspection answered from Node's request
 * with the endpoint's own code (`tokenAnswer`, `introspectionAnswer`), the body read by the same
 * rules (`bodyParams`) and a failure answered as the Hono app's onError answers it
 * (`errorAnswer`). `serve` returns false, having touched nothing, for a request that Hono must
 * answer: a path not listed, an `Origin` on a CORS route, a repeated SINGLE header.
 */
export function leanPosts(deps: Deps) {
  const limit = deps.config.bodyLimit;
  const proxies = new TrustedProxies(deps.config.trustedProxies);
  const posts = new Map<string, LeanPost>([
    [
      '/oauth/token',
      { json: true, repeatable: TOKEN_REPEATABLE, cors: true, answer: (call) => tokenAnswer(deps, call) },
    ],
    [
      '/oauth/introspect',
      { json: false, repeatable: new Set(), cors: false, answer: (call) => introspectionAnswer(deps, call) },
    ],
  ]);

  const answer = async (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    post: LeanPost,
    requestId: string,
    start: number,
  ) => {
    let status = 200;
    let body: unknown;
    let headers: Record<string, string> = {};
    let log: Logger | undefined;
    try {
      const params = await bodyParams(
        {
          type: req.headers['content-type'],
          encoding: req.headers['content-encoding'],
          length: req.headers['content-length'],
          read: () => readIncoming(req, limit),
        },
        limit,
        post.repeatable,
        post.json,
      );
      deps.storage.beginRequest();
      const origin = () => incomingOrigin(req, proxies);
      body = await post.answer({ params, authorization: req.headers.authorization, origin });
    } catch (err) {
      log = deps.logger.child({ reqId: requestId });
      const failure = errorAnswer(err, log, requestId);
      status = failure.error.status;
      body = failure.error.toJSON();
      headers = merged(failure.error.headers, failure.headers ?? {});
    }
    if (!req.complete) res.once('finish', () => drainUnread(req));
    writeJson(res, status, merged(NO_STORE, headers, stampHeaders(requestId)), JSON.stringify(body));
    deps.metrics?.request(path, 'POST', status, start);
    logRequest(log ?? deps.logger, log ? {} : { reqId: requestId }, 'POST', path, status, start);
  };

  return {
    /** Answers `req` and returns true, or returns false for Hono to answer it. */
    serve(req: IncomingMessage, res: ServerResponse, path: string): boolean {
      const post = posts.get(path);
      if (!post || (post.cors && req.headers.origin !== undefined) || repeatsSingle(req)) return false;
      const start = performance.now();
      const requestId = randomUUID();
      answer(req, res, path, post, requestId, start).catch((err) => {
        // nothing here is known to throw once the body is read; if it does, the connection ends
        deps.logger.error({ err, reqId: requestId }, 'the lean lane failed');
        res.destroy();
      });
      return true;
    },
  };
}
