import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type PageHistory, STATIC_HISTORY_KEYS, STATIC_HISTORY_VERSIONS } from './key-history.js';
import { barHtml, escapeHtml, rowsHtml, summaryText, undeclaredHtml } from './render-html.js';
import { HEALTH_LABELS, HEALTH_ORDER, type StatusView } from './status-view.js';

/**
 * The status page's HTML. The live page (`defstate ui`) links the shipped assets and polls the
 * server; the static page (`defstate status --html`) inlines the same assets and the view, so it
 * is one file that opens anywhere, with a Content-Security-Policy that allows only its own code.
 */

// The assets are plain files, shipped as they are (package.json "files"); `src/ui` and
// `dist/ui` sit at the same depth, so one relative URL finds them from either.
const ASSETS_DIR = new URL('../../src/ui/assets/', import.meta.url);

export const ASSET_TYPES = {
  'ui.js': 'text/javascript; charset=utf-8',
  'ui.css': 'text/css; charset=utf-8',
} as const;
export type AssetName = keyof typeof ASSET_TYPES;

const cache = new Map<AssetName, Promise<string>>();

export function readAsset(name: AssetName): Promise<string> {
  let text = cache.get(name);
  if (!text) {
    text = readFile(new URL(name, ASSETS_DIR), 'utf8');
    cache.set(name, text);
  }
  return text;
}

export type PageOptions =
  | {
      mode: 'live';
      /** What the page shows at first paint; it polls for newer views after. */
      view: StatusView;
      writable: boolean;
      /** Writes are on, but this browser has not opened the printed address. */
      locked?: boolean;
      token?: string;
      pollMs?: number;
    }
  | {
      mode: 'static';
      view: StatusView;
      /** The keys' histories the page carries (`status --html` reads those of its first keys). */
      histories?: PageHistory[];
    };

export async function renderPage(options: PageOptions): Promise<string> {
  const view = options.view;
  const health = { order: HEALTH_ORDER, labels: HEALTH_LABELS };
  const boot =
    options.mode === 'live'
      ? {
          mode: 'live',
          writable: options.writable,
          ...(options.writable ? { token: options.token } : {}),
          ...(options.locked ? { locked: true } : {}),
          ...(options.pollMs ? { pollMs: options.pollMs } : {}),
          view,
          health,
        }
      : {
          mode: 'static',
          writable: false,
          view,
          health,
          ...(options.histories
            ? {
                histories: options.histories,
                historyLimits: { keys: STATIC_HISTORY_KEYS, versions: STATIC_HISTORY_VERSIONS },
              }
            : {}),
        };
  let head: string;
  let script: string;
  if (options.mode === 'live') {
    head = '<link rel="stylesheet" href="/assets/ui.css">';
    script = '<script type="module" src="/assets/ui.js"></script>';
  } else {
    const [css, js] = await Promise.all([readAsset('ui.css'), readAsset('ui.js')]);
    const policy = [
      "default-src 'none'",
      `style-src '${sha256(css)}'`,
      `script-src '${sha256(js)}'`,
      "base-uri 'none'",
      "form-action 'none'",
    ].join('; ');
    head = `<meta http-equiv="Content-Security-Policy" content="${policy}">\n<style>${css}</style>`;
    script = `<script type="module">${js}</script>`;
  }
  const title = `defstate status · ${escapeHtml(view.project)}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
${head}
</head>
<body>
<header>
<h1>State status</h1>
<p class="muted">Project <code id="project">${escapeHtml(view.project)}</code></p>
<p id="summary">${escapeHtml(summaryText(view))}</p>
<p id="mode-note" class="muted" hidden></p>
</header>
<main>
<div id="error" role="alert"${view.error ? '' : ' hidden'}>${view.error ? `<strong>Could not read all of the state.</strong> ${escapeHtml(`${view.error.message} (${view.error.code})`)}` : ''}</div>
<div id="bar" role="group" aria-label="Filter by status">${barHtml(view)}</div>
<div class="controls">
<label for="filter">Filter keys</label>
<input id="filter" type="search" placeholder="key, type, status or version" autocomplete="off" spellcheck="false">
<span id="count" class="muted" aria-live="polite"></span>
</div>
<table id="keys">
<caption class="visually-hidden">One row per declared key, those needing attention first. Choose a key for its details and history; choose a column heading to sort.</caption>
<thead><tr id="head-row">${HEADINGS.map(([id, label]) => `<th scope="col" data-column="${id}"${id === 'health' ? ' aria-sort="ascending"' : ''}><button type="button">${label}</button></th>`).join('')}</tr></thead>
<tbody id="rows">${rowsHtml(view)}</tbody>
</table>
<p id="empty" class="muted"${view.keys.length ? ' hidden' : ''}>${view.keys.length ? '' : 'No keys are declared.'}</p>
<section id="undeclared" aria-live="polite"${view.undeclared.length ? '' : ' hidden'}>${undeclaredHtml(view)}</section>
<noscript><p>Without JavaScript the page cannot sort, filter or open a key; <code>defstate status</code> prints the same in a terminal.</p></noscript>
</main>
<dialog id="details" aria-labelledby="details-title">
<form method="dialog"><button class="close" aria-label="Close">✕</button></form>
<h2 id="details-title"></h2>
<dl id="details-facts"></dl>
<div id="details-actions" class="actions"></div>
<p id="action-result" role="status" tabindex="-1"></p>
<h3>History</h3>
<div id="timeline"></div>
<div id="history"></div>
</dialog>
<dialog id="confirm" role="alertdialog" aria-labelledby="confirm-title" aria-describedby="confirm-text">
<form method="dialog">
<h2 id="confirm-title"></h2>
<p id="confirm-text"></p>
<div class="buttons"><button value="cancel" autofocus>Cancel</button> <button value="ok" class="danger">Confirm</button></div>
</form>
</dialog>
<script type="application/json" id="defstate-boot">${jsonForScript(boot)}</script>
${script}
</body>
</html>
`;
}

function sha256(text: string): string {
  return `sha256-${createHash('sha256').update(text).digest('base64')}`;
}

/** JSON inside a `<script>` element: `<` is escaped so no value can close the element. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** The table's columns, as ui.js knows them: its `COLUMNS` use the same ids and order. */
export const HEADINGS: ReadonlyArray<readonly [string, string]> = [
  ['key', 'Key'],
  ['management', 'Type'],
  ['health', 'Status'],
  ['version', 'Latest version'],
  ['createdAt', 'Last updated'],
  ['size', 'Size'],
  ['pinnedVersion', 'Pinned'],
];
