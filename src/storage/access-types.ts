/** Records of roles and permissions, log events and console sessions. */

/** A role (Auth0's RBAC): a named set of API permissions that users hold. */
export interface Role {
  /** Public id (rol_…). */
  id: string;
  name: string;
  description: string;
  /** Sesame's own (Sesame Admin): cannot be deleted, renamed or lose permissions. */
  isSystem: boolean;
  createdAt: number;
  updatedAt: number;
}

/** A permission: one scope of one API. */
export interface Permission {
  apiId: string;
  permission: string;
}

/** Where a user's permission comes from: held directly, or through a role. */
export type PermissionSource = { type: 'DIRECT' } | { type: 'ROLE'; roleId: string; roleName: string };

/** A permission of a user with every source it comes from. */
export interface UserPermission extends Permission {
  sources: PermissionSource[];
}

/**
 * A log event (Auth0's shape): what happened (`type`, Auth0's codes), when (`date`, in
 * milliseconds), to whom and through which application. Never a secret, code or token.
 */
export interface LogEvent {
  /** Public id; time-ordered. */
  logId: string;
  date: number;
  type: string;
  description: string;
  clientId?: string;
  clientName?: string;
  ip?: string;
  userAgent?: string;
  userId?: string;
  userName?: string;
  audience?: string;
  scope?: string;
  details: Record<string, unknown>;
}

/** A signed-in admin of the web console; their Management API token stays here, encrypted. */
export interface ConsoleSession {
  /** SHA-256 of the cookie's value. */
  idHash: string;
  userId: string;
  /** The access token, encrypted with the instance key (keys/encryption.ts). */
  token: string;
  csrf: string;
  createdAt: number;
  expiresAt: number;
}
