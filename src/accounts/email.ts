import { domainToUnicode } from 'node:url';

/**
 * The login name form of an email: trimmed, lowercased, Unicode NFC, its domain in Unicode. NFC
 * again after lowercasing: a capital with a combining mark may have no composed form while its
 * small letter has one (J + U+030C, ǰ), and a login name must be one spelling. A domain given in
 * its ASCII form (punycode labels, `xn--bcher-kva.example`, what a browser's email field sends
 * for `bücher.example`) is the same domain: it is read back into Unicode (UTS #46), so both
 * spellings are one account, and the look-alike checks see the letters a person would.
 */
export function normalizeEmail(email: string): string {
  const folded = email.trim().normalize('NFC').toLowerCase().normalize('NFC');
  const at = folded.lastIndexOf('@');
  const domain = folded.slice(at + 1);
  if (at < 0 || !/(^|\.)xn--/.test(domain)) return folded;
  const unicode = domainToUnicode(domain);
  return unicode === ''
    ? folded
    : `${folded.slice(0, at + 1)}${unicode.normalize('NFC').toLowerCase().normalize('NFC')}`;
}

/**
 * A plausible email address: one @, something on both sides, at most 320 characters, and no
 * spaces, controls or invisible characters (format characters such as U+200B, and whatever else
 * Unicode says to show as nothing), with which an address could look like another. What a sign-in
 * or a reset looks up: accounts made before `isNewEmail` was stricter keep working.
 */
export function isEmail(email: string): boolean {
  return (
    email.length <= 320 &&
    /^[^\s@\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}]+@[^\s@\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}]+$/u.test(
      email,
    )
  );
}

/**
 * An address an account may be given (created, changed, signed up), as mail servers take them
 * (RFC 5321 §4.5.3.1): a plausible one (`isEmail`) whose local part has at most 64 bytes, without
 * quotes, brackets, separators or a dot at either end or twice, and whose domain is labels of 1 to
 * 63 letters, digits and hyphens (any script), none starting or ending with a hyphen; no address
 * literal such as `[127.0.0.1]`.
 */
export function isNewEmail(email: string): boolean {
  if (!isEmail(email)) return false;
  const at = email.indexOf('@');
  const [local, domain] = [email.slice(0, at), email.slice(at + 1)];
  if (Buffer.byteLength(local) > 64 || /["(),:;<>[\]\\]|^\.|\.$|\.\./.test(local)) return false;
  const label = /^[\p{L}\p{N}]([\p{L}\p{M}\p{N}-]{0,61}[\p{L}\p{M}\p{N}])?$/u;
  return domain.length <= 255 && domain.split('.').every((l) => label.test(l));
}

/** Letters of these scripts look alike (а/a, о/o, ο/o…); Han, Hiragana and Katakana mix in Japanese. */
const SCRIPTS: [string, RegExp][] = [
  ['Latin', /\p{Script=Latin}/u],
  ['Cyrillic', /\p{Script=Cyrillic}/u],
  ['Greek', /\p{Script=Greek}/u],
  ['Armenian', /\p{Script=Armenian}/u],
  ['Cherokee', /\p{Script=Cherokee}/u],
  ['CJK', /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u],
];

function scriptOf(ch: string): string | null {
  if (!/\p{L}/u.test(ch)) return null;
  for (const [name, re] of SCRIPTS) if (re.test(ch)) return name;
  return 'Other';
}

/** True when one label of the address (the local part, or a domain label) mixes scripts. */
function mixesScripts(email: string): boolean {
  return email.split(/[@.]/).some((label) => {
    const scripts = new Set([...label].map(scriptOf).filter((s) => s !== null));
    return scripts.size > 1;
  });
}

/** Small Cyrillic and Greek letters that pass for Latin ones (а/a, с/c, ѕ/s, ο/o, ν/v…). */
const LATIN_LOOKALIKES =
  /^[\u0430\u043a\u0501\u0435\u04bb\u0456\u0458\u04cf\u043e\u051b\u0440\u0441\u0455\u051d\u0445\u0443\u04af\u0475\u0461\u0433\u043f\u044a\u044c\u03b1\u03b5\u03b9\u03ba\u03bd\u03bf\u03c1\u03c4\u03c5\u03c7\u03c9]+$/u;

/**
 * True when a label is written wholly in Cyrillic or Greek letters that pass for Latin ones
 * while the rest of the address is Latin: `сосо@example.com` beside `coco@example.com` (a
 * whole-script confusable, which browsers show as punycode for the same reason). An address
 * wholly in Cyrillic (`сара@почта.рф`) is left alone.
 */
function passesForLatin(email: string): boolean {
  const labels = email.split(/[@.]/);
  const latin = labels.some((label) => [...label].some((ch) => scriptOf(ch) === 'Latin'));
  return latin && labels.some((label) => LATIN_LOOKALIKES.test(label.replace(/[^\p{L}]/gu, '')));
}

/**
 * Why an address a person typed cannot name a new account: not an address ('invalid'), or one
 * that could pass for another (a homoglyph): letters of several scripts in one label, or
 * characters that compatibility normalization would change (fullwidth letters) ('mixed'), or a
 * label of Cyrillic or Greek letters that look Latin in an otherwise Latin address ('lookalike').
 */
export function emailProblem(normalized: string): 'invalid' | 'mixed' | 'lookalike' | null {
  // Characters that make an address a list or a group to mail software: one mailbox only.
  if (!isNewEmail(normalized) || /[,;:<>()"[\]\\]/.test(normalized)) return 'invalid';
  if (normalized !== normalized.normalize('NFKC') || mixesScripts(normalized)) return 'mixed';
  if (passesForLatin(normalized)) return 'lookalike';
  return null;
}
