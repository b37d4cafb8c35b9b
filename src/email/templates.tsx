import type { Child } from 'hono/jsx';
import type { Brand } from '../admin/branding.js';
import { forHowLong } from '../util/clock.js';

/** A rendered email: its subject and both parts. */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

function Shell(p: { brand: Brand; children: Child }) {
  const color = p.brand.color ?? '#2952cc';
  return (
    <html lang="en">
      <body style="margin:0;padding:24px;background:#f4f5f7;font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1c1e21">
        <div style="max-width:32rem;margin:0 auto;padding:24px;background:#fff;border-radius:12px">
          {p.brand.logoUrl ? <img src={p.brand.logoUrl} alt={p.brand.name} style="max-height:48px" /> : null}
          <p style={`font-weight:600;color:${color}`}>{p.brand.name}</p>
          {p.children}
          {p.brand.supportEmail ? (
            <p style="color:#555;font-size:14px">
              Need help? Write to <a href={`mailto:${p.brand.supportEmail}`}>{p.brand.supportEmail}</a>.
            </p>
          ) : null}
        </div>
      </body>
    </html>
  );
}

function Button(p: { brand: Brand; href: string; children: Child }) {
  const color = p.brand.color ?? '#2952cc';
  return (
    <p>
      <a
        href={p.href}
        style={`display:inline-block;padding:12px 20px;background:${color};color:#fff;border-radius:8px;text-decoration:none`}
      >
        {p.children}
      </a>
    </p>
  );
}

/** The plain-text part: paragraphs, the link on a line of its own, the support address. */
function text(brand: Brand, before: string[], link: string, after: string[]): string {
  const help = brand.supportEmail ? [`Need help? Write to ${brand.supportEmail}.`] : [];
  return [brand.name, '', ...before, '', link, '', ...after, ...(help.length ? ['', ...help] : [])].join(
    '\n',
  );
}

const html = (el: ReturnType<typeof Shell>) => `<!doctype html>${el.toString()}`;

/** The link that proves the person reads mail at the address (valid `lifetime` seconds). */
export function verificationEmail(brand: Brand, link: string, lifetime: number): RenderedEmail {
  const intro = `Confirm that this is your email address for ${brand.name}: open the link below.`;
  const note = `The link works for ${forHowLong(lifetime)}. If you did not create an account, ignore this email.`;
  return {
    subject: `Verify your email for ${brand.name}`,
    text: text(brand, [intro], link, [note]),
    html: html(
      <Shell brand={brand}>
        <p>{intro}</p>
        <Button brand={brand} href={link}>
          Verify my email
        </Button>
        <p style="font-size:14px;word-break:break-all">{link}</p>
        <p style="color:#555;font-size:14px">{note}</p>
      </Shell>,
    ),
  };
}

/** The link that lets the person choose a new password (valid `lifetime` seconds). */
export function resetEmail(brand: Brand, link: string, lifetime: number): RenderedEmail {
  const intro = `Someone asked to reset the password of your ${brand.name} account. To choose a new one, open the link below.`;
  const note = `The link works for ${forHowLong(lifetime)}, once. If you did not ask for it, ignore this email: your password stays as it is.`;
  return {
    subject: `Reset your password for ${brand.name}`,
    text: text(brand, [intro], link, [note]),
    html: html(
      <Shell brand={brand}>
        <p>{intro}</p>
        <Button brand={brand} href={link}>
          Choose a new password
        </Button>
        <p style="font-size:14px;word-break:break-all">{link}</p>
        <p style="color:#555;font-size:14px">{note}</p>
      </Shell>,
    ),
  };
}

/**
 * The notice that an account's password changed (OWASP Forgot Password Cheat Sheet): no secret in
 * it, only where to take the account back should it not have been its owner.
 */
export function passwordChangedEmail(brand: Brand, resetLink: string): RenderedEmail {
  const intro = `The password of your ${brand.name} account was just changed.`;
  const ifNot = 'If that was not you, choose a new password now, through the link below, and tell us.';
  return {
    subject: `Your password for ${brand.name} was changed`,
    text: text(brand, [intro, ifNot], resetLink, ['If it was you, there is nothing to do.']),
    html: html(
      <Shell brand={brand}>
        <p>{intro}</p>
        <p>{ifNot}</p>
        <Button brand={brand} href={resetLink}>
          Reset my password
        </Button>
        <p style="color:#555;font-size:14px">If it was you, there is nothing to do.</p>
      </Shell>,
    ),
  };
}
