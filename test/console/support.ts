import { createAdmin } from '../../src/admin/console.js';
import { csrfOf, type UserAgent } from '../protocol/sign-in/agent.js';
import { browser, newUser, PASSWORD } from '../protocol/sign-in/fixtures.js';
import type { TestApp } from '../support/app.js';

let admins = 0;

/** A new admin (Sesame Admin) signed in to the console through a browser agent. */
export async function signedInAdmin(
  t: TestApp,
): Promise<{ agent: UserAgent; email: string; dashboard: string }> {
  const email = `admin${++admins}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  await createAdmin(t.rt.storage, t.clock, { email, password: PASSWORD });
  const agent = browser(t, { email, password: PASSWORD });
  const flow = await agent.signIn(`${t.issuer}/console`);
  const dashboard = await flow.response.text();
  if (flow.response.status !== 200)
    throw new Error(`console sign-in ended with ${flow.response.status}:\n${dashboard}`);
  return { agent, email, dashboard };
}

/** A person without any role, signed in to the console (which refuses them). */
export async function signedInNobody(t: TestApp) {
  const { creds } = await newUser(t);
  const agent = browser(t, creds);
  return { agent, flow: await agent.signIn(`${t.issuer}/console`) };
}

/** GETs a console page; its status and HTML. */
export async function open(agent: UserAgent, path: string) {
  const res = await agent.get(path);
  return { status: res.status, html: await res.text(), location: res.headers.get('location') };
}

/** Submits a console form (with the page's CSRF token) and follows the redirect to the next page. */
export async function submit(
  agent: UserAgent,
  pageHtml: string,
  action: string,
  fields: Record<string, string>,
) {
  const res = await agent.post(action, { csrf: csrfOf(pageHtml), ...fields });
  if (res.status === 303) return open(agent, res.headers.get('location')!);
  return { status: res.status, html: await res.text(), location: res.headers.get('location') };
}
