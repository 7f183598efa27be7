import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium (`apt-get install -y chromium`), driven by playwright-core: no browser download. The flags
 * keep Chromium off the network it cannot reach here (background requests, component updates, sync, QUIC);
 * playwright gives every launch a fresh, empty user data dir.
 */
export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** playwright adds --headless itself (headless: true) */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** `KS_BROWSER_CHROMIUM`, else Debian's path; undefined when there is none. */
export function findChromium(): string | undefined {
  const explicit = process.env.KS_BROWSER_CHROMIUM;
  if (explicit) return existsSync(explicit) ? explicit : undefined;
  return CHROMIUM_CANDIDATES.find((path) => existsSync(path));
}

/** Why the browser test cannot run, as the failure (or skip) message says it. */
export function chromiumMissing(): string {
  const where = process.env.KS_BROWSER_CHROMIUM
    ? `KS_BROWSER_CHROMIUM=${process.env.KS_BROWSER_CHROMIUM} does not exist`
    : `no Chromium at ${CHROMIUM_CANDIDATES.join(' or ')}`;
  return (
    `the real-browser test needs Chromium, and ${where}. Install Debian's package ` +
    '(`DEBIAN_FRONTEND=noninteractive apt-get install -y chromium`, as .ci/run does), or point KS_BROWSER_CHROMIUM ' +
    'at a Chromium binary; KS_BROWSER_TEST=skip skips this test (never in CI)'
  );
}

export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: FLAGS, timeout: 60_000 });
}
