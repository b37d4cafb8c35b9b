/** The login name form of an email: trimmed, Unicode NFC, lowercased. */
export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase();
}

/** A plausible email address: one @, something on both sides, no spaces or controls, at most 320 characters. */
export function isEmail(email: string): boolean {
  return email.length <= 320 && /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+$/u.test(email);
}
