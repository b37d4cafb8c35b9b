// Issue #14 §12 (RFC 8628 §5.4, remote phishing): an attacker starts a device sign-in and sends
// the code to a victim. The confirmation page names the application and warns, before Allow,
// that the code must come from the person's own device.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Activator, type ClientCreds, headingOf, startDevice } from '../../protocol/device/device.js';
import { unescapeHtml } from '../../protocol/sign-in/agent.js';
import { newUser } from '../../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';

/** The page's text without tags, with single spaces. */
const textOf = (html: string) => unescapeHtml(html.replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ');

describeEachBackend(
  'hardening: the device confirmation page warns against codes from others (#14 §12)',
  (backend) => {
    let t: TestApp;
    let tv: ClientCreds;

    beforeAll(async () => {
      t = await startTestApp(backend);
      tv = await t.createApp({ name: 'Living Room TV', type: 'native', callbacks: ['com.example.tv:/cb'] });
    });
    afterAll(async () => t?.close());

    it('names the application and warns before the decision', async () => {
      const d = await startDevice(t, tv, { scope: 'openid' });
      const { creds } = await newUser(t);
      const person = await Activator.signIn(t, creds);
      const { res, html } = await person.enter(d.user_code);
      expect(res.status).toBe(200);
      expect(headingOf(html)).toBe('Allow Living Room TV on your device?');
      const text = textOf(html);
      const warning = text.indexOf('Only allow this if you started signing in to Living Room TV yourself');
      expect(warning, text).toBeGreaterThan(0);
      expect(text).toMatch(/If someone sent you this code or asked you to enter it, choose Deny/);
      // The warning comes before the buttons that decide.
      expect(html.indexOf('role="note"')).toBeLessThan(html.indexOf('name="decision"'));
    });
  },
);
