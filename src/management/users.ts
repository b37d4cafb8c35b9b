import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { normalizeEmail } from '../accounts/email.js';
import { NotFoundError } from '../admin/errors.js';
import { emailBrand, emailTicket, sendTicketEmail } from '../admin/tickets.js';
import { parseUserSearch, parseUserSort } from '../admin/user-search.js';
import { createUser, deleteUser, getUser, listUsers, updateUser } from '../admin/users.js';
import type { Deps } from '../http/context.js';
import type { User as Person } from '../storage/types.js';
import type { ManagementEnv } from './auth.js';
import { actsOnPeer } from './delegation.js';
import { ManagementError, queryError } from './errors.js';
import { fieldsQuery, listAnswer, pageBody, pageQuery, pageSlice, project, projectable } from './paging.js';
import { IdParam, jsonBody, operation } from './route.js';
import { CONNECTION, CreateUser, UpdateUser, User, userInput, userView } from './user-shapes.js';

/** With `verify_email: true`, the user's address gets a verification email unless it is verified. */
async function verifyIfAsked(deps: Deps, asked: boolean | undefined, user: Person): Promise<void> {
  if (asked === true && user.claims.email_verified !== true)
    await emailTicket(deps, 'email_verification', user);
}

const TAG = 'Users';

/** /users and /users-by-email. */
export function userRoutes(app: OpenAPIHono<ManagementEnv>, deps: Deps): void {
  const { storage, clock } = deps;
  app.openapi(
    operation({
      method: 'get',
      path: '/users',
      scope: 'read:users',
      tag: TAG,
      summary: 'List or search users',
      description:
        '`q`: plain text matches a substring of the email or the name; `email:"a@b.c"` an exact email; `email:prefix*` an email prefix (on the index); `logins_count:[1 TO *]`, `last_login:[* TO 2026-01-01]` ranges. `sort`: `created_at`, `updated_at`, `email`, `name`, `last_login` or `logins_count`, `:1` ascending or `:-1` descending (never signed in counts as the earliest `last_login`).',
      request: {
        query: z.object({
          ...pageQuery,
          q: z.string().max(320).optional(),
          sort: z.string().max(40).optional(),
          search_engine: z.enum(['v1', 'v2', 'v3']).optional(),
          connection: z.literal(CONNECTION).optional(),
          ...fieldsQuery,
        }),
      },
      status: 200,
      response: listAnswer('users', projectable(User)),
    }),
    async (c) => {
      const q = c.req.valid('query');
      const slice = pageSlice(q);
      const query = queryOf(q.q, q.sort);
      const { items, total } = await listUsers(storage, query, slice);
      return c.json(
        (await pageBody(
          'users',
          items.map((u) => project(userView(u), q)),
          slice,
          q.include_totals,
          total,
        )) as never,
        200,
      );
    },
  );
  app.openapi(
    operation({
      method: 'get',
      path: '/users-by-email',
      scope: 'read:users',
      tag: TAG,
      summary: 'Find users by email',
      request: { query: z.object({ email: z.string().max(320), ...fieldsQuery }) },
      status: 200,
      response: z.array(projectable(User)),
    }),
    async (c) => {
      const q = c.req.valid('query');
      const user = await storage.users.getByEmail(normalizeEmail(q.email));
      return c.json(user ? [project(userView(user), q)] : [], 200);
    },
  );
  app.openapi(
    operation({
      method: 'post',
      path: '/users',
      scope: 'create:users',
      tag: TAG,
      summary: 'Create a user',
      request: jsonBody(CreateUser),
      status: 201,
      response: User,
    }),
    async (c) => {
      const b = c.req.valid('json');
      // The verification email is queued in the transaction that makes the user: both or neither.
      const verify = b.verify_email === true && b.email_verified !== true;
      const brand = verify ? await emailBrand(deps) : undefined;
      const user = await createUser(
        storage,
        clock,
        { ...userInput(b), email: b.email, password: b.password },
        deps.config.password,
        brand
          ? {
              inTransaction: (tx, created) =>
                sendTicketEmail(deps, 'email_verification', created, tx, brand, false).then(() => {}),
            }
          : {},
      );
      if (verify) deps.mail.kick();
      return c.json(userView(user), 201);
    },
  );
  app.openapi(
    operation({
      method: 'get',
      path: '/users/{id}',
      scope: 'read:users',
      tag: TAG,
      summary: 'Get a user',
      request: { params: IdParam, query: z.object(fieldsQuery) },
      status: 200,
      response: projectable(User),
    }),
    async (c) =>
      c.json(
        project(userView(await getById(deps, c.req.valid('param').id)), c.req.valid('query')) as never,
        200,
      ),
  );
  app.openapi(
    operation({
      method: 'patch',
      path: '/users/{id}',
      scope: 'update:users',
      tag: TAG,
      summary: 'Update a user',
      description:
        'Metadata merges at the top level (a null value removes a key). A new email is unverified unless email_verified comes with it. Blocking a user or setting a password signs them out everywhere and ends their tokens.',
      request: { params: IdParam, ...jsonBody(UpdateUser) },
      status: 200,
      response: User,
    }),
    async (c) => {
      const user = await getById(deps, c.req.valid('param').id);
      const b = c.req.valid('json');
      // nothing to change: nothing is written, updated_at included
      if (Object.keys(b).length === 0) return c.json(userView(user), 200);
      // what would hand the account over, or lock its owner out (sent back unchanged, it does not:
      // then the change holds only while the email and block stay as read here)
      const takesOver =
        b.password !== undefined ||
        (b.email !== undefined && normalizeEmail(b.email) !== user.email) ||
        (b.blocked !== undefined && b.blocked !== user.blocked);
      if (takesOver) await actsOnPeer(c, deps, user.id);
      const updated = await updateUser(
        storage,
        clock,
        user.id,
        userInput(b),
        deps.config.password,
        takesOver || (b.email === undefined && b.blocked === undefined)
          ? undefined
          : { email: user.email, blocked: user.blocked },
      );
      await verifyIfAsked(deps, b.verify_email, updated);
      return c.json(userView(updated), 200);
    },
  );
  app.openapi(
    operation({
      method: 'delete',
      path: '/users/{id}',
      scope: 'delete:users',
      tag: TAG,
      summary: 'Delete a user',
      description:
        'Their sessions, refresh tokens, access tokens and consents end with them. As in Auth0, a user that does not exist (any more) is 204 too, so a delete can be repeated.',
      request: { params: IdParam },
      status: 204,
    }),
    async (c) => {
      const user = await getById(deps, c.req.valid('param').id).catch(gone);
      if (user) {
        await actsOnPeer(c, deps, user.id);
        await deleteUser(storage, clock, user.id).catch(gone);
      }
      return c.body(null, 204);
    },
  );
}

/** null for a user not found (deleted meanwhile, or never there); any other error is thrown on. */
function gone(err: unknown): null {
  if (err instanceof NotFoundError) return null;
  throw err;
}

/** A user by id only (the API never looks users up by email in a path). */
export async function getById(deps: Deps, id: string): Promise<Person> {
  if (id.includes('@')) {
    throw new ManagementError(
      400,
      'Path validation error: id: a user id, not an email (use /users-by-email)',
      'invalid_uri',
    );
  }
  return getUser(deps.storage, id);
}

/** The search and order a list asks for; a bad one is the query string's fault. */
function queryOf(q: string | undefined, sort: string | undefined) {
  try {
    return { ...parseUserSearch(q), ...(sort !== undefined ? { sort: parseUserSort(sort)! } : {}) };
  } catch (err) {
    queryError(err);
  }
}
