// The defstate status page. Plain browser JavaScript, no build step: `defstate ui` serves it and
// polls /api/status; `defstate status --html` inlines it beside the view it embeds. Every value
// from the view goes into the DOM as text, never as HTML.

const boot = JSON.parse(document.getElementById('defstate-boot').textContent);
const live = boot.mode === 'live';
const POLL_MS = boot.pollMs ?? 5000;

const HEALTH = {
  failed: { label: 'failed last refresh', rank: 0 },
  unknown: { label: 'unknown', rank: 1 },
  'no-state': { label: 'no state', rank: 2 },
  'update-available': { label: 'update available', rank: 3 },
  stale: { label: 'stale', rank: 4 },
  'up-to-date': { label: 'up to date', rank: 5 },
};

const COLUMNS = [
  { id: 'key', label: 'Key', value: (k) => k.key },
  { id: 'management', label: 'Type', value: (k) => k.management },
  { id: 'health', label: 'Status', value: (k) => HEALTH[k.health]?.rank ?? 9 },
  { id: 'version', label: 'Latest version', value: (k) => k.version ?? '' },
  { id: 'createdAt', label: 'Last updated', value: (k) => k.createdAt ?? '' },
  { id: 'size', label: 'Size', value: (k) => k.size ?? -1 },
  { id: 'sha256', label: 'SHA-256', value: (k) => k.sha256 ?? '' },
  { id: 'pinnedVersion', label: 'Pinned', value: (k) => k.pinnedVersion ?? '' },
];

const $ = (id) => document.getElementById(id);
const state = { view: boot.view ?? null, sort: { id: 'key', dir: 1 }, openKey: null, busy: false };
// The rows on screen by key, kept across renders so that a poll updates them in place and a
// focused button is never taken out from under the keyboard.
const rowsByKey = new Map();

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null) node.append(child);
  }
  return node;
}

function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return '—';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

function formatAge(iso, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

const formatTime = (iso) => `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;

function when(iso) {
  if (!iso) return '—';
  return el('time', { datetime: iso, title: iso }, `${formatTime(iso)} (${formatAge(iso)})`);
}

function healthBadge(health, reason) {
  const label = HEALTH[health]?.label ?? health;
  return el('span', { class: `health health-${health}`, title: reason }, label);
}

function matches(key, filter) {
  if (!filter) return true;
  const text = [key.key, key.management, HEALTH[key.health]?.label, key.version, key.description]
    .join(' ')
    .toLowerCase();
  return filter
    .toLowerCase()
    .split(/\s+/)
    .every((word) => text.includes(word));
}

function sorted(keys) {
  const column = COLUMNS.find((c) => c.id === state.sort.id) ?? COLUMNS[0];
  return [...keys].sort((a, b) => {
    const x = column.value(a);
    const y = column.value(b);
    const order = x < y ? -1 : x > y ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
    return order * state.sort.dir;
  });
}

// The headings are built once; sorting only moves `aria-sort` (which also draws the arrow), so
// the focused sort button stays where it is.
function buildHead() {
  $('head-row').replaceChildren(
    ...COLUMNS.map((column) =>
      el(
        'th',
        { scope: 'col', 'data-column': column.id },
        el(
          'button',
          {
            type: 'button',
            onclick: () => {
              const same = state.sort.id === column.id;
              state.sort = { id: column.id, dir: same ? -state.sort.dir : 1 };
              render();
            },
          },
          column.label,
        ),
      ),
    ),
  );
}

function updateHead() {
  for (const th of $('head-row').children) {
    if (th.dataset.column === state.sort.id) {
      th.setAttribute('aria-sort', state.sort.dir === 1 ? 'ascending' : 'descending');
    } else {
      th.removeAttribute('aria-sort');
    }
  }
}

function cells(key) {
  const cell = (label, ...content) => el('td', { 'data-label': label }, ...content);
  return [
    cell('Type', key.management),
    cell('Status', healthBadge(key.health, key.reason)),
    cell('Latest version', key.version ? el('span', { class: 'mono' }, key.version) : '—'),
    cell('Last updated', when(key.createdAt)),
    cell('Size', formatBytes(key.size)),
    cell(
      'SHA-256',
      key.sha256 ? el('span', { class: 'mono', title: key.sha256 }, key.sha256.slice(0, 12)) : '—',
    ),
    cell('Pinned', key.pinnedVersion ? el('span', { class: 'mono' }, key.pinnedVersion) : '—'),
  ];
}

/** The key's row, made once; its key cell (and button) stays, the other cells follow the view. */
function rowFor(key) {
  let tr = rowsByKey.get(key.key);
  if (!tr) {
    tr = el(
      'tr',
      { 'data-key': key.key },
      el(
        'td',
        { class: 'key', 'data-label': 'Key' },
        el(
          'button',
          { type: 'button', 'aria-haspopup': 'dialog', onclick: () => openDetails(key.key) },
          key.key,
        ),
      ),
    );
    rowsByKey.set(key.key, tr);
  }
  tr.dataset.health = key.health;
  const fresh = cells(key);
  const old = [...tr.children].slice(1);
  if (old.length !== fresh.length) {
    tr.replaceChildren(tr.firstElementChild, ...fresh);
  } else {
    // Only cells whose content changed are replaced, so a poll that changes nothing changes
    // nothing on screen either.
    fresh.forEach((cell, index) => {
      const current = old[index];
      if (!current.isEqualNode(cell)) current.replaceWith(cell);
    });
  }
  return tr;
}

/** The key's button in the table, if its row is shown. */
function rowButton(keyName) {
  const tr = rowsByKey.get(keyName);
  return tr?.isConnected ? tr.querySelector('button') : null;
}

function render() {
  const view = state.view;
  updateHead();
  if (!view) return;
  const filter = $('filter').value.trim();
  const shown = sorted(view.keys.filter((key) => matches(key, filter))).map(rowFor);
  const body = $('rows');
  const current = [...body.children];
  if (current.length !== shown.length || shown.some((tr, index) => current[index] !== tr)) {
    // Moving rows takes a focused button out of the page for a moment, and focus with it.
    const focused = document.activeElement?.closest?.('tr[data-key]')?.dataset.key;
    body.replaceChildren(...shown);
    if (focused) rowButton(focused)?.focus();
  }
  for (const name of rowsByKey.keys()) {
    if (!view.keys.some((key) => key.key === name)) rowsByKey.delete(name);
  }
  $('empty').hidden = shown.length > 0;
  $('empty').textContent = view.keys.length === 0 ? 'No keys are declared.' : 'No key matches.';
  $('count').textContent = filter ? `${shown.length} of ${view.keys.length} shown` : '';

  const attention = view.keys.filter((key) => key.health !== 'up-to-date').length;
  const parts = [
    `${view.keys.length} key${view.keys.length === 1 ? '' : 's'}`,
    attention ? `${attention} need${attention === 1 ? 's' : ''} attention` : 'all up to date',
    view.store ? `store ${view.store}` : null,
    view.pinnedAt ? `pinned ${formatTime(view.pinnedAt)}` : null,
    `read ${formatTime(view.generatedAt)}`,
  ];
  $('summary').textContent = parts.filter(Boolean).join(' · ');
  $('project').textContent = view.project;
  showError(view.error ? `${view.error.message} (${view.error.code})` : null);
  // The open details follow the view too; only the facts, which hold nothing focusable.
  const open = state.openKey && view.keys.find((key) => key.key === state.openKey);
  if (open) renderFacts(open);
}

function showError(message, prefix = 'Could not read all of the state.') {
  const box = $('error');
  const text = message ? `${prefix} ${message}` : '';
  // An alert is announced when it changes: leave the same message alone at each poll.
  if (box.textContent === text) return;
  box.hidden = !message;
  box.replaceChildren(...(message ? [el('strong', {}, prefix), ' ', message] : []));
}

async function api(path, body) {
  const init = body
    ? {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-defstate-token': boot.token },
        body: JSON.stringify(body),
      }
    : { headers: { accept: 'application/json' } };
  const response = await fetch(path, { ...init, cache: 'no-store', credentials: 'same-origin' });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(data.error?.message ?? `${response.status} ${response.statusText}`);
  }
  return data;
}

let pollTimer;
async function poll() {
  clearTimeout(pollTimer);
  try {
    state.view = await api('/api/status');
    render();
  } catch (error) {
    showError(`${error.message}. Retrying…`, 'Lost contact with `defstate ui`.');
  }
  if (!document.hidden) pollTimer = setTimeout(poll, POLL_MS);
}

function fact(term, ...value) {
  return [el('dt', {}, term), el('dd', {}, ...value)];
}

function renderFacts(key) {
  const last = key.lastRefresh;
  const facts = $('details-facts');
  const next = el(
    'dl',
    { id: 'details-facts' },
    ...fact('Status', healthBadge(key.health, key.reason), ' ', key.reason),
    ...(key.description ? fact('Description', key.description) : []),
    ...fact('Type', key.management),
    ...fact('Latest version', key.version ? el('code', {}, key.version) : '—'),
    ...fact('Last updated', when(key.createdAt)),
    ...fact(
      'Size',
      key.size === null
        ? '—'
        : key.size < 1024
          ? formatBytes(key.size)
          : `${formatBytes(key.size)} (${key.size} bytes)`,
    ),
    ...fact('SHA-256', key.sha256 ? el('code', {}, key.sha256) : '—'),
    ...fact('Pinned', key.pinnedVersion ? el('code', {}, key.pinnedVersion) : 'not pinned'),
    ...(last
      ? fact(
          'Last refresh',
          `${last.status} at ${formatTime(last.at)}`,
          last.error ? ` — ${last.error.message}` : '',
        )
      : []),
  );
  // Relative times aside, most polls change nothing: leave the text alone for screen readers.
  if (!facts.isEqualNode(next)) {
    facts.replaceChildren(...next.childNodes);
  }
}

function openDetails(keyName, { keepResult = false } = {}) {
  const key = state.view?.keys.find((k) => k.key === keyName);
  if (!key) return;
  state.openKey = keyName;
  $('details-title').textContent = key.key;
  renderFacts(key);
  const actions = $('details-actions');
  actions.replaceChildren();
  if (boot.writable) {
    actions.append(
      el(
        'button',
        {
          type: 'button',
          onclick: () =>
            act(
              `Refresh ${key.key}?`,
              `This runs the component's refresh now and stores its new state${key.management === 'versioned' ? ' as a new version' : ''}.`,
              '/api/refresh',
              { key: key.key },
            ),
        },
        'Refresh this key…',
      ),
    );
  }
  if (!keepResult) $('action-result').textContent = '';
  loadHistory(key);
  if (!$('details').open) $('details').showModal();
}

async function loadHistory(key) {
  const box = $('history');
  if (!live) {
    box.replaceChildren(
      el(
        'p',
        { class: 'muted' },
        'This static page holds no history; run ',
        el('code', {}, `defstate history ${key.key}`),
        ' or open the live page with ',
        el('code', {}, 'defstate ui'),
        '.',
      ),
    );
    return;
  }
  box.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
  try {
    const history = await api(`/api/history?key=${encodeURIComponent(key.key)}`);
    if (state.openKey !== key.key) return;
    if (history.entries.length === 0) {
      box.replaceChildren(el('p', { class: 'muted' }, 'No versions stored.'));
      return;
    }
    const head = ['Version', 'Created', 'Size', 'SHA-256', ''].map((title) =>
      el('th', { scope: 'col' }, title),
    );
    const rows = history.entries.map((entry) => {
      const flags = [
        entry.latest ? 'latest' : null,
        entry.pinned ? 'pinned' : null,
        entry.published ? null : 'never published',
      ].filter(Boolean);
      const canRollBack = boot.writable && key.management === 'versioned';
      const rollback =
        canRollBack && entry.published && !entry.latest
          ? el(
              'button',
              {
                type: 'button',
                class: 'danger',
                onclick: () =>
                  act(
                    `Roll back ${key.key}?`,
                    `The latest pointer of ${key.key} moves back to ${entry.version}. Deployments that load the latest state get this version; pinned ones keep theirs.`,
                    '/api/rollback',
                    { key: key.key, version: entry.version },
                  ),
              },
              'Roll back to this…',
            )
          : null;
      return el(
        'tr',
        { 'data-version': entry.version },
        el('td', { 'data-label': 'Version' }, el('code', {}, entry.version)),
        el('td', { 'data-label': 'Created' }, when(entry.createdAt)),
        el('td', { 'data-label': 'Size' }, formatBytes(entry.size)),
        el('td', { 'data-label': 'SHA-256', class: 'mono' }, entry.sha256?.slice(0, 12) ?? '—'),
        el('td', { 'data-label': 'Notes' }, flags.join(', '), rollback ? ' ' : '', rollback),
      );
    });
    box.replaceChildren(
      el(
        'table',
        {},
        el('caption', { class: 'visually-hidden' }, `Versions of ${key.key}, newest first`),
        el('thead', {}, el('tr', {}, ...head)),
        el('tbody', {}, ...rows),
      ),
    );
  } catch (error) {
    box.replaceChildren(el('p', { role: 'alert' }, `Could not list the history: ${error.message}`));
  }
}

/** Asks first, then POSTs; one write at a time. */
function act(title, text, path, body) {
  if (state.busy) return;
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  const dialog = $('confirm');
  dialog.returnValue = '';
  dialog.addEventListener(
    'close',
    async () => {
      if (dialog.returnValue !== 'ok') return;
      state.busy = true;
      const result = $('action-result');
      result.textContent = 'Working…';
      try {
        const outcome = await api(path, body);
        result.textContent = outcome.message;
      } catch (error) {
        result.textContent = `Failed: ${error.message}`;
      } finally {
        state.busy = false;
      }
      await poll();
      if (state.openKey) openDetails(state.openKey, { keepResult: true });
      // The button that was chosen may be gone (a rolled-back version is now the latest, and the
      // history is listed anew): the outcome is where the keyboard continues.
      result.focus();
    },
    { once: true },
  );
  dialog.showModal();
}

$('filter').addEventListener('input', render);
$('details').addEventListener('close', () => {
  const opener = state.openKey;
  state.openKey = null;
  // The browser returns focus to the button that opened the dialog, unless that button has left
  // the page meanwhile; then the key's current row, or else the filter, takes it.
  const back = rowButton(opener);
  if (back) back.focus();
  else if (!document.activeElement || document.activeElement === document.body) $('filter').focus();
});
if (boot.locked) {
  const note = $('mode-note');
  note.textContent =
    'Refresh and rollback are on, but only from the address `defstate ui` printed in its terminal (it ends in ?token=…). This page is read-only.';
  note.hidden = false;
}
buildHead();
if (live) {
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) poll();
  });
  // Relative times move on between polls too.
  setInterval(() => state.view && render(), 30_000);
  poll();
} else {
  render();
}
