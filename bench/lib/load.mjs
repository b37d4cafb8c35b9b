// The load generator, a child process of run.mjs (forked with an IPC channel). It gets one
// job, warms up, tells the parent {type:'started'} (the parent starts its CPU and memory
// readings), measures, and sends {type:'done', result}. Every phase is bounded by time, and a
// watchdog ends the process if anything hangs.
//
// Jobs: 'fixed' (autocannon, one request over and over), 'refresh' (autocannon, each request
// spends a refresh token never used before, from a pool that every rotated token joins),
// 'flow' (GET /authorize with a session cookie → code → POST token, a loop with bounded
// concurrency, counted as flows).
import { createHash } from 'node:crypto';
import autocannon from 'autocannon';
import { keepAlive, randomB64, request } from './http.mjs';

function runAutocannon(opts) {
  return new Promise((resolve, reject) => {
    autocannon({ timeout: 10, ...opts }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

function summarize(result, expectStatus) {
  const ok = result.statusCodeStats?.[expectStatus]?.count ?? 0;
  const total = Object.values(result.statusCodeStats ?? {}).reduce((n, s) => n + s.count, 0);
  return {
    ok,
    total,
    other: total - ok,
    statuses: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
    rate: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

/** autocannon options for a 'fixed' or 'refresh' job, and a function that reports pool state. */
function autocannonOptions(job) {
  const base = {
    url: job.url,
    connections: job.connections,
    ...(job.overallRate ? { overallRate: job.overallRate } : {}),
  };
  if (job.mode === 'fixed') {
    const { method, headers, body } = job;
    return { opts: { ...base, url: job.url + job.path, method, headers, body }, extra: () => ({}) };
  }
  // refresh: a token is taken once (LIFO) and the rotated one it buys joins the pool
  const pool = [...job.tokens];
  let starved = 0;
  const opts = {
    ...base,
    requests: [
      {
        method: 'POST',
        path: job.path,
        headers: job.headers,
        setupRequest(req) {
          const token = pool.pop();
          if (token === undefined) starved++;
          const body = `grant_type=refresh_token&refresh_token=${token ?? 'pool-empty'}`;
          return { ...req, body };
        },
        onResponse(status, body) {
          if (status !== 200) return;
          const next = JSON.parse(body).refresh_token;
          if (next) pool.push(next);
        },
      },
    ],
  };
  return { opts, extra: () => ({ poolLeft: pool.length, starved }) };
}

const sha256b64 = (s) => createHash('sha256').update(s).digest('base64url');

/** One authorization code + PKCE flow for a browser with a session and a grant; throws unless it ends with an ID token. */
async function oneFlow(f, agent) {
  const verifier = randomB64(32);
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: f.clientId,
    redirect_uri: f.redirectUri,
    scope: f.scope,
    resource: f.resource,
    state: randomB64(12),
    nonce: randomB64(12),
    code_challenge: sha256b64(verifier),
    code_challenge_method: 'S256',
  });
  const auth = await request(`${f.base}${f.authorizePath}?${q}`, { headers: { cookie: f.cookie }, agent });
  const location = auth.headers.location ?? '';
  if (auth.status !== 303 && auth.status !== 302) throw new Error(`authorize: ${auth.status}`);
  const code = new URL(location, f.base).searchParams.get('code');
  if (!location.startsWith(f.redirectUri) || !code) throw new Error(`authorize: no code in ${location}`);
  const token = await request(`${f.base}${f.tokenPath}`, {
    form: { grant_type: 'authorization_code', code, redirect_uri: f.redirectUri, code_verifier: verifier },
    headers: { authorization: f.authorization },
    agent,
  });
  if (token.status !== 200 || !JSON.parse(token.body).id_token) throw new Error(`token: ${token.status}`);
}

async function flowLoop(job, seconds, agent) {
  const latencies = [];
  let errors = 0;
  let firstError;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const start = performance.now();
      try {
        await oneFlow(job.flow, agent);
        latencies.push(performance.now() - start);
      } catch (err) {
        errors++;
        firstError ??= err.message;
      }
    }
  };
  await Promise.all(Array.from({ length: job.connections }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p) =>
    latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : 0;
  return {
    ok: latencies.length,
    total: latencies.length + errors,
    other: errors,
    firstError,
    seconds: elapsed,
    rate: latencies.length / elapsed,
    p50: Math.round(pct(0.5) * 10) / 10,
    p99: Math.round(pct(0.99) * 10) / 10,
  };
}

async function run(job) {
  const send = (msg) => new Promise((resolve) => process.send(msg, resolve));
  let cpu0;
  const started = () => {
    cpu0 = process.cpuUsage();
    return send({ type: 'started' });
  };
  /** This process's CPU seconds over the measured window (to tell the machine's other load apart). */
  const ownCpu = () => {
    const { user, system } = process.cpuUsage(cpu0);
    return (user + system) / 1e6;
  };
  if (job.mode === 'flow') {
    const agent = keepAlive(job.connections);
    if (job.warmup > 0) await flowLoop(job, job.warmup, agent);
    await started();
    const result = await flowLoop(job, job.duration, agent);
    agent.destroy();
    return { ...result, loadCpu: ownCpu() };
  }
  const { opts, extra } = autocannonOptions(job);
  if (job.warmup > 0) await runAutocannon({ ...opts, duration: job.warmup });
  await started();
  const result = await runAutocannon({ ...opts, duration: job.duration });
  return { ...summarize(result, job.expectStatus ?? 200), ...extra(), loadCpu: ownCpu() };
}

process.once('message', async (job) => {
  const watchdog = setTimeout(
    () => {
      console.error(`load generator: ${job.name} did not finish in time`);
      process.exit(3);
    },
    (job.warmup + job.duration + 60) * 1000,
  );
  watchdog.unref();
  try {
    const result = await run(job);
    process.send({ type: 'done', result }, () => process.exit(0));
  } catch (err) {
    process.send({ type: 'error', message: String(err?.stack ?? err) }, () => process.exit(1));
  }
});
