import { z } from 'zod';
import { parseCidr } from '../util/ip.js';

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
  .strictObject({
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
    trustedProxies: z
      .array(
        z.string().refine((v) => parseCidr(v) !== null, 'must be an IP address or a CIDR such as 10.0.0.0/8'),
      )
      .default([])
      .describe('Proxies (CIDRs) whose X-Forwarded-For / Forwarded headers name the client; default none.'),
    tls: z
      .strictObject({
        cert: z
          .string()
          .min(1)
          .optional()
          .describe('PEM certificate (chain) file: serve HTTPS (SESAME_TLS_CERT).'),
        key: z
          .string()
          .min(1)
          .optional()
          .describe('PEM private key file for the certificate (SESAME_TLS_KEY).'),
      })
      .refine(
        (t) => (t.cert === undefined) === (t.key === undefined),
        'cert and key go together: set both or neither',
      )
      .prefault({}),
    admin: z
      .strictObject({
        email: z
          .string()
          .min(1)
          .optional()
          .describe('The first admin, made on a start with none (SESAME_ADMIN_EMAIL).'),
        password: z
          .string()
          .min(1)
          .optional()
          .describe("The first admin's password (SESAME_ADMIN_PASSWORD)."),
      })
      .refine(
        (a) => (a.email === undefined) === (a.password === undefined),
        'email and password go together: set both or neither',
      )
      .prefault({}),
    keys: z
      .strictObject({
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
      .strictObject({
        defaultLifetime: seconds(60, 2592000)
          .default(86400)
          .describe('Access-token lifetime for new APIs, seconds.'),
        userinfoLifetime: seconds(60, 86400)
          .default(3600)
          .describe('Lifetime of access tokens that name no API (for the userinfo endpoint), seconds.'),
        implicitLifetime: seconds(60, 86400)
          .default(900)
          .describe(
            'Lifetime of access tokens returned from /authorize (implicit and hybrid) for APIs without their own token_lifetime_for_web, and for those naming no API, seconds.',
          ),
      })
      .prefault({}),
    authorizationCode: z
      .strictObject({
        lifetime: seconds(1, 600).default(60).describe('Authorization-code lifetime, seconds (at most 600).'),
      })
      .prefault({}),
    idToken: z
      .strictObject({ lifetime: seconds(60, 86400).default(3600).describe('ID-token lifetime, seconds.') })
      .prefault({}),
    refreshToken: z
      .strictObject({
        idleLifetime: seconds(60, 31536000)
          .default(1209600)
          .describe('A refresh token unused this long (seconds) expires.'),
        absoluteLifetime: seconds(60, 31536000)
          .default(2592000)
          .describe('A refresh-token family ends this long (seconds) after the sign-in, used or not.'),
        reuseGrace: seconds(0, 300)
          .default(10)
          .describe('Seconds a rotated refresh token still works (two tabs refreshing at once).'),
      })
      .prefault({}),
    device: z
      .strictObject({
        codeLifetime: seconds(60, 3600).default(600).describe('Device-code lifetime, seconds (RFC 8628).'),
        interval: seconds(1, 60).default(5).describe('Seconds a device waits between polls.'),
        codesPerMinute: z.coerce
          .number()
          .int()
          .min(1)
          .default(20)
          .describe('Device codes one client address may ask for per minute.'),
      })
      .prefault({}),
    session: z
      .strictObject({
        lifetime: seconds(60, 31536000).default(604800).describe('SSO session lifetime, seconds.'),
        interactionLifetime: seconds(60, 86400)
          .default(900)
          .describe('Seconds a person has to finish login and consent.'),
        interactionsPerMinute: z.coerce
          .number()
          .int()
          .min(1)
          .default(60)
          .describe('Sign-ins one client address may start per minute (each stores an interaction).'),
      })
      .prefault({}),
    login: z
      .strictObject({
        accountFailures: z.coerce
          .number()
          .int()
          .min(1)
          .default(5)
          .describe(
            'Failed logins per account from one address (or device) before delays start; they double from 15 s up to lockSeconds.',
          ),
        accountCeiling: z.coerce
          .number()
          .int()
          .min(1)
          .default(100)
          .describe(
            'Failed logins per account from all addresses per window before places it has never signed in from are locked out.',
          ),
        ipFailures: z.coerce
          .number()
          .int()
          .min(1)
          .default(20)
          .describe('Failed logins per IP address before a lock.'),
        window: seconds(1, 86400).default(900).describe('Seconds over which failures are counted.'),
        lockSeconds: seconds(1, 86400)
          .default(900)
          .describe('Seconds a locked account or IP waits, and the longest delay.'),
      })
      .prefault({}),
    email: z
      .strictObject({
        smtpUrl: z
          .string()
          .regex(/^smtps?:\/\/[^\s]+$/, 'must be smtp://[user:pass@]host[:port] or smtps://…')
          .optional()
          .describe(
            'SMTP server for email (SESAME_SMTP_URL); STARTTLS when offered. Default: .eml files in DATA_DIR/outbox.',
          ),
        from: z
          .string()
          .min(3)
          .max(320)
          .refine((v) => !/[\r\n]/.test(v), 'must be one line')
          .optional()
          .describe('The From of every email (SESAME_EMAIL_FROM); default Sesame <no-reply@ISSUER-HOST>.'),
        pollInterval: seconds(1, 3600)
          .default(10)
          .describe('Seconds between looks at the outbox for email due again (a retry, another instance).'),
      })
      .prefault({}),
    password: z
      .strictObject({
        minLength: z.coerce
          .number()
          .int()
          .min(8)
          .max(128)
          .default(8)
          .describe(
            'Fewest characters a password may have (SESAME_PASSWORD_MIN_LENGTH; NIST SP 800-63B: 8).',
          ),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        port: port
          .optional()
          .describe(
            'Serve Prometheus metrics at GET /metrics on this port, apart from the main one (SESAME_METRICS_PORT); off when unset.',
          ),
        host: z
          .string()
          .min(1)
          .optional()
          .describe('Interface for the metrics port (SESAME_METRICS_HOST); default: the server host.'),
      })
      .prefault({}),
    janitor: z
      .strictObject({
        interval: seconds(1, 86400)
          .default(60)
          .describe('Seconds between purges of expired codes, sessions, tokens and counters.'),
      })
      .prefault({}),
    logs: z
      .strictObject({
        retentionDays: z.coerce
          .number()
          .int()
          .min(1)
          .max(3650)
          .default(30)
          .describe('Days log events are kept; older ones are purged in the background.'),
      })
      .prefault({}),
  })
  .refine((c) => c.metrics.port === undefined || c.metrics.port !== c.port, {
    message: 'must differ from port: metrics are served apart from the main port',
    path: ['metrics', 'port'],
  })
  .describe('Sesame configuration');

export type ConfigInput = z.input<typeof configSchema>;
/** Validated configuration with every default filled in and `issuer` resolved. */
export type Config = Omit<z.output<typeof configSchema>, 'issuer'> & { issuer: string };
