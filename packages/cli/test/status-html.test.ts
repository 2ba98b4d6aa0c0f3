import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configModule, createSandbox, runDefstate, type Sandbox } from './helpers.js';
import {
  artifactPath,
  type Browser,
  launchBrowser,
  openPage,
  refreshFourKinds,
} from './ui-browser.js';

// `defstate status --html`: the status page as one static file, opened from disk in Chromium.

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

let sandbox: Sandbox;
afterEach(async () => {
  await sandbox.cleanup();
});

const run = (args: string[]) => runDefstate(args, { cwd: sandbox.project, env: sandbox.env });

describe('defstate status --html', () => {
  it('writes one self-contained page that lists, filters and explains every key', async () => {
    sandbox = await createSandbox();
    const before = await refreshFourKinds(sandbox);
    const file = join(sandbox.project, 'status.html');
    const result = await run(['status', '--html', file, '--max-age', '7d']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Status page written to ${file}`);
    expect(result.stdout).toMatch(/^alpha\s+local/m);

    const html = await readFile(file, 'utf8');
    // Nothing to fetch: no linked script, stylesheet or image, and a policy that allows none.
    expect(html).not.toMatch(/\s(src|href)=/);
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none'/);

    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(pathToFileURL(file).href);
    const rows = page.locator('#rows tr');
    await expect.poll(() => rows.count()).toBe(4);
    expect(errors).toEqual([]);
    const health = (key: string) =>
      page.locator(`#rows tr[data-key="${key}"] td[data-label="Status"]`).textContent();
    expect(await health('alpha')).toBe('up to date');
    expect(await health('beta/β')).toBe('update available');
    expect(await health('gamma')).toBe('failed last refresh');
    expect(await health('delta')).toBe('no state');
    const betaVersion = before.keys.find((key) => key.key === 'beta/β')?.version;
    expect(
      await page
        .locator('#rows tr[data-key="beta/β"] td[data-label="Latest version"]')
        .textContent(),
    ).toBe(betaVersion);

    await page.getByLabel('Filter keys').fill('versioned');
    await expect.poll(() => rows.count()).toBe(2);
    await page.getByLabel('Filter keys').fill('');

    await page.getByRole('button', { name: 'gamma' }).click();
    const dialog = page.getByRole('dialog', { name: 'gamma' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('catalog unreachable');
    // The page carries each key's history: gamma's one version, as a table and a timeline.
    const gammaHistory = dialog.locator('#history table.history tbody tr');
    await expect.poll(() => gammaHistory.count()).toBe(1);
    expect(await gammaHistory.first().textContent()).toContain('latest');
    await page.keyboard.press('Escape');

    await page.getByRole('button', { name: 'beta/β' }).click();
    const beta = page.getByRole('dialog', { name: 'beta/β' });
    await beta.waitFor();
    const betaRows = beta.locator('#history table.history tbody tr');
    await expect.poll(() => betaRows.count()).toBe(2);
    // Newest first: the latest version, then the one the pin file names.
    expect(await betaRows.nth(0).textContent()).toContain('latest');
    expect(await betaRows.nth(1).textContent()).toContain('pinned');
    expect(await beta.locator('#timeline svg circle').count()).toBe(2);
    expect(await beta.locator('#timeline-caption').textContent()).toMatch(
      /^2 versions of beta\/β; last changed .+; steady at 2 B\.$/,
    );
    await page.screenshot({ path: await artifactPath('status-html.png') });
    await page.close();
  });

  it('calls old state stale with --max-age, in the page and the table, and keeps --json as it was', async () => {
    sandbox = await createSandbox();
    await refreshFourKinds(sandbox);
    const file = join(sandbox.project, 'status.html');
    const text = await run(['status', '--html', file, '--max-age', '1ms']);
    expect(text.stdout).toMatch(/^alpha\s.*\sstale$/m);
    const page = await browser.context.newPage();
    await page.goto(pathToFileURL(file).href);
    await expect
      .poll(() => page.locator('#rows tr[data-key="alpha"] td[data-label="Status"]').textContent())
      .toBe('stale');
    await page.close();

    const json = await run(['status', '--json', '--html', file]);
    expect(json.code).toBe(0);
    const document = JSON.parse(json.stdout);
    expect(Object.keys(document)).toEqual(['schemaVersion', 'keys', 'undeclared']);
    // Schema 1's fields come first, as they were; later fields are only added after them.
    expect(Object.keys(document.keys[0]).slice(0, 6)).toEqual([
      'key',
      'management',
      'version',
      'createdAt',
      'sha256',
      'size',
    ]);
  });

  it('still writes the page, with the error, when the store fails, and exits 1', async () => {
    sandbox = await createSandbox();
    const store = join(sandbox.home, 'store');
    await refreshFourKinds(sandbox, ['-s', `file://${store}`]);
    await writeFile(join(store, 'layout.json'), '[]');
    const file = join(sandbox.project, 'status.html');
    const result = await run(['status', '-s', `file://${store}`, '--html', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('does not match pointer layout 2');

    const page = await browser.context.newPage();
    await page.goto(pathToFileURL(file).href);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('does not match pointer layout 2');
    await expect.poll(() => page.locator('#rows tr').count()).toBe(4);
    await page.close();
  });

  it('shows the history of keys named like object properties', async () => {
    sandbox = await createSandbox();
    await sandbox.write(
      'defstate.config.mjs',
      configModule([
        ['hasOwnProperty', 'versioned', `await writeFile(statePath, 'P');`],
        ['toString', 'versioned', `await writeFile(statePath, 'T');`],
        ['constructor', 'local', `await writeFile(statePath, 'C');`],
      ]),
    );
    expect((await run(['refresh'])).code).toBe(0);
    const file = join(sandbox.project, 'status.html');
    const result = await run(['status', '--html', file]);
    expect(result.code, result.stderr).toBe(0);
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.setDefaultTimeout(5_000);
    await openPage(page, pathToFileURL(file).href);
    for (const key of ['hasOwnProperty', 'toString', 'constructor']) {
      await page.getByRole('button', { name: key, exact: true }).click();
      const dialog = page.getByRole('dialog', { name: key });
      await dialog.waitFor();
      const rows = dialog.locator('#history table.history tbody tr');
      await expect.poll(() => rows.count(), { timeout: 5_000 }).toBe(1);
      await page.keyboard.press('Escape');
    }
    expect(errors).toEqual([]);
    await page.close();
  });

  it('names the file it cannot write, exit 2', async () => {
    sandbox = await createSandbox();
    await refreshFourKinds(sandbox);
    const file = join(sandbox.project, 'no-such-folder', 'status.html');
    const result = await run(['status', '--html', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Cannot write the status page to ${file} (ENOENT)`);
  });
});
