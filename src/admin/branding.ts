import { ValidationError } from './errors.js';
import type { TenantSettings } from './settings.js';

/** How pages and emails look: the tenant's name, logo, colour and support address. */
export interface Brand {
  name: string;
  /** An https (or local http) URL of the logo. */
  logoUrl?: string;
  /** A CSS hex colour, #rgb or #rrggbb. */
  color?: string;
  supportEmail?: string;
}

export const DEFAULT_BRAND: Brand = { name: 'Sesame' };

/** The brand the tenant settings describe (friendly_name, picture_url, primary_color, support_email). */
export function brandOf(t: TenantSettings): Brand {
  return {
    name: t.friendly_name ?? DEFAULT_BRAND.name,
    ...(t.picture_url ? { logoUrl: t.picture_url } : {}),
    ...(t.primary_color ? { color: t.primary_color } : {}),
    ...(t.support_email ? { supportEmail: t.support_email } : {}),
  };
}

/** A colour pages can put in their style sheet as is: #rgb or #rrggbb, nothing else. */
export function checkColor(field: string, value: string): string {
  if (!/^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(value)) {
    throw new ValidationError(`${field}: must be a colour such as #2952cc (#rgb or #rrggbb)`);
  }
  return value.toLowerCase();
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * An image every page may load: https (http only on this machine, for development), at most
 * 2048 characters, no user name or password in it.
 */
export function checkLogoUrl(field: string, value: string): string {
  const url = value.length <= 2048 && URL.canParse(value) ? new URL(value) : null;
  const ok =
    url !== null &&
    (url.protocol === 'https:' || (url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname))) &&
    url.username === '' &&
    url.password === '';
  if (!ok) {
    throw new ValidationError(
      `${field}: must be an https URL of an image, without credentials (http only for localhost)`,
    );
  }
  return url.href;
}
