import { type Child, createContext, useContext } from 'hono/jsx';
import { type Brand, DEFAULT_BRAND } from '../admin/branding.js';

const CSS = `
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f4f5f7;color:#1c1e21}
main{max-width:26rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.35rem;margin:0 0 1rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input[type=email],input[type=password],input[type=text]{width:100%;padding:.6rem;font-size:1rem;border:1px solid #aab;border-radius:8px}
button{margin-top:1rem;width:100%;padding:.7rem;font-size:1rem;border:0;border-radius:8px;background:var(--primary);color:#fff;cursor:pointer}
button.secondary{background:#e4e6eb;color:#1c1e21}.error{color:#b00020;background:#fdecee;padding:.6rem;border-radius:8px}
.notice{color:#0b5d1e;background:#e7f6ea;padding:.6rem;border-radius:8px}
a{color:var(--primary)}ul{padding-left:1.2rem}.muted{color:#555;font-size:.9rem}.links{margin-top:1rem;display:flex;justify-content:space-between;gap:1rem;font-size:.95rem}
.brand{display:flex;align-items:center;gap:.6rem;margin:0 0 1rem;font-weight:600}.brand img{max-height:40px;max-width:160px}
`;

/** The tenant's brand for the page being rendered (http/page.ts provides it). */
export const BrandContext = createContext<Brand>(DEFAULT_BRAND);

/**
 * Makes hono/jsx keep its contexts (the brand) for the synchronous render only, without an
 * AsyncLocalStorage. hono/jsx looks for one (through `process.getBuiltinModule`) at its first
 * render, and on Node 20 the first `run()` of one turns async hooks on for the rest of the
 * process: every later promise pays for them. Once a page had been rendered, a client
 * credentials token took about 9% more CPU (#16, bench: paired rounds). Sesame's components are
 * all synchronous, and a context read after an `await` in an async component would get its
 * default value. Called before the server renders anything; the look is made once.
 */
export function renderWithoutAsyncHooks(): void {
  const own = Object.getOwnPropertyDescriptor(process, 'getBuiltinModule');
  if (own) Object.defineProperty(process, 'getBuiltinModule', { ...own, value: undefined });
  try {
    String(<i />);
  } finally {
    if (own) Object.defineProperty(process, 'getBuiltinModule', own);
  }
}

/** The application a page is for, or the tenant's name when it is for none (the account page's sign-in). */
export const AppName = (p: { name?: string | undefined }) => <>{p.name ?? useContext(BrandContext).name}</>;

/** `page` in the tenant's brand: the brand is read while the page renders (inside the provider). */
export function Branded(props: { brand: Brand; render: () => Child }) {
  return <BrandContext.Provider value={props.brand}>{props.render()}</BrandContext.Provider>;
}

/** The page shell: no third-party resources but the tenant's logo; styles carry the CSP nonce. */
export function Layout(props: { title: string; nonce: string; children: Child }) {
  const brand = useContext(BrandContext);
  // The colour was checked to be #rgb or #rrggbb when it was saved (admin/branding.ts).
  const vars = `:root{--primary:${brand.color ?? '#2952cc'}}`;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${props.title} · ${brand.name}`}</title>
        <style nonce={props.nonce}>{vars + CSS}</style>
      </head>
      <body>
        <main>
          <p class="brand">
            {brand.logoUrl ? <img src={brand.logoUrl} alt="" /> : null}
            <span>{brand.name}</span>
          </p>
          {props.children}
          {brand.supportEmail ? (
            <p class="muted">
              Need help? <a href={`mailto:${brand.supportEmail}`}>{brand.supportEmail}</a>
            </p>
          ) : null}
        </main>
      </body>
    </html>
  );
}
