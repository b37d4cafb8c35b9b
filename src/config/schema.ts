import { z } from 'zod';

/** Signing algorithms Sesame can issue JWTs with. */
export const SIGNING_ALGS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

const port = z.coerce.number().int().min(0).max(65535);
const seconds = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/**
 * The one configuration schema. Every key has a default and a description; environment
 * variables (`SESAME_*`) and an optional JSON file feed it (see load.ts).
 */
export const configSchema = z
  .object({
    issuer: z
      .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })
      .refine((v) => !v.includes('?') && !v.includes('#'), 'must not have a query or fragment')
      .optional()
      .describe('Issuer identifier; default http://localhost:PORT. Never taken from request headers.'),
    port: port.default(3000).describe('TCP port to listen on (SESAME_PORT or PORT).'),
    host: z.string().min(1).default('localhost').describe('Interface to bind (SESAME_HOST).'),
    dataDir: z.string().min(1).default('./data').describe('Directory for the SQLite file and the secret.'),
    databaseUrl: z
      .string()
      .regex(/^(postgres(ql)?:\/\/|sqlite:)/, 'must start with postgres://, postgresql:// or sqlite:')
      .optional()
      .describe(
        'postgres://… for PostgreSQL, sqlite:PATH for another SQLite file; default DATA_DIR/sesame.db.',
      ),
    secret: z
      .string()
      .min(32, 'must be at least 32 characters')
      .optional()
      .describe('Secret that encrypts signing keys at rest; default: generated into DATA_DIR/secret.'),
    logLevel: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('pino log level.'),
    bodyLimit: z.coerce
      .number()
      .int()
      .min(1024)
      .max(1048576)
      .default(65536)
      .describe('Largest accepted request body in bytes; larger bodies get 413.'),
    keys: z
      .object({
        algorithms: z
          .array(z.enum(SIGNING_ALGS))
          .min(1)
          .default([...SIGNING_ALGS])
          .describe('Algorithms that get a signing key on first start.'),
        activationDelay: seconds(0, 30 * 86400)
          .default(900)
          .describe('Seconds a rotated-in key is published before it signs.'),
        jwksMaxAge: seconds(0, 86400).default(300).describe('Cache-Control max-age of the JWKS, in seconds.'),
        cacheTtl: seconds(0, 3600)
          .default(5)
          .describe('Seconds an instance keeps its loaded signing keys before it looks again.'),
      })
      .prefault({}),
    accessToken: z
      .object({
        defaultLifetime: seconds(60, 2592000)
          .default(86400)
          .describe('Access-token lifetime for new APIs, seconds.'),
      })
      .prefault({}),
  })
  .describe('Sesame configuration');

export type ConfigInput = z.input<typeof configSchema>;
/** Validated configuration with every default filled in and `issuer` resolved. */
export type Config = Omit<z.output<typeof configSchema>, 'issuer'> & { issuer: string };
