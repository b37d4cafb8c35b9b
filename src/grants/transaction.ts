import type { Deps } from '../http/context.js';
import { KeyUnavailable } from '../keys/keystore.js';
import { OAuthError } from '../protocol/errors.js';
import { merged } from '../util/merged.js';

const COMMIT = Symbol('commit');

/** Marks an OAuth error whose writes must stand even where other errors roll back (a revoked family). */
export function committing<E extends OAuthError>(err: E): E {
  (err as E & { [COMMIT]?: true })[COMMIT] = true;
  return err;
}

/** Which OAuth errors commit the writes that led to them: every one, or only those marked `committing`. */
export type ErrorCommits = 'all' | 'marked';

/**
 * Runs the writes of one token response in one transaction (#14 §7): they all commit, or none
 * do. An answer that is an OAuth error commits what led to it (a consumed code: it must stay
 * spent), or with `commits: 'marked'` only when marked so (a refresh token is not burnt by a
 * bad scope, but a revoked family stands); any other failure rolls everything back.
 *
 * `fn` reaches the database only through the `deps` it is given: their storage is bound to the
 * transaction, and their keystore signs from memory (it is brought up to date just before). A
 * missing signing key is made outside the transaction, which then runs again.
 */
export async function inTokenTransaction<T>(
  deps: Deps,
  fn: (deps: Deps) => Promise<T>,
  commits: ErrorCommits = 'all',
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    await deps.keys.prepare();
    const keys = deps.keys.pinned();
    try {
      const outcome = await deps.storage.transaction(async (storage) => {
        try {
          return { value: await fn(merged(deps, { storage, keys })) };
        } catch (err) {
          if (err instanceof OAuthError && (commits === 'all' || COMMIT in err)) return { error: err };
          throw err;
        }
      });
      if ('error' in outcome) throw outcome.error;
      return outcome.value;
    } catch (err) {
      // one try per algorithm the response signs with (access token, ID token)
      if (!(err instanceof KeyUnavailable) || attempt >= 2) throw err;
      await deps.keys.ensure([err.alg]);
    }
  }
}
