import { isNewEmail } from '../accounts/email.js';
import type { Storage } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { checkColor, checkLogoUrl } from './branding.js';
import { checkHttpUrl, checkName } from './checks.js';
import { ValidationError } from './errors.js';

/** Tenant settings as stored and served (Auth0's field names; lifetimes in hours, as Auth0). */
export interface TenantSettings {
  friendly_name?: string;
  picture_url?: string;
  support_email?: string;
  support_url?: string;
  /** The API a request that names none gets its access token for. */
  default_audience?: string;
  /** Hours an SSO session lasts from sign-in. */
  session_lifetime?: number;
  /** Hours an SSO session lasts unused. */
  idle_session_lifetime?: number;
  /** Whether people may sign up themselves (Sesame's own). */
  signup_enabled?: boolean;
  /** The colour of buttons and links on sign-in pages (#rgb or #rrggbb). */
  primary_color?: string;
  /** Whether a password reset signs the person out everywhere and ends their refresh tokens (default true). */
  password_reset_ends_sessions?: boolean;
  /** Whether people may delete their own account on /account (default true). */
  account_deletion_enabled?: boolean;
}

/** A change: a field set to null (or '') goes back to its default. */
export type TenantSettingsPatch = { [K in keyof TenantSettings]?: TenantSettings[K] | null } & {
  session_lifetime_in_minutes?: number | null;
  idle_session_lifetime_in_minutes?: number | null;
};

/** The keys `sesame settings set` and the API accept. */
export const SETTINGS_KEYS = [
  'friendly_name',
  'picture_url',
  'support_email',
  'support_url',
  'default_audience',
  'session_lifetime',
  'idle_session_lifetime',
  'session_lifetime_in_minutes',
  'idle_session_lifetime_in_minutes',
  'signup_enabled',
  'primary_color',
  'password_reset_ends_sessions',
  'account_deletion_enabled',
] as const;

const KEY = 'tenant';

function hours(field: string, value: number): number {
  if (!Number.isFinite(value) || value < 1 / 60 || value > 8760) {
    throw new ValidationError(`${field}: must be from 1 minute to 8760 hours`);
  }
  return Math.round(value * 60) / 60;
}

/** The stored settings, or the empty document. */
export async function getSettings(storage: Storage): Promise<TenantSettings> {
  return ((await storage.settings.get(KEY)) as TenantSettings | null) ?? {};
}

/**
 * Applies a change after checking every field; returns the new settings. `defaultLifetime` is
 * session.lifetime (seconds): the session_lifetime of a tenant that stores none, which an idle
 * lifetime may not pass either.
 */
export async function updateSettings(
  storage: Storage,
  clock: Clock,
  patch: TenantSettingsPatch,
  defaultLifetime?: number,
): Promise<TenantSettings> {
  // Read and written whole with the row held: two changes at once each keep their keys.
  return storage.transaction(async (tx) => {
    await tx.settings.hold(KEY, clock.now());
    return changed(tx, clock, { ...(await getSettings(tx)) }, patch, defaultLifetime);
  });
}

/** Checks every field of `patch`, applies it to `next` (read in this transaction) and stores it. */
async function changed(
  storage: Storage,
  clock: Clock,
  next: Record<string, unknown>,
  patch: TenantSettingsPatch,
  defaultLifetime: number | undefined,
): Promise<TenantSettings> {
  const set = (key: keyof TenantSettings, value: unknown) => {
    if (value === null || value === '') delete next[key];
    else next[key] = value;
  };
  const p = { ...patch };
  // minutes stand for the hours they name; null restores the default, as for the hours
  // Auth0's minutes are whole; a field out of range is named as it was sent
  const inHours = (key: string, minutes: number | null | undefined, hours: number | null | undefined) => {
    if (minutes !== undefined && hours !== undefined)
      throw new ValidationError(`${key} and ${key}_in_minutes: give one of them`);
    if (minutes === undefined || minutes === null) return minutes === null ? null : hours;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 8760 * 60)
      throw new ValidationError(`${key}_in_minutes: must be a whole number from 1 to ${8760 * 60}`);
    return minutes / 60;
  };
  p.session_lifetime = inHours('session_lifetime', p.session_lifetime_in_minutes, p.session_lifetime);
  p.idle_session_lifetime = inHours(
    'idle_session_lifetime',
    p.idle_session_lifetime_in_minutes,
    p.idle_session_lifetime,
  );
  for (const [key, value] of Object.entries(p) as [keyof TenantSettingsPatch, unknown][]) {
    if (value === undefined || key.endsWith('_in_minutes')) continue;
    if (value === null || value === '') {
      set(key as keyof TenantSettings, null);
      continue;
    }
    switch (key) {
      case 'friendly_name':
        set(key, checkName(key, value as string));
        break;
      case 'picture_url':
        set(key, checkLogoUrl(key, value as string));
        break;
      case 'primary_color':
        set(key, checkColor(key, value as string));
        break;
      case 'support_url':
        set(key, checkHttpUrl(key, value as string));
        break;
      case 'support_email':
        if (!isNewEmail(value as string)) throw new ValidationError('support_email: not an email address');
        set(key, value);
        break;
      case 'default_audience':
        if (!(await storage.apis.getByIdentifier(value as string))) {
          throw new ValidationError(`default_audience: no API with identifier ${value}`);
        }
        set(key, value);
        break;
      case 'session_lifetime':
      case 'idle_session_lifetime':
        set(key, hours(key, value as number));
        break;
      case 'signup_enabled':
      case 'password_reset_ends_sessions':
      case 'account_deletion_enabled':
        if (typeof value !== 'boolean') throw new ValidationError(`${key}: must be true or false`);
        set(key, value);
        break;
      default:
        throw new ValidationError(`${key}: not a tenant setting`);
    }
  }
  const { session_lifetime: stored, idle_session_lifetime: idle } = next as TenantSettings;
  const absolute = stored ?? (defaultLifetime === undefined ? undefined : defaultLifetime / 3600);
  if (idle !== undefined && absolute !== undefined && idle > absolute) {
    const which = stored === undefined ? ', the default: session.lifetime' : '';
    throw new ValidationError(
      `idle_session_lifetime: at most session_lifetime (${absolute} hour${absolute === 1 ? '' : 's'}${which}): a session ends at the latter however recently it was used`,
    );
  }
  await storage.settings.put(KEY, next, clock.now());
  return next as TenantSettings;
}

/**
 * The tenant settings as the protocol reads them on every request. They go through storage's read
 * cache, so a change through any instance or the CLI applies from the next request (on
 * PostgreSQL within the cache's bound should its notification be lost).
 */
export class TenantSettingsReader {
  constructor(private readonly storage: Storage) {}

  get(): Promise<TenantSettings> {
    return getSettings(this.storage);
  }
}

/**
 * How long a session lasts from sign-in and unused, in seconds: the tenant settings
 * (session_lifetime, idle_session_lifetime, in hours), else session.lifetime for both.
 */
export async function sessionLifetimes(deps: {
  config: { session: { lifetime: number } };
  tenant: TenantSettingsReader;
}): Promise<{ absolute: number; idle: number }> {
  const t = await deps.tenant.get();
  const absolute =
    t.session_lifetime !== undefined ? Math.round(t.session_lifetime * 3600) : deps.config.session.lifetime;
  const idle = t.idle_session_lifetime !== undefined ? Math.round(t.idle_session_lifetime * 3600) : absolute;
  return { absolute, idle };
}

/** Whether a session has ended at `now`: expired, or unused for `idle` seconds. */
export const sessionEnded = (s: { expiresAt: number; lastSeenAt: number }, now: number, idle: number) =>
  s.expiresAt <= now || now - s.lastSeenAt >= idle;
