import { createAdmin } from '../../src/admin/console.js';
import { addRolePermissions, assignUserRoles, createRole } from '../../src/admin/roles.js';
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

let roles = 0;

/**
 * A new person whose one role gives them `permissions` of the Management API (and nothing else),
 * signed in to the console.
 */
export async function signedInWith(t: TestApp, permissions: string[]) {
  const role = await createRole(t.rt.storage, t.clock, { name: `Console ${++roles} ${Math.random()}` });
  const audience = `${t.issuer}/api/v2/`;
  await addRolePermissions(
    t.rt.storage,
    t.clock,
    role.id,
    permissions.map((permission) => ({ audience, permission })),
  );
  const { user, creds } = await newUser(t);
  await assignUserRoles(t.rt.storage, t.clock, user.id, [role.id]);
  const agent = browser(t, creds);
  const flow = await agent.signIn(`${t.issuer}/console`);
  if (flow.response.status !== 200)
    throw new Error(`console sign-in ended with ${flow.response.status}:\n${await flow.response.text()}`);
  return { agent, user, role };
}
