/** The fields the person-facing pages (and the console) share. */

/**
 * The email field of Sesame's forms (the person-facing pages and the console's): a text field that asks for an email keyboard. A
 * browser's `type="email"` refuses letters beyond ASCII before the @ (`josé@…`), which Sesame
 * takes, and sends a domain such as `bücher.example` in punycode.
 */
export const EmailInput = (p: {
  autocomplete?: 'email' | 'username';
  value?: string | undefined;
  /** The id of the message saying what is wrong with it, when something is. */
  problem?: string | undefined;
}) => (
  <input
    id="email"
    name="email"
    type="text"
    inputmode="email"
    autocapitalize="none"
    spellcheck={false}
    {...(p.autocomplete ? { autocomplete: p.autocomplete } : {})}
    required
    value={p.value ?? ''}
    {...invalidBy(p.problem)}
  />
);

/**
 * The attributes of a field a message refuses (WCAG 3.3.1): marked invalid, and described by
 * that message, so a screen reader reads it with the field. None when `problem` is undefined.
 */
export const invalidBy = (problem: string | undefined) =>
  problem === undefined ? {} : { 'aria-invalid': 'true', 'aria-describedby': problem };

/** A person's name (sign-up, /account): at most 255 characters; the checks are the server's. */
export const NameInput = (p: { value: string; problem?: string | undefined }) => (
  <input
    id="name"
    name="name"
    type="text"
    autocomplete="name"
    maxlength={255}
    value={p.value}
    {...invalidBy(p.problem)}
  />
);
