import type { Command } from 'commander';
import { ValidationError } from '../admin/errors.js';
import { getKey, keyContext, revokeKey, rotateKeys, rotationAlgorithms } from '../admin/keys.js';
import { SIGNING_ALGS, type SigningAlg } from '../config/schema.js';
import { currentKey, keyStatus } from '../keys/keystore.js';
import { confirm, FORCE, print, withRuntime } from './context.js';

const iso = (t: number | null) => (t === null ? null : new Date(t * 1000).toISOString());

/** `sesame keys list | rotate | revoke`: the signing keys, their rotation and revocation. */
export function keysCommand(program: Command): void {
  const keys = program.command('keys').description('manage signing keys');

  keys
    .command('list')
    .description('list published signing keys: next, current and retiring')
    .option('--json', 'print one JSON object')
    .action(async (o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const now = rt.clock.now();
        const list = (await rt.storage.signingKeys.listPublished(now)).map((k) => ({
          kid: k.kid,
          alg: k.alg,
          status: keyStatus(k, now),
          activates_at: iso(k.activatesAt),
          retires_at: iso(k.retiresAt),
          published_until: iso(k.publishedUntil),
        }));
        print(o.json, { keys: list }, () =>
          list.length === 0
            ? 'no signing keys (the server makes them at its first start)'
            : list
                .map((k) => `${k.kid}  ${k.alg.padEnd(5)}  ${k.status.padEnd(8)}  from ${k.activates_at}`)
                .join('\n'),
        );
      }),
    );

  keys
    .command('rotate')
    .description('publish a new key now; it signs after keys.activationDelay seconds')
    .option(
      '--alg <alg>',
      `rotate only this algorithm (${SIGNING_ALGS.join(', ')}); default every one in use: keys.algorithms and those of published keys`,
    )
    .option('--json', 'print one JSON object')
    .action(async (o, cmd) =>
      withRuntime(cmd, async (rt) => {
        if (o.alg !== undefined && !(SIGNING_ALGS as readonly string[]).includes(o.alg)) {
          throw new ValidationError(`--alg ${o.alg}: must be one of ${SIGNING_ALGS.join(', ')}`);
        }
        const ctx = keyContext(rt);
        const algs: SigningAlg[] = o.alg ? [o.alg] : await rotationAlgorithms(ctx);
        const keys = await rotateKeys(ctx, algs, rt.config.accessToken.defaultLifetime);
        const rotated = keys.map((k) => ({ kid: k.kid, alg: k.alg, activates_at: iso(k.activatesAt) }));
        print(o.json, { rotated }, () =>
          rotated
            .map((k) => `new ${k.alg} key ${k.kid}, published now, signing from ${k.activates_at}`)
            .join('\n'),
        );
      }),
    );

  keys
    .command('revoke <kid>')
    .description(
      'revoke a key at once (a leaked one): it leaves the JWKS and every token it signed stops verifying; revoking the key that signs now puts a new one in its place. An older kid that starts with - (new ones never do) goes after --: keys revoke -- -PZu…',
    )
    .option(...FORCE)
    .option('--json', 'print one JSON object')
    .action(async (kid: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const ctx = keyContext(rt);
        const found = await getKey(ctx, kid);
        await confirm(o, `Revoke the ${found.alg} key ${found.kid}? Every token it signed stops verifying.`);
        const key = await revokeKey(ctx, kid);
        const now = rt.clock.now();
        const signing = currentKey(await rt.storage.signingKeys.listPublished(now), key.alg, now);
        const out = {
          revoked: key.kid,
          alg: key.alg,
          revoked_at: iso(key.revokedAt),
          signing: signing?.kid ?? null,
        };
        print(o.json, out, () =>
          [
            `revoked ${key.alg} key ${key.kid}: the tokens it signed no longer verify`,
            ...(signing ? [`${key.alg} tokens are signed by ${signing.kid}`] : []),
          ].join('\n'),
        );
      }),
    );
}
