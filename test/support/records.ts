import type { RefreshTokenRecord } from '../../src/storage/types.js';
import { randomToken, sha256 } from '../../src/util/crypto.js';

/** The storage tests' "now": records are built around it. */
export const T0 = 1_700_000_000;

/** A value no other test uses: `prefix-` and nine random characters. */
export const unique = (prefix: string) => `${prefix}-${randomToken(9)}`;

/** A live refresh token of a new family, grant, client and user, unless overridden. */
export function refreshToken(overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
  return {
    hash: sha256(randomToken()),
    familyId: unique('family'),
    grantId: unique('grant'),
    clientId: unique('client'),
    userId: unique('user'),
    payload: { scopes: ['openid', 'offline_access'], audience: '', authTime: T0 },
    createdAt: T0,
    expiresAt: T0 + 3600,
    familyExpiresAt: T0 + 86_400,
    rotatedAt: null,
    revokedAt: null,
    ...overrides,
  };
}
