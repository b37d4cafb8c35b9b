import { createHash, createPublicKey, type JsonWebKey } from 'node:crypto';
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { getKey, keyContext, listKeys, revokeKey, rotateKeys, rotationAlgorithms } from '../admin/keys.js';
import type { Deps } from '../http/context.js';
import { keyStatus } from '../keys/keystore.js';
import type { SigningKeyRecord } from '../storage/types.js';
import type { ManagementEnv } from './auth.js';
import { iso, operation } from './route.js';

export const SigningKey = z
  .object({
    kid: z.string(),
    alg: z.string(),
    current: z.boolean(),
    next: z.boolean(),
    previous: z.boolean(),
    revoked: z.boolean(),
    current_since: z.string(),
    current_until: z.string().optional(),
    published_until: z.string().optional(),
    revoked_at: z.string().optional(),
    thumbprint: z.string().openapi({ description: 'RFC 7638 JWK thumbprint (SHA-256), also the kid.' }),
    fingerprint: z
      .string()
      .openapi({ description: 'SHA-256 of the public key (SPKI DER), colon-separated hex.' }),
    public_key: z.string().openapi({
      description:
        'The public key (PEM). Sesame publishes JWKs, not certificates, so there is no `cert` or `pkcs7`.',
    }),
    jwk: z.record(z.string(), z.unknown()),
  })
  .openapi('SigningKey');

function view(k: SigningKeyRecord, now: number): z.infer<typeof SigningKey> {
  const key = createPublicKey({ key: k.publicJwk as JsonWebKey, format: 'jwk' });
  const der = key.export({ type: 'spki', format: 'der' });
  const status = keyStatus(k, now);
  const live = k.revokedAt === null && (k.publishedUntil === null || k.publishedUntil > now);
  return {
    kid: k.kid,
    alg: k.alg,
    current: live && status === 'current',
    next: live && status === 'next',
    previous: k.revokedAt === null && status === 'retiring',
    revoked: k.revokedAt !== null,
    current_since: iso(k.activatesAt),
    ...(k.retiresAt !== null ? { current_until: iso(k.retiresAt) } : {}),
    ...(k.publishedUntil !== null ? { published_until: iso(k.publishedUntil) } : {}),
    ...(k.revokedAt !== null ? { revoked_at: iso(k.revokedAt) } : {}),
    thumbprint: k.kid,
    fingerprint: (createHash('sha256').update(der).digest('hex').match(/../g) ?? []).join(':').toUpperCase(),
    public_key: key.export({ type: 'spki', format: 'pem' }).toString(),
    jwk: k.publicJwk,
  };
}

const KidParam = z.object({
  kid: z
    .string()
    .max(64)
    .openapi({ param: { name: 'kid', in: 'path' } }),
});
const TAG = 'Signing keys';

/** /keys/signing: the keys that sign tokens; rotation and revocation. */
export function keyRoutes(app: OpenAPIHono<ManagementEnv>, deps: Deps): void {
  const ctx = keyContext(deps);
  app.openapi(
    operation({
      method: 'get',
      path: '/keys/signing',
      scope: 'read:signing_keys',
      tag: TAG,
      summary: 'List signing keys',
      description: 'Every key, newest first: next, current, previous (still published), revoked and expired.',
      status: 200,
      response: z.array(SigningKey),
    }),
    async (c) => {
      const now = deps.clock.now();
      return c.json(
        (await listKeys(ctx)).map((k) => view(k, now)),
        200,
      );
    },
  );
  app.openapi(
    operation({
      method: 'get',
      path: '/keys/signing/{kid}',
      scope: 'read:signing_keys',
      tag: TAG,
      summary: 'Get a signing key',
      request: { params: KidParam },
      status: 200,
      response: SigningKey,
    }),
    async (c) => c.json(view(await getKey(ctx, c.req.valid('param').kid), deps.clock.now()), 200),
  );
  app.openapi(
    operation({
      method: 'post',
      path: '/keys/signing/rotate',
      scope: 'create:signing_keys',
      tag: TAG,
      summary: 'Rotate the signing keys',
      description:
        'A new key per algorithm in use (those of keys.algorithms and of every key still published), published now, signing after keys.activationDelay seconds; the keys it replaces stay published until their tokens expire. `kid` is the first new key.',
      status: 201,
      response: z.object({ kid: z.string(), keys: z.array(SigningKey) }),
    }),
    async (c) => {
      const now = deps.clock.now();
      const rotated = await rotateKeys(
        ctx,
        await rotationAlgorithms(ctx),
        deps.config.accessToken.defaultLifetime,
      );
      return c.json({ kid: rotated[0]!.kid, keys: rotated.map((k) => view(k, now)) }, 201);
    },
  );
  app.openapi(
    operation({
      method: 'put',
      path: '/keys/signing/{kid}/revoke',
      scope: 'update:signing_keys',
      tag: TAG,
      summary: 'Revoke a signing key',
      description:
        'The key leaves the JWKS at once and the tokens it signed stop verifying (on other instances within keys.cacheTtl seconds). Revoking the key that signs now puts a new key in its place at once.',
      request: { params: KidParam },
      status: 200,
      response: SigningKey,
    }),
    async (c) => c.json(view(await revokeKey(ctx, c.req.valid('param').kid), deps.clock.now()), 200),
  );
}
