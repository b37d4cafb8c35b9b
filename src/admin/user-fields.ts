/** The checks of a user's fields set through admin/: password, email, metadata and profile claims. */
import { characters, hasControlCharacters } from '../accounts/claims.js';
import { isNewEmail, normalizeEmail } from '../accounts/email.js';
import { MAX_PASSWORD_BYTES } from '../accounts/password.js';
import { type PolicyRefusal, refusePassword } from '../accounts/password-policy.js';
import type { UserClaims } from '../storage/types.js';
import { checkHttpUrl } from './checks.js';
import { ValidationError } from './errors.js';
import { patchedMetadata } from './metadata.js';

/** A user's profile claims as create and update take them: a null value removes a claim. */
export type ClaimsPatch = { [K in keyof UserClaims]?: UserClaims[K] | null };

/** How passwords set through admin/ are checked (config `password`). */
export interface PasswordRules {
  minLength: number;
}

export const DEFAULT_RULES: PasswordRules = { minLength: 8 };

/** The policy's refusals as field errors (the Management API, the CLI, the console). */
const ADMIN_MESSAGES: Record<PolicyRefusal['reason'], (rules: PasswordRules) => string> = {
  too_short: (r) => `must be at least ${r.minLength} characters`,
  too_long: () => `must be at most ${MAX_PASSWORD_BYTES} bytes`,
  common: () => 'is too common: it is on the list of passwords attackers try first',
  email: () => 'must not be the email address',
};

/** The password, or a ValidationError naming the field and saying why (accounts/password-policy.ts). */
export async function checkPassword(password: string, email: string, rules: PasswordRules): Promise<string> {
  const refusal = await refusePassword(password, { minLength: rules.minLength, email });
  if (refusal) throw new ValidationError(`password: ${ADMIN_MESSAGES[refusal.reason](rules)}`);
  return password;
}

/** The email normalised (trimmed, NFC, lowercased), or a ValidationError. */
export function checkEmail(value: string): string {
  const email = normalizeEmail(value);
  if (!isNewEmail(email)) throw new ValidationError(`email ${JSON.stringify(value)}: not an email address`);
  return email;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Top-level merge with null as removal; at most 16 KiB as JSON, no prototype keys at any depth. */
export function mergeMetadata(
  field: string,
  current: Record<string, unknown>,
  patch: Record<string, unknown>,
) {
  const walk = (v: unknown, path: string, top: boolean): void => {
    if (v && typeof v === 'object') {
      for (const [k, inner] of Object.entries(v)) {
        if (FORBIDDEN_KEYS.has(k)) throw new ValidationError(`${path}.${k}: key not allowed`);
        // Auth0's rule (a top-level key removed with null may still have one, kept from before;
        // deeper, null is a value like any other)
        if (/[.$]/.test(k) && !(top && inner === null))
          throw new ValidationError(`${path}: the key ${JSON.stringify(k)} must not contain . or $`);
        walk(inner, `${path}.${k}`, false);
      }
    }
  };
  walk(patch, field, true);
  const out = patchedMetadata(current, patch);
  if (Buffer.byteLength(JSON.stringify(out)) > 16384)
    throw new ValidationError(`${field}: at most 16384 bytes as JSON`);
  return out;
}

/**
 * OpenID Connect's shapes (Core §5.1): a phone number as E.164 recommends (digits, an optional
 * leading +, with spaces, dots, hyphens or brackets between, and an RFC 3966 extension), a locale
 * a BCP 47 tag (or, as the spec allows relying parties to take, with an underscore).
 */
const CLAIM_SHAPES: Record<string, [RegExp, string]> = {
  phone_number: [
    /^\+?[0-9](?:[ ().-]?[0-9]){2,19}(?:;ext=[0-9]{1,10})?$/,
    'a phone number, such as +1 555 0100 (E.164, with an optional ;ext=)',
  ],
  locale: [/^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$/, 'a BCP 47 language tag, such as en-US'],
};

/**
 * The names a person is known by: stored in Unicode NFC, as emails are, so that a name typed on
 * one system (é as one code point) and searched from another (e and a combining accent) match.
 */
const NAMES = new Set(['name', 'given_name', 'family_name', 'middle_name', 'nickname']);

/** A name: a string with something in it (Auth0's minLength 1; null removes one), no control characters. */
function checkPersonName(field: string, value: unknown): void {
  if (typeof value !== 'string') throw new ValidationError(`${field}: must be a string`);
  if (value.trim() === '') throw new ValidationError(`${field}: must not be empty (null removes it)`);
  if (hasControlCharacters(value)) throw new ValidationError(`${field}: must not contain control characters`);
}

/** The claims with the patch applied, each value checked against its shape and length. */
export function mergeClaims(current: UserClaims, patch: ClaimsPatch): UserClaims {
  const out: Record<string, unknown> = { ...current };
  for (const [k, given] of Object.entries(patch)) {
    const v = NAMES.has(k) && typeof given === 'string' ? given.normalize('NFC') : given;
    if (v === undefined) continue;
    if (v === null) {
      delete out[k];
      continue;
    }
    const max = k === 'picture' ? 2048 : 255;
    if (typeof v === 'string' && characters(v) > max)
      throw new ValidationError(`${k}: at most ${max} characters`);
    // a name stored before these checks is kept when sent back unchanged
    if (NAMES.has(k) && v !== current[k as keyof UserClaims]) checkPersonName(k, v);
    if (k === 'picture') checkHttpUrl('picture', v as string);
    const [shape, hint] = CLAIM_SHAPES[k] ?? [];
    // a value stored before the check is kept when sent back unchanged
    if (shape && v !== current[k as keyof UserClaims] && !shape.test(String(v)))
      throw new ValidationError(`${k}: ${hint}`);
    out[k] = v;
  }
  return out as UserClaims;
}
