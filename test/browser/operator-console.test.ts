import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { DEV_APPROVER, EMULATOR_OPS } from '../../src/emulator-accounts.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { chromiumMissing, findChromium, launchChromium } from './chromium.js';
import { startDevStack, type DevStack } from './dev-stack.js';

/**
 * The operator's path of the README in a real browser: `ks-onboard dev`, an elevated onboarding that waits,
 * found in the Temporal Web UI by its search attribute, read there (current details; the input decoded through
 * dev's codec server, its password only sealed), approved with `ks-onboard approve` as another KubeSphere user,
 * and seen complete with the approver's identity as the worker verified it. Screenshots: test-results/browser/.
 *
 * Headless Chromium is Debian's (`.ci/run` installs it). Without it the test fails, saying so; it is skipped
 * only when KS_BROWSER_TEST=skip.
 */
const SHOTS = join(ROOT, 'test-results', 'browser');
const PASSWORD = 'Br0wser-Secret-9';
const FILTER = 'OnboardingState="awaiting-approval"';
const skip = process.env.KS_BROWSER_TEST === 'skip';
if (skip) console.warn(`operator console browser test skipped: KS_BROWSER_TEST=skip`);

describe.skipIf(skip)('the operator console in a real browser (Temporal Web UI of `ks-onboard dev`)', () => {
  let stack: DevStack;
  let browser: Browser;
  let page: Page;
  let dir: string;
  /** what the page received from the codec server's /decode, each payload's data as text */
  const decoded: string[] = [];
  /** the payloads the page received from the Web UI's own API about onboard-bob (as Temporal stores them) */
  const raw: { encoding: string; text: string }[] = [];
  const decodeCalls: { status: number; url: string }[] = [];

  const executable = findChromium();

  beforeAll(async () => {
    if (!executable) return; // the test fails, saying why
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    const [started, launched] = await Promise.allSettled([
      startDevStack({ temporalCli: inject('temporalCli') }),
      launchChromium(executable),
    ]);
    if (started.status === 'fulfilled') stack = started.value;
    if (launched.status === 'fulfilled') browser = launched.value;
    if (started.status === 'rejected') throw started.reason;
    if (launched.status === 'rejected') throw launched.reason;
    dir = stack.dataDir;
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.setDefaultTimeout(20_000);
    // Only the local stack: the UI's news feed and the like are not this test's business (nor reachable).
    await page.route(
      (url) => url.hostname !== '127.0.0.1' && url.hostname !== 'localhost',
      (route) => route.abort(),
    );
    page.on('response', (response) => void record(response));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  async function record(response: Response): Promise<void> {
    const url = response.url();
    try {
      if (url.startsWith(stack.codecUrl) && /\/decode\b/.test(url) && response.request().method() === 'POST') {
        decodeCalls.push({ status: response.status(), url });
        const body = (await response.json()) as { payloads?: { data?: string }[] };
        for (const p of body.payloads ?? []) decoded.push(Buffer.from(p.data ?? '', 'base64').toString('utf8'));
      } else if (url.startsWith(`${stack.uiUrl}/api/`) && url.includes('/workflows/onboard-bob')) {
        raw.push(...payloadsIn(await response.json()));
      }
    } catch {
      // a body the page no longer holds (navigation): nothing to record
    }
  }

  /** what the page shows, as a user reads it */
  const shown = () => page.locator('main').innerText();
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  /** the plaintext password is nowhere in the page, rendered or not */
  const noPasswordInPage = async () => expect(await page.content()).not.toContain(PASSWORD);

  it('finds the waiting onboarding by its search attribute, reads it decoded, and sees the CLI approval complete it', async () => {
    if (!executable) throw new Error(chromiumMissing());
    onTestFailed(async () => {
      await page?.screenshot({ path: join(SHOTS, 'failure.png'), fullPage: true }).catch(() => undefined);
      console.error(`ks-onboard dev output (tail):\n${stack?.output().slice(-4000)}`);
    });
    const started = Date.now();
    const timings: string[] = [];
    let last = started;
    const lap = (step: string) => {
      timings.push(`${step} ${Date.now() - last} ms`);
      last = Date.now();
    };
    const asOps = {
      ...stack.env,
      KUBESPHERE_USERNAME: EMULATOR_OPS.username,
      KUBESPHERE_PASSWORD: EMULATOR_OPS.password,
    };
    const asCarol = {
      ...stack.env,
      KUBESPHERE_USERNAME: DEV_APPROVER.username,
      KUBESPHERE_PASSWORD: DEV_APPROVER.password,
    };

    // 1. The README's second shell, as ops-admin: alice needs no approval (done), bob asks for workspace admin.
    const passwordFile = join(dir, 'bob.pw');
    writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    const alice = await runCli(['onboard', '--username', 'alice', '--email', 'alice@example.com', '--wait'], asOps);
    expect(alice.code, alice.output).toBe(0);
    const bob = await runCli(
      [
        'onboard',
        '--username',
        'bob',
        '--email',
        'bob@example.com',
        '--workspace',
        'team-a',
        '--workspace-role',
        'admin',
        '--password-file',
        passwordFile,
      ],
      asOps,
    );
    expect(bob.code, bob.output).toBe(0);
    expect(bob.output).toContain('needs approval');
    const runId = new RegExp(`Web UI: ${stack.uiUrl}/namespaces/default/workflows/onboard-bob/([0-9a-f-]+)/`).exec(
      bob.output,
    )?.[1];
    expect(runId, bob.output).toBeDefined();
    lap('cli');

    // 2. The Web UI, with dev's codec server configured; both onboardings listed, then only bob under the filter.
    await page.goto(`${stack.uiUrl}/namespaces/default/workflows`);
    await page.getByTestId('data-encoder-status-configured').waitFor({ state: 'visible' });
    const link = (id: string) => page.getByRole('link', { name: id, exact: true });
    await untilShown(page, () => link('onboard-alice').first());
    await untilShown(page, () => link('onboard-bob').first());
    await page.getByTestId('toggle-manual-query').click();
    await page.getByTestId('workflow-manual-search-input').fill(FILTER);
    await page.getByTestId('workflow-manual-search-button').click();
    await expect.poll(() => new URL(page.url()).searchParams.get('query'), { timeout: 10_000 }).toBe(FILTER);
    await expect.poll(() => link('onboard-alice').count(), { timeout: 20_000 }).toBe(0);
    await untilShown(page, () => link('onboard-bob').first());
    await shot('01-filtered-awaiting-approval');
    lap('list');

    // 3. The waiting workflow: its input decoded in the browser: the username, the password only sealed.
    await link('onboard-bob').first().click();
    await page.waitForURL(`${stack.uiUrl}/namespaces/default/workflows/onboard-bob/${runId}/**`); // the run the CLI linked
    await expect.poll(async () => inputPanel(await shown()), { timeout: 20_000 }).toContain('"username": "bob"');
    const input = inputPanel(await shown());
    expect(input).toContain('"email": "bob@example.com"');
    expect(input).toMatch(/"sealedPassword": "ks-sealed:v1:/);
    expect(await page.getByTestId('execution-status').innerText()).toMatch(/^running$/i);
    await noPasswordInPage();
    await shot('02-input-decoded');
    lap('input');

    // 4. Current details (User Metadata; the UI renders them in a frame) name the pending grant and how to decide it.
    await page
      .getByRole('tab', { name: 'User Metadata' })
      .or(page.getByRole('link', { name: 'User Metadata' }))
      .first()
      .click();
    const details = page.frameLocator('#user-metadata-current-details').locator('body');
    await expect
      .poll(async () => (await details.innerText()).trim(), { timeout: 20_000 })
      .toMatch(/^waiting for approval of workspace:admin on team-a until \d{4}-/);
    expect(await details.innerText()).toContain('ks-onboard approve onboard-bob');
    await shot('03-current-details');

    // The decoding went through the codec server, and nothing it or the UI's API gave the page holds the password.
    expect(decodeCalls.length).toBeGreaterThan(0);
    expect(decodeCalls.every((c) => c.status === 200)).toBe(true);
    expect(decoded.some((d) => d.includes('"username":"bob"') && d.includes('ks-sealed:v1:'))).toBe(true);
    expect(decoded.join('\n')).not.toContain(PASSWORD);
    // What Temporal holds (the UI's API, before the codec) is encrypted: no email, no password.
    expect(raw.filter((p) => p.encoding === 'binary/encrypted').length).toBeGreaterThan(0);
    expect(raw.map((p) => p.text).join('\n')).not.toContain('bob@example.com');
    expect(raw.map((p) => p.text).join('\n')).not.toContain(PASSWORD);
    lap('details');

    // 5. Approved the README's way: `ks-onboard approve` by carol, a second platform-admin, logged in as herself.
    const approved = await runCli(['approve', 'onboard-bob', '--reason', 'team lead'], asCarol);
    expect(approved.code, approved.output).toBe(0);
    expect(approved.output).toContain('onboard-bob: approved by carol');
    lap('approve');

    // 6. The UI: complete; the decide update's outcome names carol, whom the worker verified with KubeSphere
    //    (the update's input carries only a sealed proof, no name).
    await expect
      .poll(() => page.getByTestId('execution-status').innerText(), { timeout: 30_000 })
      .toMatch(/^completed$/i);
    await page
      .getByRole('tab', { name: /Event History/ })
      .or(page.getByRole('link', { name: /Event History/ }))
      .first()
      .click();
    const update = page
      .getByRole('row')
      .filter({ hasText: 'Workflow Execution Update Completed' })
      .filter({ hasText: 'grants' });
    await update.first().click();
    const by = page.locator('.cm-line').filter({ hasText: /^\s*"by": "carol",?$/ });
    await by.first().waitFor({ state: 'visible' });
    await by.first().evaluate((line) => line.scrollIntoView({ block: 'center', inline: 'nearest' }));
    const history = await shown();
    const from = history.indexOf('Accepted Request');
    expect(from, history).toBeGreaterThan(-1);
    const request = history.slice(from, history.indexOf('Outcome', from));
    expect(request).toMatch(/"proof": "ks-sealed:v2:/);
    expect(request).not.toContain('carol');
    await noPasswordInPage();
    await page.screenshot({ path: join(SHOTS, '04-approved-by-carol.png') });

    await page
      .getByRole('tab', { name: 'Timeline' })
      .or(page.getByRole('link', { name: 'Timeline' }))
      .first()
      .click();
    await expect.poll(shown, { timeout: 20_000 }).toMatch(/"lifecycle": "done"/);
    await shot('05-completed');
    lap('completed');
    console.log(
      `operator console browser test: ${Date.now() - started} ms (${timings.join(', ')}); screenshots in ${SHOTS}`,
    );
  }, 120_000);
});

/** Every Temporal payload (`{metadata: {encoding}, data}`, base64 in the JSON API) in a JSON answer, as text. */
function payloadsIn(json: unknown): { encoding: string; text: string }[] {
  const found: { encoding: string; text: string }[] = [];
  const b64 = (value: unknown) => (typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : '');
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      const o = value as Record<string, unknown>;
      const metadata = o.metadata as Record<string, unknown> | undefined;
      if (typeof o.data === 'string' && metadata && typeof metadata === 'object')
        found.push({ encoding: b64(metadata.encoding), text: b64(o.data) });
      Object.values(o).forEach(walk);
    }
  };
  walk(json);
  return found;
}

/** The Input panel's text on a workflow's page (between its "Input" and "Result" headings). */
function inputPanel(text: string): string {
  const start = text.indexOf('\nInput\n');
  const end = text.indexOf('\nResult\n', start);
  return start < 0 ? '' : text.slice(start, end < 0 ? undefined : end);
}

/**
 * Waits until what `locate` finds is visible. Visibility (the workflow list) lags a start by about a second and
 * the list does not poll: a wait of more than a few seconds presses the UI's Refresh.
 */
async function untilShown(page: Page, locate: () => ReturnType<Page['locator']>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await locate().waitFor({ state: 'visible', timeout: Math.min(2_000, Math.max(deadline - Date.now(), 1)) });
      return;
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      const refresh = page.getByRole('button', { name: 'Refresh', exact: true }).filter({ visible: true }).first();
      if (await refresh.isVisible()) await refresh.click();
    }
  }
}
