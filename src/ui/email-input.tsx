/**
 * The email field of Sesame's forms (the person-facing pages and the console's): a text field that asks for an email keyboard. A
 * browser's `type="email"` refuses letters beyond ASCII before the @ (`josé@…`), which Sesame
 * takes, and sends a domain such as `bücher.example` in punycode.
 */
export const EmailInput = (p: { autocomplete?: 'email' | 'username'; value?: string | undefined }) => (
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
  />
);
