/**
 * Which Chromium the browser tests drive, with no apt step on the README's path:
 * 1. `CHROMIUM_PATH`, when set (it must exist);
 * 2. Debian's `/usr/bin/chromium`, when installed (`.ci/run` prefers it);
 * 3. otherwise the headless Chromium that the `@sparticuz/chromium` dev dependency ships inside its npm
 *    package: unpacked to the temp folder on first use (about 3 s, offline).
 * playwright-core drives whichever it is; it downloads no browser of its own.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

export interface ChromiumLaunch {
  executablePath: string;
  args: string[];
  source: 'CHROMIUM_PATH' | 'debian' | '@sparticuz/chromium';
}

/** Flags that keep a headless Chromium off the network, which this machine does not reach anyway. */
const QUIET = ['--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];
const DEBIAN = '/usr/bin/chromium';

export async function findChromium(): Promise<ChromiumLaunch> {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) {
    if (!existsSync(configured)) throw new Error(`CHROMIUM_PATH is ${configured}, which does not exist`);
    return { executablePath: configured, args: ['--headless', '--no-sandbox', '--disable-gpu', ...QUIET], source: 'CHROMIUM_PATH' };
  }
  if (existsSync(DEBIAN)) return { executablePath: DEBIAN, args: ['--headless', '--no-sandbox', '--disable-gpu', ...QUIET], source: 'debian' };
  return { ...(await unpackPackagedChromium()), source: '@sparticuz/chromium' };
}

/**
 * The package is an ES module, which jest's CommonJS runtime cannot load; a short Node process imports it,
 * unpacks the browser (once: later calls find it unpacked) and prints where it is and its launch flags.
 */
async function unpackPackagedChromium(): Promise<{ executablePath: string; args: string[] }> {
  const script = `import('@sparticuz/chromium').then(async ({ default: c }) => process.stdout.write(JSON.stringify({ executablePath: await c.executablePath(), args: c.args })))`;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd: __dirname, timeout: 120_000 });
  const found = JSON.parse(stdout) as { executablePath: string; args: string[] };
  return { executablePath: found.executablePath, args: [...found.args, ...QUIET] };
}
