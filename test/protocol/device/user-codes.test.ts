// User codes with a known value (the generator is replaced for these tests): a code still in
// use is drawn again, and the person may type a known code in any case, with or without the
// dash, with spaces around it (RFC 8628 §6.1).
import { afterAll, beforeAll, beforeEach, expect, it, vi } from 'vitest';
import { newUserCode } from '../../../src/protocol/user-code.js';
import { sha256 } from '../../../src/util/crypto.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import { newUser } from '../sign-in/fixtures.js';
import { Activator, type ClientCreds, outcome, poll, startDevice, USER_CODE_ALPHABET } from './device.js';

vi.mock('../../../src/protocol/user-code.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/protocol/user-code.js')>();
  return { ...real, newUserCode: vi.fn(real.newUserCode) };
});

const drawn = vi.mocked(newUserCode);

describeEachBackend('device user codes of known value', (backend) => {
  let t: TestApp;
  let tv: ClientCreds;
  let person: Activator;

  beforeAll(async () => {
    t = await startTestApp(backend);
    tv = await t.createApp({ name: 'TV', type: 'native', callbacks: ['com.example.tv:/cb'] });
    const { creds } = await newUser(t);
    person = await Activator.signIn(t, creds);
  });
  afterAll(async () => t?.close());
  beforeEach(() => drawn.mockClear());

  it('draws a code from the consonant alphabet (the real generator)', async () => {
    const real = await vi.importActual<typeof import('../../../src/protocol/user-code.js')>(
      '../../../src/protocol/user-code.js',
    );
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) for (const ch of real.newUserCode()) seen.add(ch);
    expect([...seen].sort().join('')).toBe(USER_CODE_ALPHABET);
  });

  it('draws again when the user code is still in use', async () => {
    drawn.mockReturnValueOnce('CDFGHJKL');
    const first = await startDevice(t, tv, { scope: 'openid' });
    expect(first.user_code).toBe('CDFG-HJKL');
    drawn.mockReturnValueOnce('CDFGHJKL').mockReturnValueOnce('DFGHJKLM');
    const second = await startDevice(t, tv, { scope: 'openid' });
    expect(second.user_code).toBe('DFGH-JKLM');
    expect(drawn).toHaveBeenCalledTimes(3);
    // Each code still belongs to its own device.
    const byCode = async (code: string) => (await t.rt.storage.deviceCodes.getByUserCode(code))?.hash;
    expect(await byCode('CDFGHJKL')).toBe(sha256(first.device_code));
    expect(await byCode('DFGHJKLM')).toBe(sha256(second.device_code));
  });

  it("accepts 'bcdf-ghjk', 'BCDFGHJK' and ' bcdfghjk ' for BCDF-GHJK", async () => {
    drawn.mockReturnValueOnce('BCDFGHJK');
    const d = await startDevice(t, tv, { scope: 'openid' });
    expect(d.user_code).toBe('BCDF-GHJK');
    for (const typed of ['bcdf-ghjk', 'BCDFGHJK', ' bcdfghjk ', 'BcDf-GhJk']) {
      const { res, html } = await person.enter(typed);
      expect({ typed, status: res.status }).toEqual({ typed, status: 200 });
      expect(html).toContain('<strong>BCDF-GHJK</strong>');
    }
    // Deciding takes the code in any of these forms too.
    const done = await person.decide(' bcdfghjk ', 'allow');
    expect(done.res.status).toBe(200);
    t.clock.advance(d.interval);
    expect(outcome(await poll(t, tv, d.device_code))).toBe('ok');
  });
});
