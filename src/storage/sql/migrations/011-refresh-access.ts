import type { Kysely } from 'kysely';

/**
 * Speed (#16): a refresh token's row also records the access token issued beside it (its `jti`
 * and expiry), instead of a row of `grant_tokens` per refresh; revocation by grant, user,
 * application and consent reads both. Rows written before keep working: their access tokens are
 * in `grant_tokens`.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('refresh_tokens').addColumn('access_jti', 'varchar(64)').execute();
  await db.schema.alterTable('refresh_tokens').addColumn('access_expires_at', 'bigint').execute();
}
