import { z } from 'zod';
import { BCRYPT, NO_PASSWORD } from '../accounts/password.js';

/*
 * The password hashes a users import takes (user-import.ts): Auth0's `password_hash` (bcrypt)
 * and `custom_password_hash` (bcrypt, or argon2 as a PHC string), checked for shape and work.
 */

/**
 * The work an imported hash may ask for at each sign-in, in a band around Sesame's own argon2id
 * (7 MiB × 5 passes): far cheaper would let a sign-in's time tell an imported account from an
 * unknown one (which costs Sesame's own check), far dearer would let failed sign-ins hold the two
 * hashing slots long. bcrypt: cost 10 (Auth0's) to 12. argon2: memory × passes from 16 MiB × 1
 * to 64 MiB × 4 (PHP's default), at most 8 lanes.
 */
const BCRYPT_COSTS = { least: 10, most: 12 };
const ARGON2_WORK = { least: 16_384, most: 262_144, lanes: 8 };
/** An argon2 PHC string (version 1.3). */
const ARGON2 =
  /^\$argon2(?:id|i|d)\$v=19\$m=(\d{1,7}),t=(\d{1,3}),p=(\d{1,2})\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{16,}$/;

/** Auth0's `custom_password_hash`, of the algorithms Sesame verifies. */
export const CustomHash = z.strictObject({
  algorithm: z.enum(['bcrypt', 'argon2'], {
    error:
      'Sesame takes bcrypt and argon2 hashes; import users with other hashes without one (they set a password through a reset link)',
  }),
  hash: z.strictObject({ value: z.string().max(255), encoding: z.literal('utf8').optional() }),
});
/** A user's hash fields, as the import file gives them. */
interface GivenHashes {
  password_hash?: string | undefined;
  custom_password_hash?: z.infer<typeof CustomHash> | undefined;
}

/** What is wrong with a given hash, and where. */
interface HashProblem {
  message: string;
  path: string;
}

/** The hash to store for what a user was given (NO_PASSWORD: none), or the problem with it. */
export function storedHash(u: GivenHashes): string | HashProblem {
  const invalid = (path: string, message: string): HashProblem => ({ message, path });
  if (u.password_hash !== undefined && u.custom_password_hash !== undefined)
    return invalid('password_hash', 'password_hash and custom_password_hash cannot both be given');
  const custom = u.custom_password_hash;
  if (custom?.algorithm === 'argon2') {
    const found = ARGON2.exec(custom.hash.value);
    const [m, t, p] = found ? found.slice(1).map(Number) : [];
    if (m === undefined || t === undefined || p === undefined)
      return invalid(
        'custom_password_hash.hash.value',
        'not an argon2 PHC string of version 19 ($argon2id$v=19$m=M,t=T,p=P$salt$hash)',
      );
    if (m * t < ARGON2_WORK.least || m * t > ARGON2_WORK.most || p > ARGON2_WORK.lanes || m < 8 * p)
      return invalid(
        'custom_password_hash.hash.value',
        `argon2 parameters out of range (m × t from ${ARGON2_WORK.least} to ${ARGON2_WORK.most}, p at most ${ARGON2_WORK.lanes}, m at least 8p)`,
      );
    return custom.hash.value;
  }
  const bcrypt = custom ? custom.hash.value : u.password_hash;
  if (bcrypt === undefined) return NO_PASSWORD;
  const path = custom ? 'custom_password_hash.hash.value' : 'password_hash';
  if (!BCRYPT.test(bcrypt))
    return invalid(path, 'not a bcrypt hash ($2a$, $2b$ or $2y$, cost, then 53 characters)');
  const cost = Number(bcrypt.slice(4, 6));
  if (cost < BCRYPT_COSTS.least || cost > BCRYPT_COSTS.most)
    return invalid(path, `bcrypt cost ${cost} out of range (${BCRYPT_COSTS.least} to ${BCRYPT_COSTS.most})`);
  return bcrypt;
}
