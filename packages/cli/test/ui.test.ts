import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, runDefstate, type Sandbox } from './helpers.js';
import {
  ARTIFACTS,
  artifactPath,
  type Browser,
  launchBrowser,
  openPage,
  type RunningUi,
  refreshFourKinds,
  startUi,
} from './ui-browser.js';

// `defstate ui` end to end: the built CLI serves a refreshed project, headless Chromium reads it.

const rows = (page: Page) => page.locator('#rows tr');
const row = (page: Page, key: string) => page.locator(`#rows tr[data-key="${key}"]`);
const health = (page: Page, key: string) =>
  row(page, key).locator('td[data-label="Status"]').textContent();
const order = (page: Page) =>
  rows(page).evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-key')));

/** Where keyboard focus is: `th:<heading>`, `row:<key>`, `#<id>`, or the element's tag. */
const focusOf = (page: Page): Promise<string> =>
  // A string, evaluated in the page: this package's types know no DOM.
  page.evaluate(`(() => {
    const active = document.activeElement;
    if (active?.closest('th')) return 'th:' + active.textContent;
    const tr = active?.closest('tr[data-key]');
    if (tr) return 'row:' + tr.dataset.key;
    return active?.id ? '#' + active.id : (active?.tagName.toLowerCase() ?? 'none');
  })()`);

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe('defstate ui, read-only', () => {
  let sandbox: Sandbox;
  let ui: RunningUi;
  let status: Awaited<ReturnType<typeof refreshFourKinds>>;
  let page: Page;

  beforeAll(async () => {
    sandbox = await createSandbox();
    status = await refreshFourKinds(sandbox);
    ui = await startUi(sandbox);
  });
  afterAll(async () => {
    const ended = await ui?.stop();
    expect(ended?.code).toBe(0);
    await sandbox?.cleanup();
  });
  afterEach(async () => {
    await page?.close();
  });

  async function open() {
    page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await openPage(page, ui.url);
    await expect.poll(() => rows(page).count()).toBe(4);
    return errors;
  }

  it('lists every declared key with its version, status and pin, with no script errors', async () => {
    const errors = await open();
    const byKey = Object.fromEntries(status.keys.map((entry) => [entry.key, entry]));
    const beta = row(page, 'beta/β');
    expect(await beta.locator('td[data-label="Latest version"]').textContent()).toBe(
      byKey['beta/β']?.version,
    );
    expect(await beta.locator('td[data-label="Type"]').textContent()).toBe('versioned');
    const pinned = await beta.locator('td[data-label="Pinned"]').textContent();
    expect(pinned).toMatch(/^\d{8}T/);
    expect(pinned).not.toBe(byKey['beta/β']?.version);

    expect(await health(page, 'alpha')).toBe('up to date');
    expect(await health(page, 'beta/β')).toBe('update available');
    expect(await health(page, 'gamma')).toBe('failed last refresh');
    expect(await health(page, 'delta')).toBe('no state');

    const updated = row(page, 'alpha').locator('td[data-label="Last updated"] time');
    expect(await updated.textContent()).toMatch(/^\d+s ago$/);
    expect(await updated.getAttribute('title')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    expect(await row(page, 'alpha').locator('td[data-label="Pinned"]').textContent()).toBe(
      '= latest',
    );
    expect(await row(page, 'alpha').locator('td[data-label="Size"]').textContent()).toBe('1 B');
    expect(await page.locator('#summary').textContent()).toMatch(/^4 keys · 3 need attention/);
    expect(await page.locator('#error').isHidden()).toBe(true);
    expect(errors).toEqual([]);

    await page.setViewportSize({ width: 1100, height: 700 });
    await page.screenshot({ path: await artifactPath('status-page.png'), fullPage: true });
    // The screenshot folder stays out of git.
    const ignored = execFileSync('git', ['check-ignore', ARTIFACTS], { cwd: ARTIFACTS });
    expect(ignored.toString().trim()).not.toBe('');
  });

  it('offers no write action and no token without --allow-writes', async () => {
    await open();
    const boot = JSON.parse((await page.locator('#defstate-boot').textContent()) ?? '{}');
    expect(boot).toMatchObject({ mode: 'live', writable: false });
    expect(boot.token).toBeUndefined();
    await row(page, 'beta/β').getByRole('button', { name: 'beta/β' }).click();
    await expect.poll(() => page.locator('#history tbody tr').count()).toBe(2);
    expect(await page.getByRole('button', { name: /refresh this key|roll back/i }).count()).toBe(0);
  });

  it('opens a key’s details and history, by mouse and by keyboard', async () => {
    await open();
    await row(page, 'beta/β').getByRole('button', { name: 'beta/β' }).click();
    const dialog = page.getByRole('dialog', { name: 'beta/β' });
    await dialog.waitFor();
    expect(await dialog.locator('#details-facts').textContent()).toContain('The pin file names');
    const versions = dialog.locator('#history tbody tr');
    await expect.poll(() => versions.count()).toBe(2);
    const newest = status.keys.find((entry) => entry.key === 'beta/β')?.version;
    expect(await versions.first().getAttribute('data-version')).toBe(newest);
    expect(await versions.first().textContent()).toContain('latest');
    expect(await versions.nth(1).textContent()).toContain('pinned');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });

    await row(page, 'gamma').getByRole('button', { name: 'gamma' }).focus();
    await page.keyboard.press('Enter');
    const gamma = page.getByRole('dialog', { name: 'gamma' });
    await gamma.waitFor();
    expect(await gamma.textContent()).toContain('catalog unreachable');
  });

  it('filters the rows as one types, and sorts by a column', async () => {
    await open();
    const filter = page.getByLabel('Filter keys');
    await filter.fill('BETA');
    await expect.poll(() => rows(page).count()).toBe(1);
    expect(await rows(page).first().getAttribute('data-key')).toBe('beta/β');
    expect(await page.locator('#count').textContent()).toBe('1 of 4 shown');
    await filter.fill('no state');
    await expect.poll(() => rows(page).count()).toBe(1);
    expect(await rows(page).first().getAttribute('data-key')).toBe('delta');
    await filter.fill('nothing-like-this');
    await expect.poll(() => rows(page).count()).toBe(0);
    expect(await page.locator('#empty').textContent()).toBe('No key matches.');
    await filter.fill('');
    await expect.poll(() => rows(page).count()).toBe(4);

    // What needs attention comes first, until a heading says otherwise.
    expect(await order(page)).toEqual(['gamma', 'delta', 'beta/β', 'alpha']);
    expect(await page.locator('th[aria-sort]').textContent()).toContain('Status');
    await page.getByRole('button', { name: 'Key' }).click();
    expect(await order(page)).toEqual(['alpha', 'beta/β', 'delta', 'gamma']);
    expect(await page.locator('th[aria-sort]').textContent()).toContain('Key');
    await page.getByRole('button', { name: 'Status' }).click();
    expect(await order(page)).toEqual(['gamma', 'delta', 'beta/β', 'alpha']);
    await page.getByRole('button', { name: 'Status' }).click();
    expect(await order(page)).toEqual(['alpha', 'beta/β', 'delta', 'gamma']);
    expect(await page.locator('th[aria-sort]').getAttribute('aria-sort')).toBe('descending');
  });

  it('fits a phone screen (one card per key, nothing wider) and follows a dark system theme', async () => {
    page = await browser.context.newPage();
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(ui.url);
    await expect.poll(() => rows(page).count()).toBe(4);
    const width = await page.locator('html').evaluate((html) => html.scrollWidth);
    expect(width).toBeLessThanOrEqual(375);
    const display = await row(page, 'alpha').evaluate(
      (tr) => tr.ownerDocument.defaultView?.getComputedStyle(tr).display,
    );
    expect(display).toBe('grid');
    await page.screenshot({ path: await artifactPath('status-page-phone.png'), fullPage: true });
    // Dark when the system is dark.
    const background = () =>
      page
        .locator('body')
        .evaluate((body) => body.ownerDocument.defaultView?.getComputedStyle(body).backgroundColor);
    expect(await background()).toBe('rgb(255, 255, 255)');
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await background()).toBe('rgb(13, 17, 23)');
  });
});

describe('defstate ui, when the store fails', () => {
  let sandbox: Sandbox;
  let ui: RunningUi | undefined;
  afterEach(async () => {
    await ui?.stop();
    await sandbox.cleanup();
  });

  it('shows the store’s error as a message and still lists every key', async () => {
    sandbox = await createSandbox();
    const store = join(sandbox.home, 'store');
    await refreshFourKinds(sandbox, ['-s', `file://${store}`]);
    await writeFile(join(store, 'layout.json'), '{ not json');
    ui = await startUi(sandbox, ['-s', `file://${store}`]);

    const page = await browser.context.newPage();
    await page.goto(ui.url);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/layout manifest .*layout\.json is not valid JSON/);
    await expect.poll(() => rows(page).count()).toBe(4);
    expect(await health(page, 'alpha')).toBe('up to date');
    expect(await health(page, 'beta/β')).toBe('unknown');
    expect(await health(page, 'gamma')).toBe('unknown');
    await page.screenshot({ path: await artifactPath('status-page-store-error.png') });
    await page.close();
  });
});

describe('defstate ui, left open', () => {
  let sandbox: Sandbox;
  let ui: RunningUi | undefined;
  afterEach(async () => {
    await ui?.stop();
    await sandbox.cleanup();
  });
  const cli = (args: string[]) => runDefstate(args, { cwd: sandbox.project, env: sandbox.env });

  it('follows changes made from the CLI without a click, and keeps keyboard focus through them', async () => {
    sandbox = await createSandbox();
    await refreshFourKinds(sandbox);
    ui = await startUi(sandbox);
    const page = await browser.context.newPage();
    await openPage(page, ui.url);
    await expect.poll(() => rows(page).count()).toBe(4);

    // Sorting by keyboard leaves focus on the heading's button, however often it is pressed.
    await page.getByRole('button', { name: 'Status' }).focus();
    await page.keyboard.press('Enter');
    expect(await order(page)).toEqual(['alpha', 'beta/β', 'delta', 'gamma']);
    expect(await page.locator('th[aria-sort]').getAttribute('aria-sort')).toBe('descending');
    expect(await focusOf(page)).toBe('th:Status');
    await page.keyboard.press('Enter');
    expect(await order(page)).toEqual(['gamma', 'delta', 'beta/β', 'alpha']);
    expect(await focusOf(page)).toBe('th:Status');

    // A refresh from the terminal shows on the next poll while focus rests on the heading. The
    // pin file names delta's earlier state, which the refresh replaced in the tree.
    const delta = await cli(['refresh', '-k', 'delta']);
    expect(delta.code, delta.stderr).toBe(0);
    await expect.poll(() => health(page, 'delta'), { timeout: 12_000 }).toBe('pin mismatch');
    expect(await order(page)).toEqual(['gamma', 'delta', 'beta/β', 'alpha']);
    expect(await focusOf(page)).toBe('th:Status');

    // The open details follow a change too, and closing them returns to the key's row even
    // though that row has moved meanwhile.
    await row(page, 'gamma').getByRole('button', { name: 'gamma' }).focus();
    await page.keyboard.press('Enter');
    const facts = page.getByRole('dialog', { name: 'gamma' }).locator('#details-facts');
    await facts.waitFor();
    expect(await facts.textContent()).toContain('catalog unreachable');
    const gamma = await cli(['refresh', '-k', 'gamma']);
    expect(gamma.code, gamma.stderr).toBe(0);
    // The same content as the pinned version: its failure is history, and it is up to date.
    await expect
      .poll(() => facts.textContent(), { timeout: 12_000 })
      .toContain('Latest and pinned.');
    expect(await order(page)).toEqual(['delta', 'beta/β', 'alpha', 'gamma']);
    await page.keyboard.press('Escape');
    await facts.waitFor({ state: 'hidden' });
    expect(await focusOf(page)).toBe('row:gamma');
    await page.close();
  }, 60_000);

  it('shows a hostile key and description as text, live and in the static file', async () => {
    sandbox = await createSandbox();
    const key = 'a<img src=x onerror=alert(1)>';
    const description = '</script><script>alert(2)</script><img src=y onerror="alert(3)">';
    await sandbox.write(
      'defstate.config.mjs',
      `export default { components: [{ key: ${JSON.stringify(key)}, management: 'local', description: ${JSON.stringify(description)}, refresh: async ({ statePath }) => { const { writeFile } = await import('node:fs/promises'); await writeFile(statePath, 'x'); } }] };\n`,
    );
    const refreshed = await cli(['refresh']);
    expect(refreshed.code, refreshed.stderr).toBe(0);
    const file = join(sandbox.project, 'status.html');
    expect((await cli(['status', '--html', file])).code).toBe(0);
    ui = await startUi(sandbox);

    for (const address of [ui.url, pathToFileURL(file).href]) {
      const page = await browser.context.newPage();
      const dialogs: string[] = [];
      page.on('dialog', async (dialog) => {
        dialogs.push(dialog.message());
        await dialog.dismiss();
      });
      await openPage(page, address);
      await expect.poll(() => rows(page).count()).toBe(1);
      const button = rows(page).first().getByRole('button');
      expect(await button.textContent()).toBe(key);
      await page.getByLabel('Filter keys').fill('<img');
      await expect.poll(() => rows(page).count()).toBe(1);
      await button.click();
      const facts = page.locator('#details-facts');
      await facts.waitFor();
      expect(await facts.textContent()).toContain(description);
      expect(await page.locator('#details-title').textContent()).toBe(key);
      // Nothing the values hold became an element: no image, no script beyond the page's own two.
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.locator('script').count()).toBe(2);
      expect(dialogs).toEqual([]);
      await page.close();
    }
  });
});

describe('defstate ui --allow-writes', () => {
  let sandbox: Sandbox;
  let ui: RunningUi | undefined;
  afterEach(async () => {
    await ui?.stop();
    await sandbox.cleanup();
  });

  it('rolls back and refreshes a key, each only after a confirmation', async () => {
    sandbox = await createSandbox();
    const before = await refreshFourKinds(sandbox);
    const newest = before.keys.find((entry) => entry.key === 'beta/β')?.version;
    ui = await startUi(sandbox, ['--allow-writes']);
    const page = await browser.context.newPage();
    // The plain address reads, and says where writing is possible.
    await openPage(page, ui.url);
    await expect.poll(() => rows(page).count()).toBe(4);
    expect(await page.locator('#mode-note').textContent()).toContain('?token=');
    await row(page, 'delta').getByRole('button', { name: 'delta' }).click();
    await expect.poll(() => page.locator('#history').textContent()).toContain('No versions');
    expect(await page.getByRole('button', { name: /refresh this key/i }).count()).toBe(0);
    await page.keyboard.press('Escape');

    // The printed address lets this browser write, and leaves the secret out of the address bar.
    await page.goto(ui.address);
    expect(page.url()).toBe(ui.url);
    await expect.poll(() => rows(page).count()).toBe(4);
    expect(await page.locator('#mode-note').isHidden()).toBe(true);

    await row(page, 'beta/β').getByRole('button', { name: 'beta/β' }).click();
    const versions = page.locator('#history tbody tr');
    await expect.poll(() => versions.count()).toBe(2);
    const older = await versions.nth(1).getAttribute('data-version');
    const rollBack = versions.nth(1).getByRole('button', { name: 'Roll back to this…' });
    expect(await versions.first().getByRole('button').count()).toBe(0);

    // Cancel changes nothing.
    await rollBack.click();
    const confirm = page.getByRole('alertdialog', { name: 'Roll back beta/β?' });
    await confirm.waitFor();
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'hidden' });
    const latest = () =>
      row(page, 'beta/β').locator('td[data-label="Latest version"]').textContent();
    expect(await latest()).toBe(newest);

    await rollBack.click();
    await confirm.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => page.locator('#action-result').textContent()).toContain('rolled back');
    await expect.poll(latest).toBe(older);
    expect(await row(page, 'beta/β').locator('td[data-label="Status"]').textContent()).toBe(
      'up to date',
    );
    // The chosen button is gone with the history it was in; the keyboard continues at the outcome.
    await expect.poll(() => focusOf(page)).toBe('#action-result');

    await page.keyboard.press('Escape');
    expect(await focusOf(page)).toBe('row:beta/β');
    await row(page, 'delta').getByRole('button', { name: 'delta' }).click();
    await page.getByRole('button', { name: 'Refresh this key…' }).click();
    await page
      .getByRole('alertdialog', { name: 'Refresh delta?' })
      .getByRole('button', { name: 'Confirm' })
      .click();
    // delta has state again, in the tree, where the pin file names other bytes: loading fails
    // until it is pinned again, and the page says so.
    await expect
      .poll(() => row(page, 'delta').locator('td[data-label="Status"]').textContent())
      .toBe('pin mismatch');
    expect(
      await row(page, 'delta').locator('td[data-label="Latest version"]').textContent(),
    ).toMatch(/^\d{8}T/);
    expect(ui.output().stdout).toMatch(/changed beta\/β: rolled back from .* to /);
    expect(ui.output().stdout).toMatch(/changed delta: refreshed/);
    await page.close();
  });
});
