import { describe, expect, it } from 'vitest';
import { emailProblem, isEmail, isNewEmail, normalizeEmail } from '../../../src/accounts/email.js';

describe('normalizeEmail: the login name form (trimmed, NFC, lowercased)', () => {
  it('trims surrounding whitespace and lowercases', () => {
    expect(normalizeEmail('  Ada@Example.COM ')).toBe('ada@example.com');
    expect(normalizeEmail('\tBOB@EXAMPLE.ORG\n')).toBe('bob@example.org');
  });

  it('composes a decomposed character (e + U+0301 → U+00E9)', () => {
    const decomposed = 'jose\u0301@example.com';
    const out = normalizeEmail(decomposed);
    expect(out).toBe('jos\u00e9@example.com');
    expect(out.length).toBe(decomposed.length - 1);
  });

  it('gives the same login name for the composed and the decomposed, upper- and lower-case spelling', () => {
    const forms = [
      'JOS\u00c9@example.com',
      'JOSE\u0301@Example.com',
      ' jos\u00e9@EXAMPLE.com',
      'jose\u0301@example.com',
    ];
    expect(new Set(forms.map(normalizeEmail))).toEqual(new Set(['jos\u00e9@example.com']));
  });

  it('keeps the inside of the address (no dot or plus removal)', () => {
    expect(normalizeEmail('First.Last+tag@Example.com')).toBe('first.last+tag@example.com');
  });

  it('is NFC after lowercasing: a capital without a composed form (J + U+030C) meets its small letter (ǰ)', () => {
    expect(normalizeEmail('J\u030Cohn@example.com')).toBe('\u01F0ohn@example.com');
    expect(normalizeEmail('\u01F0ohn@example.com')).toBe('\u01F0ohn@example.com');
  });

  it('reads a domain given in punycode back into Unicode (a browser email field sends that form)', () => {
    expect(normalizeEmail('Zoe@XN--BCHER-KVA.Example')).toBe('zoe@b\u00fccher.example');
    expect(normalizeEmail('zoe@b\u00fccher.example')).toBe('zoe@b\u00fccher.example');
    expect(normalizeEmail('ivan@xn--e1afmkfd.xn--p1ai')).toBe(
      'ivan@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444',
    );
    // a label that is not punycode, and an xn-- in the local part, stay as typed
    expect(normalizeEmail('odd@xn--.example')).toBe('odd@xn--.example');
    expect(normalizeEmail('xn--abc@example.com')).toBe('xn--abc@example.com');
  });

  it('is idempotent', () => {
    const once = normalizeEmail('  Ma\u0301ria@Example.COM ');
    expect(normalizeEmail(once)).toBe(once);
  });
});

describe('isEmail: a plausible email address', () => {
  it.each(['ada@example.com', 'first.last+tag@sub.example.co.uk', 'jos\u00e9@example.com', 'a@b'])(
    'accepts %j',
    (email) => {
      expect(isEmail(email)).toBe(true);
    },
  );

  it.each([
    ['', 'empty'],
    ['ada', 'no @'],
    ['ada@', 'nothing after @'],
    ['@example.com', 'nothing before @'],
    ['a@b@example.com', 'two @'],
    ['ada lovelace@example.com', 'a space'],
    ['ada@exa mple.com', 'a space after @'],
    [' ada@example.com', 'a leading space (not normalised)'],
    ['ada@example.com\n', 'a trailing newline'],
    ['ada\t@example.com', 'a tab'],
    ['ad\u200Ba@example.com', 'a zero-width space'],
    ['ada\u00AD@example.com', 'a soft hyphen'],
    ['ada@exam\u200Dple.com', 'a zero-width joiner'],
    ['ada@example.com\u2060', 'a word joiner'],
    ['ada\u180E@example.com', 'a Mongolian vowel separator'],
    ['ada\uFE0F@example.com', 'a variation selector'],
    ['ada\u3164@example.com', 'a Hangul filler'],
  ])('refuses %j (%s)', (email) => {
    expect(isEmail(email)).toBe(false);
  });

  it('accepts 320 characters and refuses 321', () => {
    const at320 = `${'a'.repeat(64)}@${'b'.repeat(255)}`;
    expect(at320.length).toBe(320);
    expect(isEmail(at320)).toBe(true);
    expect(isEmail(`${at320}b`)).toBe(false);
  });
});

describe('isNewEmail: an address an account may be given (RFC 5321)', () => {
  it('accepts 320 characters (a local part of 64 bytes, a domain of 255) and refuses more', () => {
    const domain = Array.from({ length: 4 }, () => 'b'.repeat(63)).join('.');
    const at320 = `${'a'.repeat(64)}@${domain}`;
    expect(at320.length).toBe(320);
    expect(isNewEmail(at320)).toBe(true);
    expect(isNewEmail(`${'a'.repeat(65)}@example.com`)).toBe(false);
    // 64 bytes, not characters: 33 two-byte letters are 66
    expect(isNewEmail(`${'\u00e9'.repeat(33)}@example.com`)).toBe(false);
    expect(isNewEmail(`a@${domain}.c`)).toBe(false);
  });

  it.each([
    ['x"<script>@example.com', 'a quote and brackets in the local part'],
    ['a(b)@example.com', 'a comment'],
    ['a,b@example.com', 'a list'],
    ['.a@example.com', 'a leading dot'],
    ['a.@example.com', 'a trailing dot'],
    ['a..b@example.com', 'two dots'],
    ['a@example..com', 'an empty label'],
    ['a@.example.com', 'a leading empty label'],
    ['a@example.com.', 'a trailing dot in the domain'],
    ['a@-example.com', 'a label starting with a hyphen'],
    ['a@example-.com', 'a label ending with a hyphen'],
    ['a@[127.0.0.1]', 'an address literal'],
    ['a@"<script>', 'quotes and brackets in the domain'],
    ['a@x,y', 'a comma in the domain'],
    ['a@ex_ample.com', 'an underscore in a label'],
    [`a@${'b'.repeat(64)}.com`, 'a label of 64 characters'],
  ])('refuses %j (%s, RFC 5321)', (email) => {
    expect(isNewEmail(email)).toBe(false);
  });

  it('sign-in and reset still look up an address made before (isEmail stays loose)', () => {
    for (const old of ['john..doe@example.com', 'a@-x.com', `${'a'.repeat(70)}@example.com`]) {
      expect(isEmail(old)).toBe(true);
      expect(isNewEmail(old)).toBe(false);
    }
  });

  it.each(["o'brien@example.com", 'user@localhost', 'j\u00f6rg@b\u00fccher.de', 'a-b_c@x-y.example'])(
    'accepts %j',
    (email) => {
      expect(isNewEmail(email)).toBe(true);
    },
  );
});

describe('emailProblem: addresses that could pass for another', () => {
  it.each([
    ['сосо@example.com', 'lookalike'], // Cyrillic с, о: coco
    ['ada@ехаmрlе.com', 'mixed'], // Cyrillic among Latin in one label
    ['ada@ορα.example.com', 'lookalike'], // a Greek label of Latin look-alikes
    ['аdа@example.com', 'mixed'],
    ['ada@example.com', null],
    ['сара@почта.рф', null], // wholly Cyrillic: nothing to pass for
    ['ира@example.com', null], // и looks like no Latin letter
    ['δημήτρης@example.com', null],
    ['ｍe@example.com', 'mixed'], // fullwidth
  ])('%s → %s', (email, problem) => {
    expect(emailProblem(normalizeEmail(email))).toBe(problem);
  });
});
