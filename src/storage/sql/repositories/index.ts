import type { Kysely } from 'kysely';
import type { Repositories } from '../../types.js';
import type { Database } from '../schema.js';
import { accountTicketRepository } from './account-tickets.js';
import { apiRepository } from './apis.js';
import { applicationRepository } from './applications.js';
import { authorizationCodeRepository } from './authorization-codes.js';
import { clientGrantRepository } from './client-grants.js';
import { consentRepository } from './consents.js';
import { consoleSessionRepository } from './console-sessions.js';
import { deviceCodeRepository } from './device-codes.js';
import { expiredRepository } from './expired.js';
import { jobRepository } from './jobs.js';
import { logRepository } from './logs.js';
import { outboxRepository } from './outbox.js';
import { permissionRepository } from './permissions.js';
import { grantTokenRepository, refreshTokenRepository } from './refresh-tokens.js';
import { revocationRepository } from './revocations.js';
import { roleRepository } from './roles.js';
import { interactionRepository, sessionRepository } from './sessions.js';
import { settingsRepository } from './settings.js';
import { knownSignInRepository, loginAttemptRepository } from './sign-in-limits.js';
import { signingKeyRepository } from './signing-keys.js';
import { userRepository } from './users.js';

/** Every repository bound to one Kysely handle (the pool or a transaction). */
export function repositories(db: Kysely<Database>, dialect: 'sqlite' | 'postgres'): Repositories {
  return {
    applications: applicationRepository(db, dialect),
    apis: apiRepository(db),
    clientGrants: clientGrantRepository(db),
    signingKeys: signingKeyRepository(db),
    revocations: revocationRepository(db),
    authorizationCodes: authorizationCodeRepository(db, dialect),
    users: userRepository(db, dialect),
    sessions: sessionRepository(db),
    interactions: interactionRepository(db),
    consents: consentRepository(db),
    refreshTokens: refreshTokenRepository(db, dialect),
    grantTokens: grantTokenRepository(db),
    loginAttempts: loginAttemptRepository(db),
    knownSignIns: knownSignInRepository(db),
    deviceCodes: deviceCodeRepository(db),
    settings: settingsRepository(db),
    roles: roleRepository(db),
    permissions: permissionRepository(db),
    logs: logRepository(db, dialect),
    consoleSessions: consoleSessionRepository(db),
    expired: expiredRepository(db, dialect),
    outbox: outboxRepository(db, dialect),
    accountTickets: accountTicketRepository(db),
    jobs: jobRepository(db),
  };
}
