/** The repositories of access (client grants, roles, permissions), log events and console sessions. */
import type {
  Api,
  Application,
  ClientGrant,
  ConsoleSession,
  LogEvent,
  Permission,
  Role,
  Slice,
  UserPermission,
} from './types.js';

/** Which client grants a list returns. */
export interface ClientGrantFilter {
  clientId?: string;
  apiId?: string;
  subjectType?: 'client' | 'user';
}

/** Absent: client (machine-to-machine). */
export type SubjectType = 'client' | 'user';

/** What a client-credentials request reads: the application, the API it names, the grant between. */
export interface MachineAccess {
  application: Application;
  /** The API whose identifier was asked for; null when none has it. */
  api: Api | null;
  /** The application's machine (client) grant for that API; null when it has none. */
  grant: ClientGrant | null;
}

export interface ClientGrantRepository {
  /** Creates the grant or replaces its scopes (keeping its id); returns the stored grant. */
  upsert(grant: ClientGrant): Promise<ClientGrant>;
  /** The application's grant for the API, for machine tokens unless `subjectType` says user. */
  get(clientId: string, apiId: string, subjectType?: SubjectType): Promise<ClientGrant | null>;
  getById(id: string): Promise<ClientGrant | null>;
  /**
   * In one statement (#16: a cold client-credentials request reads all three): the application,
   * the API whose identifier is `audience`, and the application's machine grant for it. Null
   * when there is no such application.
   */
  machineAccess(clientId: string, audience: string): Promise<MachineAccess | null>;
  /** The application's grants of one subject type (default: client). */
  listForClient(clientId: string, subjectType?: SubjectType): Promise<ClientGrant[]>;
  list(filter: ClientGrantFilter, slice?: Slice): Promise<ClientGrant[]>;
  count(filter: ClientGrantFilter): Promise<number>;
  /** Replaces the scopes; true when the grant exists. */
  setScopes(id: string, scopes: string[]): Promise<boolean>;
  /** Holds the grant's row until the transaction ends (changing nothing); true when it exists. */
  hold(id: string): Promise<boolean>;
  delete(clientId: string, apiId: string, subjectType?: SubjectType): Promise<boolean>;
  deleteById(id: string): Promise<boolean>;
}

/** Which roles a list returns: `nameFilter` matches anywhere in the name, any case. */
export interface RoleFilter {
  nameFilter?: string;
}

/** Roles, the permissions each holds and the users who hold them. */
export interface RoleRepository {
  create(role: Role): Promise<void>;
  /** Creates the system role (by id) or brings its name up to date (its description is the admins'). */
  ensureSystem(role: Role): Promise<void>;
  get(id: string): Promise<Role | null>;
  /** Holds the role's row until the transaction ends (false: no such role). */
  hold(id: string): Promise<boolean>;
  getByName(name: string): Promise<Role | null>;
  /** Roles by name. */
  list(filter: RoleFilter, slice?: Slice): Promise<Role[]>;
  count(filter: RoleFilter): Promise<number>;
  update(id: string, patch: Partial<Pick<Role, 'name' | 'description'>>, now: number): Promise<boolean>;
  /** True when a row was deleted; its permissions and memberships go with it. */
  delete(id: string): Promise<boolean>;
  /** Adds permissions the role lacks (those it holds are left alone). */
  addPermissions(roleId: string, permissions: Permission[], now: number): Promise<void>;
  removePermissions(roleId: string, permissions: Permission[]): Promise<void>;
  /** The role's permissions by API and name. */
  listPermissions(roleId: string, slice?: Slice): Promise<Permission[]>;
  countPermissions(roleId: string): Promise<number>;
  /** Gives each user each role (memberships that exist are left alone). */
  assign(userIds: string[], roleIds: string[], now: number): Promise<void>;
  unassign(userId: string, roleIds: string[]): Promise<void>;
  /** The ids of the role's users, in id order. */
  listUsers(roleId: string, slice?: Slice): Promise<string[]>;
  countUsers(roleId: string): Promise<number>;
  /** The user's roles by name. */
  rolesOf(userId: string, slice?: Slice): Promise<Role[]>;
  countRolesOf(userId: string): Promise<number>;
}

/** Users' own permissions, and what they hold in all (their own and their roles'). */
export interface PermissionRepository {
  /** Adds permissions the user lacks. */
  add(userId: string, permissions: Permission[], now: number): Promise<void>;
  remove(userId: string, permissions: Permission[]): Promise<void>;
  /** Every permission the user holds, each with where it comes from, by API and name. */
  listOf(userId: string): Promise<UserPermission[]>;
  /** The names of the user's permissions for one API, from roles and held directly (one query). */
  effective(userId: string, apiId: string): Promise<string[]>;
  /** Forgets permissions that are no longer scopes of the API (on roles and users alike). */
  removeScopes(apiId: string, names: string[]): Promise<void>;
}

/** Which log events a list returns; `since`/`until` are milliseconds, inclusive. */
export interface LogFilter {
  types?: string[];
  userId?: string;
  clientId?: string;
  since?: number;
  until?: number;
}

/** How many events of one type a UTC day had. */
export interface LogDayCount {
  day: number;
  type: string;
  count: number;
  first: number;
  last: number;
}

/** The log of security events, in the order they were written. */
export interface LogRepository {
  insert(events: LogEvent[]): Promise<void>;
  get(logId: string): Promise<LogEvent | null>;
  /** A slice of the events, newest first (or oldest first with `ascending`). */
  list(filter: LogFilter, slice: Slice, ascending?: boolean): Promise<LogEvent[]>;
  count(filter: LogFilter): Promise<number>;
  /** The events of `filter` per UTC day (ms at 00:00) and type: how many, and the first's and last's dates. */
  countByDay(filter: LogFilter): Promise<LogDayCount[]>;
  /** How many different users the events of `filter` name. */
  countUsers(filter: LogFilter): Promise<number>;
  /**
   * Up to `limit` events written after the event `logId` (from the first without one), oldest
   * first; null when no event has that id, unless the id is older than every event kept (retention
   * removed it): then from the first.
   */
  listAfter(filter: LogFilter, logId: string | undefined, limit: number): Promise<LogEvent[] | null>;
  /**
   * The last `limit` events in the order `listAfter` goes (oldest first), so that the last of them
   * is a checkpoint from which `listAfter` misses nothing (`sesame logs --follow`).
   */
  newest(filter: LogFilter, limit: number): Promise<LogEvent[]>;
  /** Deletes up to `limit` of the events older than `before` (ms); how many went. */
  purge(before: number, limit: number): Promise<number>;
}

/** The web console's sessions. */
export interface ConsoleSessionRepository {
  create(session: ConsoleSession): Promise<void>;
  get(idHash: string): Promise<ConsoleSession | null>;
  delete(idHash: string): Promise<void>;
  /** Ends every console session of a user (signed out everywhere) but `keep`'s, when given. */
  deleteForUser(userId: string, keep?: string): Promise<void>;
  /** Forgets sessions that expired before `now`. */
  deleteExpired(now: number): Promise<void>;
}
