import { domainToUnicode } from 'node:url';
import type { Kysely } from 'kysely';

/**
 * Emails whose domain was stored in its ASCII form (`zoe@xn--bcher-kva.example`, what a browser's
 * email field sent) are stored in Unicode (`zoe@bücher.example`), the one spelling a sign-in now
 * looks up. One whose Unicode spelling another account has already is left as it is (both stay).
 * The conversion is written out here, as it was when this ran.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then
export async function up(db: Kysely<any>): Promise<void> {
  const rows = await db
    .selectFrom('users')
    .select(['id', 'email'])
    .where('email', 'like', '%xn--%')
    .execute();
  for (const { id, email } of rows as { id: string; email: string }[]) {
    const at = email.lastIndexOf('@');
    const domain = email.slice(at + 1);
    if (at < 0 || !/(^|\.)xn--/.test(domain)) continue;
    const unicode = domainToUnicode(domain);
    if (unicode === '') continue;
    const to = `${email.slice(0, at + 1)}${unicode.normalize('NFC').toLowerCase().normalize('NFC')}`;
    if (to === email) continue;
    if (await db.selectFrom('users').select('id').where('email', '=', to).executeTakeFirst()) continue;
    await db.updateTable('users').set({ email: to }).where('id', '=', id).execute();
    await db
      .updateTable('account_tickets')
      .set({ email: to })
      .where('user_id', '=', id)
      .where('email', '=', email)
      .execute();
  }
}
