import type { Kysely } from 'kysely';
import * as m001 from './001-initial.js';
import * as m002 from './002-users.js';
import * as m003 from './003-sign-in.js';
import * as m004 from './004-device-codes.js';
import * as m005 from './005-code-replay.js';
import * as m006 from './006-management.js';
import * as m007 from './007-roles-and-logs.js';
import * as m008 from './008-console.js';
import * as m009 from './009-hardening.js';
import * as m010 from './010-accounts.js';
import * as m011 from './011-refresh-access.js';
import * as m012 from './012-ticket-requested.js';
import * as m013 from './013-log-export-order.js';
import * as m014 from './014-redact-tickets.js';
import * as m015 from './015-last-login.js';
import * as m016 from './016-jobs.js';
import * as m017 from './017-unicode-domains.js';

/** A numbered migration; applied once, in order, each in its own transaction. */
export interface Migration {
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: migrations see the schema as it was then
  up(db: Kysely<any>): Promise<void>;
}

/** Every migration, in order. Append only; never edit one that has shipped. */
export const migrations: Migration[] = [
  { name: '001-initial', ...m001 },
  { name: '002-users', ...m002 },
  { name: '003-sign-in', ...m003 },
  { name: '004-device-codes', ...m004 },
  { name: '005-code-replay', ...m005 },
  { name: '006-management', ...m006 },
  { name: '007-roles-and-logs', ...m007 },
  { name: '008-console', ...m008 },
  { name: '009-hardening', ...m009 },
  { name: '010-accounts', ...m010 },
  { name: '011-refresh-access', ...m011 },
  { name: '012-ticket-requested', ...m012 },
  { name: '013-log-export-order', ...m013 },
  { name: '014-redact-tickets', ...m014 },
  { name: '015-last-login', ...m015 },
  { name: '016-jobs', ...m016 },
  { name: '017-unicode-domains', ...m017 },
];
