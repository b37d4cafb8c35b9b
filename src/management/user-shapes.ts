import { z } from '@hono/zod-openapi';
import type { UserInput } from '../admin/users.js';
import type { User as Person } from '../storage/types.js';
import { iso } from './route.js';

/*
 * A user as the Management API shows and takes them (Auth0's shapes); the routes are in users.ts.
 */

/** The one connection Sesame has: its own email and password database. */
export const CONNECTION = 'Username-Password-Authentication';

const Metadata = z.record(z.string().max(255), z.unknown());
const text = z.string().max(255);

const profile = {
  email: z.string().max(320),
  password: z.string().max(1024).openapi({ description: 'Set only; never returned.' }),
  name: text.nullable(),
  given_name: text.nullable(),
  family_name: text.nullable(),
  nickname: text.nullable(),
  picture: z.string().max(2048).nullable(),
  phone_number: z.string().max(64).nullable(),
  locale: text.nullable(),
  email_verified: z.boolean(),
  blocked: z.boolean(),
  app_metadata: Metadata,
  user_metadata: Metadata,
  verify_email: z.boolean().openapi({
    description:
      'true: a verification email goes to the address, unless email_verified is true; false or absent: no email.',
  }),
  connection: z.literal(CONNECTION),
};

export const CreateUser = z
  .strictObject(profile)
  .partial()
  .required({ email: true, password: true, connection: true })
  .openapi('UserCreate');
export const UpdateUser = z.strictObject(profile).partial().openapi('UserUpdate');

export const User = z
  .object({
    user_id: z.string(),
    email: z.string(),
    email_verified: z.boolean(),
    name: z.string().optional(),
    given_name: z.string().optional(),
    family_name: z.string().optional(),
    nickname: z.string().optional(),
    picture: z.string().optional(),
    phone_number: z.string().optional(),
    locale: z.string().optional(),
    blocked: z.boolean(),
    app_metadata: Metadata,
    user_metadata: Metadata,
    identities: z.array(
      z.object({ connection: z.string(), provider: z.string(), user_id: z.string(), isSocial: z.boolean() }),
    ),
    created_at: z.string(),
    updated_at: z.string(),
    logins_count: z
      .number()
      .int()
      .optional()
      .openapi({ description: 'Sign-ins with the password; absent before the first.' }),
    last_login: z.string().optional(),
    last_ip: z.string().optional(),
  })
  .openapi('User');

/** The claims shown and set under their own names (nullable strings: null removes one). */
const PROFILE_CLAIMS = [
  'name',
  'given_name',
  'family_name',
  'nickname',
  'picture',
  'phone_number',
  'locale',
] as const;

/** A user in Auth0's shape. */
export function userView(u: Person): z.infer<typeof User> {
  const c = u.claims;
  const profile: { [K in (typeof PROFILE_CLAIMS)[number]]?: string } = {};
  for (const k of PROFILE_CLAIMS) if (c[k] !== undefined) profile[k] = c[k];
  return {
    user_id: u.id,
    email: u.email,
    email_verified: c.email_verified === true,
    ...profile,
    blocked: u.blocked,
    app_metadata: u.appMetadata,
    user_metadata: u.userMetadata,
    identities: [{ connection: CONNECTION, provider: 'auth0', user_id: u.id, isSocial: false }],
    created_at: iso(u.createdAt),
    updated_at: iso(u.updatedAt),
    ...(u.loginsCount !== undefined ? { logins_count: u.loginsCount } : {}),
    ...(u.lastLogin !== undefined ? { last_login: iso(u.lastLogin) } : {}),
    ...(u.lastIp !== undefined ? { last_ip: u.lastIp } : {}),
  };
}

export function userInput(b: z.infer<typeof UpdateUser>): UserInput {
  const out: UserInput = {};
  if (b.email !== undefined) out.email = b.email;
  if (b.password !== undefined) out.password = b.password;
  if (b.blocked !== undefined) out.blocked = b.blocked;
  if (b.app_metadata !== undefined) out.appMetadata = b.app_metadata;
  if (b.user_metadata !== undefined) out.userMetadata = b.user_metadata;
  const claims: NonNullable<UserInput['claims']> = {};
  for (const k of PROFILE_CLAIMS) if (b[k] !== undefined) claims[k] = b[k];
  if (b.email_verified !== undefined) claims.email_verified = b.email_verified;
  if (Object.keys(claims).length > 0) out.claims = claims;
  return out;
}
