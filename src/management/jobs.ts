import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { NotFoundError, ValidationError } from '../admin/errors.js';
import { findJob, IMPORT_FILE_LIMIT, importUsers, usersJson } from '../admin/user-import.js';
import type { Deps } from '../http/context.js';
import type { JobRecord, OutboxMessage } from '../storage/types.js';
import { problem } from '../util/json-problems.js';
import { type ManagementEnv, requireScope } from './auth.js';
import { actsOnPeer } from './delegation.js';
import { ManagementError } from './errors.js';
import { booleanQuery } from './paging.js';
import { IdParam, iso, operation } from './route.js';

export const Job = z
  .object({
    id: z.string(),
    type: z.enum(['verification_email', 'users_import']),
    status: z.enum(['pending', 'completed', 'failed']),
    created_at: z.string(),
    connection_id: z.string().optional().openapi({ description: 'A users import: the connection.' }),
    external_id: z.string().optional().openapi({ description: 'A users import: the id its caller gave it.' }),
    summary: z
      .object({ total: z.number(), inserted: z.number(), updated: z.number(), failed: z.number() })
      .optional()
      .openapi({ description: 'A users import: how many users the file held, and what became of them.' }),
  })
  .openapi('Job');
type JobView = z.infer<typeof Job>;

/*
 * A verification email's job is its outbox message (the message id with Auth0's job_ prefix
 * instead of msg_); a users import's is its own row.
 */
const jobId = (messageId: string) => `job_${messageId.slice('msg_'.length)}`;
const messageId = (job: string) => (job.startsWith('job_') ? `msg_${job.slice('job_'.length)}` : '');

/** The job of a verification email, from its message's id and delivery status. */
export const verificationJobView = (
  id: string,
  status: OutboxMessage['status'],
  createdAt: number,
): JobView => ({
  id: jobId(id),
  type: 'verification_email',
  status: status === 'sent' ? 'completed' : status === 'failed' ? 'failed' : 'pending',
  created_at: iso(createdAt),
});

const JobError = z
  .object({
    user: z.record(z.string(), z.unknown()),
    errors: z.array(z.object({ code: z.string(), message: z.string(), path: z.string() })),
  })
  .openapi('JobError');

const ImportForm = z
  .strictObject({
    users: z
      .any()
      .openapi({ type: 'string', format: 'binary', description: 'A JSON array of users, at most 500 KB.' }),
    connection_id: z.string().max(64),
    upsert: booleanQuery.optional(),
    external_id: z.string().max(255).optional(),
    send_completion_email: booleanQuery.optional(),
  })
  .openapi('UsersImport');

const importView = (j: JobRecord): JobView => ({
  id: j.id,
  type: j.type,
  status: j.status,
  created_at: iso(j.createdAt),
  connection_id: j.connectionId,
  ...(j.externalId !== undefined ? { external_id: j.externalId } : {}),
  summary: j.summary,
});

/** The users file's JSON: a 400 naming what is wrong with it. */
async function usersFile(file: unknown): Promise<unknown> {
  if (!(file instanceof File)) throw new ValidationError('users: a file is required (multipart/form-data)');
  if (file.size > IMPORT_FILE_LIMIT)
    throw new ManagementError(
      413,
      `users: the file is ${file.size} bytes; the limit is ${IMPORT_FILE_LIMIT}`,
      'payload_too_large',
    );
  return usersJson('users', new Uint8Array(await file.arrayBuffer()));
}

const TAG = 'Jobs';

/**
 * /jobs: Auth0's users import (run before the answer, so a job is complete when created), and
 * any job by id (a verification email's too: tickets.ts queues those).
 */
export function jobRoutes(app: OpenAPIHono<ManagementEnv>, deps: Deps): void {
  const { storage, clock } = deps;
  /** The verification email job `id` (its outbox message), or 404. */
  const verificationJob = async (id: string) => {
    const m = await storage.outbox.get(messageId(id));
    if (m?.kind !== 'email_verification') throw new NotFoundError(`job ${id} not found`);
    return m;
  };
  app.openapi(
    operation({
      method: 'post',
      path: '/jobs/users-imports',
      scope: 'create:users',
      tag: TAG,
      summary: 'Import users',
      description:
        "Auth0's bulk import: a JSON array of users (Auth0's import schema) into the connection `con_sesame_database`. Password hashes (bcrypt, or argon2 as custom_password_hash) are checked at sign-in, then hashed again with argon2id. Sesame runs the import before it answers: the job comes back completed, with its summary; the users it could not import are at /jobs/{id}/errors. upsert=true also needs update:users, and an update that replaces a password or changes a block is refused (FORBIDDEN, for that user) when the user holds Management API permissions the caller lacks, as on PATCH /users. send_completion_email is accepted and has no effect.",
      request: { body: { required: true, content: { 'multipart/form-data': { schema: ImportForm } } } },
      status: 201,
      response: Job,
    }),
    async (c) => {
      const form = c.req.valid('form');
      // The form's text fields are held to what a JSON body is (no NUL, no lone surrogate).
      const bad = problem({ connection_id: form.connection_id, external_id: form.external_id });
      if (bad) throw new ValidationError(bad);
      const upsert = form.upsert ?? false;
      // Updating users is update:users' work, as on PATCH /users.
      if (upsert) await requireScope([['create:users', 'update:users']])(c, async () => {});
      const users = await usersFile(form.users);
      const job = await importUsers(storage, clock, {
        users,
        connectionId: form.connection_id,
        upsert,
        ...(form.external_id !== undefined ? { externalId: form.external_id } : {}),
        mayTakeOver: async (user) => {
          try {
            await actsOnPeer(c, deps, user.id);
            return null;
          } catch (err) {
            if (err instanceof ManagementError && err.status === 403) return err.message;
            throw err;
          }
        },
      });
      return c.json(importView(job), 201);
    },
  );
  app.openapi(
    operation({
      method: 'get',
      path: '/jobs/{id}',
      scope: [['create:users'], ['read:users']],
      tag: TAG,
      summary: 'Get a job',
      request: { params: IdParam },
      status: 200,
      response: Job,
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const imported = await findJob(storage, clock, id);
      if (imported) return c.json(importView(imported), 200);
      const m = await verificationJob(id);
      return c.json(verificationJobView(m.id, m.status, m.createdAt), 200);
    },
  );
  app.openapi(
    operation({
      method: 'get',
      path: '/jobs/{id}/errors',
      scope: [['create:users'], ['read:users']],
      tag: TAG,
      summary: "Get a job's errors",
      description:
        'Each user the job could not import, as the file gave it (without password hashes), and why; 204 when there are none.',
      request: { params: IdParam },
      status: 200,
      response: z.array(JobError),
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const job = await findJob(storage, clock, id);
      // A verification email's job has no errors list (its failure is its status): none.
      if (!job) await verificationJob(id);
      if (!job || job.errors.length === 0) return c.body(null, 204) as never;
      return c.json(job.errors, 200);
    },
  );
}
