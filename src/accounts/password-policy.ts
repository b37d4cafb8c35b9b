import { characters } from './claims.js';
import { MAX_PASSWORD_BYTES } from './password.js';

/** Why a password is refused, with the sentence a person reads. */
export interface PolicyRefusal {
  reason: 'too_short' | 'too_long' | 'common' | 'email';
  message: string;
}

let common: Promise<ReadonlySet<string>> | undefined;

/**
 * The common-password list (zxcvbn-ts's, about 49,000 entries, shipped in the package: no
 * network), loaded on first use only, so a server that never sets a password does not hold it.
 */
function commonPasswords(): Promise<ReadonlySet<string>> {
  common ??= import('@zxcvbn-ts/language-common').then(
    (m) => new Set(m.dictionary['passwords-common'] as string[]),
  );
  return common;
}

/**
 * NIST SP 800-63B §5.1.1.2 (memorized secrets): at least `minLength` characters (code points,
 * so any script counts alike), at most MAX_PASSWORD_BYTES bytes, not on the list of common
 * passwords, and not the account's own email. Null when the password is acceptable.
 */
export async function refusePassword(
  password: string,
  opts: { minLength: number; email?: string },
): Promise<PolicyRefusal | null> {
  if (characters(password) < opts.minLength) {
    return {
      reason: 'too_short',
      message: `Your password must be at least ${opts.minLength} characters long.`,
    };
  }
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    return { reason: 'too_long', message: `Your password must be at most ${MAX_PASSWORD_BYTES} bytes long.` };
  }
  const folded = password.normalize('NFKC').toLowerCase();
  if (opts.email !== undefined && folded === opts.email.normalize('NFKC').toLowerCase()) {
    return { reason: 'email', message: 'Your password must not be your email address.' };
  }
  if ((await commonPasswords()).has(folded)) {
    return {
      reason: 'common',
      message: 'This password is too common: attackers try it first. Choose another.',
    };
  }
  return null;
}
