import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A throwaway certificate authority and a server certificate it signed, as PEM files. */
export interface TestTls {
  /** The temporary directory holding every file below. */
  dir: string;
  /** The server certificate (SAN DNS:localhost, IP:127.0.0.1), for SESAME_TLS_CERT. */
  cert: string;
  /** The server's private key (PKCS#8, unencrypted), for SESAME_TLS_KEY. */
  key: string;
  /** The CA certificate file, for a client to trust. */
  ca: string;
  /** The CA certificate's PEM text (e.g. for undici's `connect: { ca }`). */
  caPem: string;
  /** Removes the directory and everything in it. */
  cleanup(): Promise<void>;
}

/** Runs `openssl ...args` in `cwd`; a failure names the command and shows openssl's stderr. */
async function openssl(cwd: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd, timeout: 20_000 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args.join(' ')} failed: ${(err as Error).message}\n${stderr}`);
  }
}

/**
 * Makes a self-signed CA (valid one day) and a localhost server certificate it signed, with the
 * `openssl` CLI, in a fresh temporary directory. P-256 keys: fast to generate.
 */
export async function createTestTls(): Promise<TestTls> {
  const dir = await mkdtemp(join(tmpdir(), 'sesame-tls-'));
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await openssl(dir, [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '1',
      '-subj',
      '/CN=Sesame throwaway test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await openssl(dir, [
      'req',
      ...ec,
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=localhost',
    ]);
    await writeFile(
      join(dir, 'server.ext'),
      [
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        '',
      ].join('\n'),
    );
    await openssl(dir, [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-set_serial',
      `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`,
      '-days',
      '1',
      '-extfile',
      'server.ext',
      '-out',
      'server.pem',
    ]);
    const ca = join(dir, 'ca.pem');
    return {
      dir,
      cert: join(dir, 'server.pem'),
      key: join(dir, 'server.key'),
      ca,
      caPem: await readFile(ca, 'utf8'),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
