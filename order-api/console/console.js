/*
 * Operator console for the saga platform (issue 16). Plain ES2020, no build step,
 * no dependencies. order-api serves it at /console/; it calls the API on the same
 * origin (/api/...). Data is only ever put into the page as text nodes.
 *
 * Stable hooks for browser tests (values of the data-test attribute):
 *   page:     topbar, session, updated, refresh-now, pause (aria-pressed), whoami, logout,
 *             error-banner, error-message, error-dismiss, notice, notice-message
 *   login:    login, login-form, login-username, login-password, login-submit
 *   stats:    app, stats, stat-running, stat-compensating, stat-parked, stat-completed,
 *             stat-failed (each a button with data-count; a click filters the list),
 *             stat-oldest, stat-queue, workers, worker-count, worker-list,
 *             worker (data-id), worker-order (data-id: an order id it holds; opens it),
 *             reasons, reason-list, reason (data-reason; a click filters the list)
 *   list:     filters, filter-status, filter-username, filter-reason, filter-since,
 *             filter-until, apply-filters, reset-filters, list-summary, bulk-retry,
 *             workspace, saga-list, saga-table, saga-rows,
 *             saga-row (data-id, data-state), saga-open (data-id), empty,
 *             newest, newer, older
 *   detail:   saga-detail (data-id), detail-id, detail-close, saga-state (data-state),
 *             parked-reason, retry, cancel, saga-fields, saga-worker, timeline,
 *             timeline-entry (data-step, data-action; class "operator" for operator
 *             entries), timeline-admin
 *   dialog:   confirm-dialog, confirm-title, confirm-message, confirm, confirm-dismiss
 */
'use strict';

(() => {
  const REFRESH_MS = 5000;
  const PAGE_SIZE = 50;
  const STALE_AFTER_S = 15;        // "updated ... ago" turns amber past this
  const REQUEST_TIMEOUT_MS = 10000; // a hung request must not stall the refresh loop
  const OLD_UNFINISHED_S = 60;      // twice the default saga deadline: worth a look
  const STALE_HEARTBEAT_S = 10;     // the mediator's default heartbeat expiry
  const STATES = ['running', 'compensating', 'parked', 'completed', 'failed'];
  const FINISHED = new Set(['completed', 'failed']);
  const ALARM_STATES = new Set(['parked', 'compensating']);
  // Bulk retry only makes sense when the status filter can select parked sagas
  // (a parked saga is still "pending" to its customer).
  const MAY_HOLD_PARKED = new Set(['', 'parked', 'pending']);
  const FILTER_KEYS = ['status', 'username', 'reason', 'since', 'until'];
  const STORE = { access: 'console.access', refresh: 'console.refresh' };

  const $ = (hook, root = document) => root.querySelector(`[data-test="${hook}"]`);

  /** Builds an element. Strings among the children become text nodes, so data is never parsed as HTML. */
  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null) continue;
      if (key === 'dataset') Object.assign(node.dataset, value);
      else if (key === 'attrs') for (const [name, v] of Object.entries(value)) node.setAttribute(name, v);
      else node[key] = value;
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  const state = {
    filters: emptyFilters(),
    cursors: [null],   // keyset cursors of the pages walked; the last one is the page shown
    nextBefore: null,
    sagas: [],
    stats: null,
    openId: null,      // ids are kept as strings: they travel through data-id and the URL
    paused: false,
    lastUpdated: 0,
    lastAttempt: 0,
    inFlight: false,
    queued: false,
    listSeq: 0,        // answers to superseded requests are dropped, so a slow answer
    detailSeq: 0,      // for old filters never overwrites the new ones
  };

  // ---- tokens -------------------------------------------------------------

  const tokens = {
    get access() { return sessionStorage.getItem(STORE.access); },
    get refresh() { return sessionStorage.getItem(STORE.refresh); },
    set(pair) {
      sessionStorage.setItem(STORE.access, pair.access);
      sessionStorage.setItem(STORE.refresh, pair.refresh);
    },
    clear() {
      sessionStorage.removeItem(STORE.access);
      sessionStorage.removeItem(STORE.refresh);
    },
  };

  /** A JWT's payload, unverified: only used to show who is signed in and to spot a customer early. */
  function claims(token) {
    try {
      const b64 = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const bytes = Uint8Array.from(atob(b64.padEnd(Math.ceil(b64.length / 4) * 4, '=')), (c) => c.charCodeAt(0));
      return JSON.parse(new TextDecoder().decode(bytes)) || {};
    } catch {
      return {};
    }
  }

  // ---- HTTP ---------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }
  /** The session is over and the login form is already shown: callers just stop. */
  class SessionEnded extends Error {}

  /** One exchange, bounded in time. Answers {status, ok, data, retryAfter}; throws only when no answer came. */
  async function send(method, path, body, access) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (access) headers.Authorization = `Bearer ${access}`;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), REQUEST_TIMEOUT_MS);
    try {
      const res = await fetch(path, {
        method, headers, cache: 'no-store', credentials: 'same-origin', signal: abort.signal,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let data = null;
      try { data = text ? JSON.parse(text) : null; } catch { data = null; } // e.g. a proxy's HTML page
      return { status: res.status, ok: res.ok, data, retryAfter: res.headers.get('Retry-After') };
    } catch (err) {
      throw new ApiError(0, abort.signal.aborted
        ? `No answer from the server within ${REQUEST_TIMEOUT_MS / 1000} s (${method} ${path.split('?')[0]}).`
        : `Cannot reach the server: ${err.message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The error an answer carries: the API's {"error"} message, else the bare status. */
  function failure(res) {
    const data = res.data;
    let message = data && typeof data.error === 'string' ? data.error : `The server answered ${res.status}.`;
    if (data && typeof data.field === 'string') message += ` (${data.field})`;
    return new ApiError(res.status, message);
  }

  let renewing = null;
  /**
   * Trades the refresh token for a new pair. Single-flight: a refresh token is spent
   * on use, and presenting it twice would make the server revoke the whole login.
   * Answers false when the server refused it (the session is over).
   */
  function renewTokens() {
    if (!renewing) {
      renewing = (async () => {
        const refresh = tokens.refresh;
        if (!refresh) return false;
        const res = await send('POST', '/api/token/refresh/', { refresh });
        if (res.ok && res.data && res.data.access && res.data.refresh) { tokens.set(res.data); return true; }
        if ([400, 401, 403].includes(res.status)) return false;
        throw failure(res); // throttled or unavailable: the tokens may still be good
      })().finally(() => { renewing = null; });
    }
    return renewing;
  }

  /** An admin call: on a 401 renews the tokens once and repeats it. Answers the parsed body. */
  async function api(method, path, body) {
    const used = tokens.access;
    if (!used) throw endSession('Please sign in.');
    let res = await send(method, path, body, used);
    if (res.status === 401) {
      // Another call may have renewed the tokens while this one was on its way.
      const renewed = (tokens.access && tokens.access !== used) || (await renewTokens());
      if (!renewed) throw endSession('Your session has ended: please sign in again.');
      res = await send(method, path, body, tokens.access);
      if (res.status === 401) throw endSession('Your session has ended: please sign in again.');
    }
    if (res.status === 403) throw notAdmin();
    if (!res.ok) throw failure(res);
    return res.data;
  }

  // ---- formatting ---------------------------------------------------------

  /** "3 s", "4 min", "2 h 5 min", "3 d 4 h": coarse enough to read at a glance. */
  function formatAge(seconds) {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '–';
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min`;
    const h = Math.floor(m / 60);
    if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
    const d = Math.floor(h / 24);
    return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
  }

  function formatTime(iso) {
    const date = new Date(iso);
    if (!iso || Number.isNaN(date.getTime())) return iso ? String(iso) : '–';
    return date.toLocaleString(undefined, {
      month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    });
  }

  /** A <time> in local time, with the exact RFC 3339 value on hover. */
  const timeNode = (iso) => el('time', { dateTime: iso || '', title: iso || '' }, formatTime(iso));
  const formatAmount = (n) => (typeof n === 'number' ? n.toFixed(2) : String(n ?? '–'));
  const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const stateClass = (name) => `state-${STATES.includes(name) ? name : 'unknown'}`;
  const badge = (name) => el('span', { className: `badge ${stateClass(name)}` }, name || 'unknown');

  // ---- banners ------------------------------------------------------------

  let errorSource = null;
  /** Errors go to the banner, never alert(). A refresh error clears itself once a refresh succeeds. */
  function showError(message, source = 'action') {
    $('error-message').textContent = message;
    $('error-banner').hidden = false;
    errorSource = source;
  }
  function clearError(source) {
    if (source && errorSource !== source) return;
    $('error-banner').hidden = true;
    errorSource = null;
  }
  function report(err) {
    if (!(err instanceof SessionEnded)) showError(err.message);
  }

  let noticeTimer = 0;
  function showNotice(message) {
    $('notice-message').textContent = message;
    $('notice').hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { $('notice').hidden = true; }, 10000);
  }

  // ---- session ------------------------------------------------------------

  function showLogin() {
    const dialog = $('confirm-dialog');
    if (dialog.open) dialog.close(); // its action could no longer be sent
    $('app').hidden = true;
    $('session').hidden = true;
    $('login').hidden = false;
    const field = $('login-username').value ? $('login-password') : $('login-username');
    field.focus();
  }

  /** Forgets the tokens and shows the login form; filters and the open saga stay for the next sign-in. */
  function endSession(message) {
    tokens.clear();
    if (message) showError(message, 'session');
    showLogin();
    return new SessionEnded(message);
  }

  function notAdmin() {
    // Parallel calls all get the 403: only the first one has the tokens and says whose they were.
    if (!tokens.access) return new SessionEnded('not an administrator');
    const who = claims(tokens.access).sub;
    revoke();
    return endSession(`Signed in as ${who || 'this user'}, but this account is not an administrator.`);
  }

  /** Revokes the refresh token's family on the server. Best effort: the tokens are forgotten locally anyway. */
  async function revoke() {
    const { access, refresh } = tokens;
    if (!access || !refresh) return;
    try {
      const res = await send('POST', '/api/token/logout/', { refresh }, access);
      if (res.status === 401 && (await renewTokens())) {
        await send('POST', '/api/token/logout/', { refresh: tokens.refresh }, tokens.access);
      }
    } catch { /* nothing more to do */ }
  }

  async function login(event) {
    event.preventDefault();
    const username = $('login-username').value.trim();
    const password = $('login-password').value;
    if (!username || !password) { showError('Enter a username and a password.'); return; }
    const button = $('login-submit');
    button.disabled = true;
    try {
      const res = await send('POST', '/api/token/', { username, password });
      if (res.status === 429) {
        const wait = Number(res.retryAfter);
        const said = failure(res).message;
        const when = wait > 0 ? formatAge(wait) : 'a while';
        throw new ApiError(429, `${said}${/[.!?]$/.test(said) ? '' : '.'} Try again in ${when}.`);
      }
      if (!res.ok || !res.data || !res.data.access) throw failure(res);
      tokens.set(res.data);
      $('login-password').value = '';
      const role = claims(res.data.access).role;
      if (role && role !== 'admin') { notAdmin(); return; }
      clearError();
      enterApp();
    } catch (err) {
      report(err);
    } finally {
      button.disabled = false;
    }
  }

  async function logout() {
    await revoke();
    tokens.clear();
    clearError();
    showLogin();
    showNotice('Signed out.');
  }

  function enterApp() {
    const access = tokens.access;
    const who = claims(access);
    if (who.role && who.role !== 'admin') { notAdmin(); return; }
    $('whoami').textContent = who.sub ? `${who.sub}${who.role ? ` (${who.role})` : ''}` : '';
    $('login').hidden = true;
    $('session').hidden = false;
    $('app').hidden = false;
    if (state.openId) showDetailShell(state.openId);
    refreshAll();
  }

  // ---- filters and the URL ------------------------------------------------

  function emptyFilters() {
    return { status: '', username: '', reason: '', since: '', until: '' };
  }

  function readFilterForm() {
    const f = {};
    for (const key of FILTER_KEYS) f[key] = $(`filter-${key}`).value.trim();
    return f;
  }

  function fillFilterForm(f) {
    addReasonOption(f.reason);
    for (const key of FILTER_KEYS) $(`filter-${key}`).value = f[key];
  }

  /** Reasons the stats report beyond the fixed ones (e.g. "Service unavailable: billing") become choosable too. */
  function addReasonOption(reason) {
    const select = $('filter-reason');
    if (reason && ![...select.options].some((o) => o.value === reason)) select.append(el('option', {}, reason));
  }

  /** The API query for the applied filters. since/until are typed in local time and sent as RFC 3339 UTC. */
  function filterParams() {
    const params = new URLSearchParams();
    for (const key of FILTER_KEYS) {
      const value = state.filters[key];
      if (!value) continue;
      if (key === 'since' || key === 'until') params.set(key, new Date(value).toISOString());
      else params.set(key, value);
    }
    return params;
  }

  function describeFilters() {
    const shown = (k) => (k === 'since' || k === 'until' ? formatTime(state.filters[k]) : state.filters[k]);
    const parts = FILTER_KEYS.filter((k) => state.filters[k]).map((k) => `${k}: ${shown(k)}`);
    return parts.length ? `these filters (${parts.join('; ')})` : 'no filter (all sagas)';
  }

  /** Keeps filters and the open saga in the URL, so a reload or a shared link shows the same view. */
  function writeHash() {
    const params = new URLSearchParams();
    for (const key of FILTER_KEYS) if (state.filters[key]) params.set(key, state.filters[key]);
    if (state.openId) params.set('saga', state.openId);
    const hash = params.toString();
    history.replaceState(null, '', hash ? `#${hash}` : location.pathname + location.search);
  }

  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const f = emptyFilters();
    for (const key of FILTER_KEYS) f[key] = params.get(key) || '';
    fillFilterForm(f);
    state.filters = readFilterForm(); // what the form accepted (an unknown status reads back as "any")
    state.openId = params.get('saga') || null;
  }

  function applyFilters(event) {
    if (event) event.preventDefault();
    const f = readFilterForm();
    for (const key of ['since', 'until']) {
      if (f[key] && Number.isNaN(new Date(f[key]).getTime())) {
        showError(`"${key}" is not a valid time.`, 'filters');
        return;
      }
    }
    if (f.since && f.until && new Date(f.since) > new Date(f.until)) {
      showError('"Since" is later than "until": nothing could match.', 'filters');
      return;
    }
    clearError('filters');
    state.filters = f;
    state.cursors = [null];
    writeHash();
    loadList().catch(report);
  }

  /** A click on a state tile or a reason narrows the list to it. */
  function quickFilter(changes) {
    fillFilterForm({ ...emptyFilters(), ...changes });
    applyFilters();
  }

  // ---- stats and workers --------------------------------------------------

  async function loadStats() {
    const [stats, workers] = await Promise.allSettled([
      api('GET', '/api/admin/sagas/stats'),
      api('GET', '/api/admin/workers'),
    ]);
    if (stats.status === 'rejected') throw stats.reason;
    state.stats = stats.value;
    renderStats(stats.value);
    // The workers call adds heartbeat ages and the held order ids; the stats' list is the fallback.
    const detailed = workers.status === 'fulfilled' && workers.value && Array.isArray(workers.value.workers);
    renderWorkers(detailed ? workers.value.workers : stats.value.workers || []);
    if (workers.status === 'rejected') throw workers.reason;
  }

  function setTile(hook, text) {
    $(hook).querySelector('.tile-value').textContent = text;
  }

  function renderStats(stats) {
    const byState = stats.by_state || {};
    for (const name of STATES) {
      const count = Number(byState[name] ?? 0);
      const tile = $(`stat-${name}`);
      tile.dataset.count = String(count);
      tile.classList.toggle('alarm', ALARM_STATES.has(name) && count > 0);
      setTile(`stat-${name}`, count.toLocaleString());
    }
    const oldest = stats.oldest_unfinished_seconds;
    setTile('stat-oldest', oldest == null ? 'none' : formatAge(oldest));
    $('stat-oldest').classList.toggle('warn', typeof oldest === 'number' && oldest > OLD_UNFINISHED_S);
    setTile('stat-queue', Number(stats.queue_depth ?? 0).toLocaleString());

    const parked = Number(byState.parked ?? stats.parked ?? 0);
    document.title = parked > 0 ? `(${parked} parked) Saga console` : 'Saga console';

    const reasons = Object.entries(stats.by_reason || {}).sort((a, b) => b[1] - a[1]);
    reasons.forEach(([reason]) => addReasonOption(reason));
    const items = reasons.map(([reason, n]) => el('li', {},
      el('button', {
        type: 'button', className: 'reason-button', title: `List sagas failed with "${reason}"`,
        dataset: { test: 'reason', reason, focusKey: `reason:${reason}` },
      },
      el('span', { className: 'reason-text' }, reason),
      el('span', { className: 'count' }, Number(n).toLocaleString()))));
    withFocusKept($('reason-list'), () => $('reason-list').replaceChildren(
      ...(items.length ? items : [el('li', { className: 'muted' }, 'No failures.')])));
  }

  /** Workers come either from /api/admin/workers (in_flight: ids) or from the stats (in_flight: a count). */
  function renderWorkers(workers) {
    $('worker-count').textContent = `(${workers.length})`;
    const items = workers.map((w) => {
      const held = Array.isArray(w.in_flight) ? w.in_flight : [];
      const count = Array.isArray(w.in_flight) ? held.length : Number(w.in_flight ?? 0);
      const age = typeof w.age_seconds === 'number' ? w.age_seconds : (Date.now() - new Date(w.last_heartbeat)) / 1000;
      const shown = held.slice(0, 8).map((id) => el('button', {
        type: 'button', className: 'chip', title: `Open saga ${id}`,
        dataset: { test: 'worker-order', id: String(id), focusKey: `worker-order:${id}` },
      }, `#${id}`));
      const className = age > STALE_HEARTBEAT_S ? 'worker stale' : 'worker';
      return el('li', { className, dataset: { test: 'worker', id: String(w.id) } },
        el('span', { className: 'worker-id' }, w.id),
        el('span', { className: 'muted' }, ` heartbeat ${formatAge(age)} ago · ${plural(count, 'saga')} in flight`),
        shown.length
          ? el('span', { className: 'chips' }, shown, held.length > 8 ? ` +${held.length - 8} more` : '')
          : null);
    });
    withFocusKept($('worker-list'), () => $('worker-list').replaceChildren(
      ...(items.length ? items
        : [el('li', { className: 'warn-text' }, 'No live worker: nothing is taking orders off the queue.')])));
  }

  /** Re-renders a region without losing keyboard focus: the focused element's twin (same data-focus-key) gets it back. */
  function withFocusKept(container, render) {
    const active = document.activeElement;
    const key = active && container.contains(active) ? active.dataset.focusKey : undefined;
    render();
    if (!key) return;
    const twin = [...container.querySelectorAll('[data-focus-key]')].find((n) => n.dataset.focusKey === key);
    if (twin) twin.focus({ preventScroll: true });
  }

  // ---- the list -----------------------------------------------------------

  async function loadList() {
    const seq = ++state.listSeq;
    const params = filterParams();
    const before = state.cursors[state.cursors.length - 1];
    if (before !== null) params.set('before', before);
    params.set('limit', String(PAGE_SIZE));
    const page = await api('GET', `/api/admin/sagas?${params}`);
    if (seq === state.listSeq) renderList(page || {});
  }

  function sagaRow(saga) {
    const details = saga.details || {};
    const id = String(saga.id);
    const reason = saga.reason || (saga.parked_reason ? `parked: ${saga.parked_reason}` : '');
    return el('tr', { className: stateClass(saga.state), dataset: { test: 'saga-row', id, state: saga.state } },
      el('td', {}, el('button', {
        type: 'button', className: 'link', attrs: { 'aria-label': `Open saga ${id}` },
        dataset: { test: 'saga-open', id, focusKey: `open:${id}` },
      }, `#${id}`)),
      el('td', { className: 'username' }, saga.username),
      el('td', { className: 'num' }, formatAmount(saga.amount)),
      el('td', { className: 'num' }, details.item),
      el('td', {}, details.slot),
      el('td', {}, badge(saga.state)),
      el('td', { className: saga.reason ? 'reason' : 'reason muted', title: reason }, reason || '—'),
      el('td', { className: 'num' }, formatAge(saga.age_seconds)),
      el('td', { className: 'col-created' }, timeNode(saga.created_at)));
  }

  function renderList(page) {
    state.sagas = Array.isArray(page.sagas) ? page.sagas : [];
    state.nextBefore = page.next_before ?? null;
    const rows = state.sagas.map(sagaRow);
    if (!rows.length) {
      rows.push(el('tr', { dataset: { test: 'empty' } },
        el('td', { colSpan: 9, className: 'empty' }, 'No sagas match these filters.')));
    }
    withFocusKept($('saga-rows'), () => $('saga-rows').replaceChildren(...rows));
    markSelectedRow();

    const pageNo = state.cursors.length;
    const parkedShown = state.sagas.filter((s) => s.state === 'parked').length;
    $('list-summary').textContent = `${plural(state.sagas.length, 'saga')} shown`
      + (pageNo > 1 ? `, page ${pageNo}` : ', newest first') + (parkedShown ? `, ${parkedShown} parked` : '');
    $('newest').disabled = pageNo === 1;
    $('newer').disabled = pageNo === 1;
    $('older').disabled = state.nextBefore === null;
    const bulk = $('bulk-retry');
    bulk.disabled = !MAY_HOLD_PARKED.has(state.filters.status);
    bulk.title = bulk.disabled ? 'The state filter excludes parked sagas.' : '';
  }

  function markSelectedRow() {
    for (const row of $('saga-rows').querySelectorAll('tr[data-id]')) {
      const selected = row.dataset.id === state.openId;
      row.classList.toggle('selected', selected);
      if (selected) row.setAttribute('aria-current', 'true'); else row.removeAttribute('aria-current');
    }
  }

  /** Keyset paging: "older" walks on with next_before, "newer" steps back to the cursor before. */
  function page(direction) {
    if (direction === 'older' && state.nextBefore !== null) state.cursors.push(state.nextBefore);
    else if (direction === 'newer' && state.cursors.length > 1) state.cursors.pop();
    else if (direction === 'newest') state.cursors = [null];
    // Back to the top of the new page if the user paged from further down.
    loadList().then(() => {
      if ($('saga-list').getBoundingClientRect().top < 0) $('saga-list').scrollIntoView({ block: 'start' });
    }).catch(report);
  }

  // ---- the open saga ------------------------------------------------------

  /** Shows the panel for a saga at once, emptied, so the previous saga's data is never taken for this one's. */
  function showDetailShell(id) {
    const panel = $('saga-detail');
    panel.hidden = false;
    panel.dataset.id = id;
    $('workspace').classList.add('with-detail');
    $('detail-id').textContent = `#${id}`;
    $('saga-state').textContent = 'loading…';
    $('saga-state').className = 'badge state-unknown';
    $('parked-reason').hidden = true;
    $('retry').hidden = true;
    $('cancel').hidden = true;
    $('saga-fields').replaceChildren();
    $('timeline').replaceChildren();
  }

  async function openSaga(id) {
    state.openId = String(id);
    writeHash();
    markSelectedRow();
    showDetailShell(state.openId);
    const panel = $('saga-detail');
    panel.focus({ preventScroll: true });
    // Stacked under a narrow screen's list it would be out of sight.
    if (matchMedia('(max-width: 1000px)').matches) panel.scrollIntoView({ block: 'start' });
    try { await loadDetail(); } catch (err) { report(err); }
  }

  function closeDetail() {
    const id = state.openId;
    state.openId = null;
    writeHash();
    $('saga-detail').hidden = true;
    $('workspace').classList.remove('with-detail');
    markSelectedRow();
    const opener = [...document.querySelectorAll('[data-test="saga-open"]')].find((b) => b.dataset.id === id);
    if (opener) opener.focus();
  }

  async function loadDetail() {
    if (!state.openId) return;
    const id = state.openId;
    const seq = ++state.detailSeq;
    try {
      const view = await api('GET', `/api/admin/sagas/${encodeURIComponent(id)}`);
      if (seq === state.detailSeq && id === state.openId) renderDetail(view || {});
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404 || id !== state.openId) throw err;
      closeDetail();
      if (tokens.access) showError(`Saga ${id}: ${err.message}`); // else the session's own message stays
    }
  }

  function renderDetail(view) {
    const saga = view.saga || {};
    const details = saga.details || {};
    const stateBadge = $('saga-state');
    stateBadge.className = `badge ${stateClass(saga.state)}`;
    stateBadge.textContent = saga.state || 'unknown';
    stateBadge.dataset.state = saga.state || '';

    const note = $('parked-reason');
    note.hidden = !saga.parked_reason;
    note.textContent = saga.parked_reason
      ? `Parked ${saga.parked_at ? `since ${formatTime(saga.parked_at)}` : ''}: ${saga.parked_reason}` : '';

    // A button hidden under the keyboard focus would drop it on <body>: hand it to the panel.
    const focused = document.activeElement;
    $('retry').hidden = saga.state !== 'parked';
    $('cancel').hidden = !saga.state || FINISHED.has(saga.state);
    if (focused && focused.hidden) $('saga-detail').focus({ preventScroll: true });

    const success = saga.success === true ? ' (success)' : saga.success === false ? ' (no success)' : '';
    const fields = [
      ['Customer sees', `${saga.status ?? '–'}${success}`],
      ['Username', saga.username],
      ['Amount', formatAmount(saga.amount)],
      ['Item', details.item],
      ['Slot', details.slot],
      ['Reason', saga.reason || '—'],
      ['Attempts', saga.attempts],
      ['Age', formatAge(saga.age_seconds)],
      ['Created', timeNode(saga.created_at)],
      ['Updated', timeNode(saga.updated_at)],
      ['Trace', saga.trace_id || 'none (traces were off)'],
      ['Held by worker', el('span', { dataset: { test: 'saga-worker' } }, view.worker || 'none')],
    ];
    $('saga-fields').replaceChildren(...fields.flatMap(([label, value]) =>
      [el('dt', {}, label), el('dd', {}, value ?? '–')]));

    // Chronological; Array.prototype.sort is stable, so entries with the same time keep the server's order.
    const history = (Array.isArray(view.history) ? view.history : [])
      .slice().sort((a, b) => (Date.parse(a.at) || 0) - (Date.parse(b.at) || 0));
    $('timeline').replaceChildren(...(history.length ? history.map(timelineEntry)
      : [el('li', { className: 'muted' }, 'No step recorded yet.')]));
  }

  /** Colours an outcome by its words; the API's outcome vocabulary is open, so unknown words stay neutral. */
  function outcomeTone(outcome) {
    const text = String(outcome || '').toLowerCase();
    if (/refus|fail|error|timeout|timed out|unavailable|denied|park|stuck/.test(text)) return 'bad';
    if (/grant|\bok\b|done|succe|complet|releas|accept/.test(text)) return 'good';
    return 'neutral';
  }

  function timelineEntry(entry) {
    const operator = entry.step === 'operator';
    return el('li', {
      className: `outcome-${outcomeTone(entry.outcome)}${operator ? ' operator' : ''}`,
      dataset: { test: 'timeline-entry', step: entry.step ?? '', action: entry.action ?? '' },
    },
    el('div', { className: 'entry-head' },
      el('strong', {}, entry.step), ' ', el('span', {}, entry.action),
      el('span', { className: 'muted' }, ' → '), el('span', { className: 'outcome' }, entry.outcome)),
    el('div', { className: 'entry-meta muted' },
      timeNode(entry.at),
      entry.attempt != null ? ` · attempt ${entry.attempt}` : '',
      operator
        ? el('span', { className: 'admin', dataset: { test: 'timeline-admin' } }, ` · by ${entry.admin || 'an operator'}`)
        : null));
  }

  // ---- actions ------------------------------------------------------------

  /** Asks in an in-page modal dialog; true only on the confirm button. The refresh loop never touches it. */
  function confirmDialog({ title, message, confirmLabel, tone }) {
    const dialog = $('confirm-dialog');
    if (dialog.open) return Promise.resolve(false);
    $('confirm-title').textContent = title;
    $('confirm-message').textContent = message;
    $('confirm').textContent = confirmLabel;
    $('confirm').className = tone;
    dialog.returnValue = '';
    dialog.showModal();
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true });
    });
  }

  /** Sends an operator action, shows its outcome, then refreshes everything at once. */
  async function act(path, describe, buttons = []) {
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const result = await api('POST', path);
      clearError();
      showNotice(describe(result || {}));
    } catch (err) {
      report(err);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
    await refreshAll();
  }

  function openSagaSummary() {
    const saga = state.sagas.find((s) => String(s.id) === state.openId);
    return saga ? ` (${saga.username}, ${formatAmount(saga.amount)})` : '';
  }

  async function retrySaga() {
    const id = state.openId;
    const why = $('parked-reason').textContent;
    const ok = await confirmDialog({
      title: `Retry saga #${id}?`,
      message: `Saga #${id}${openSagaSummary()} goes back to the queue and a worker runs it again. ${why}`,
      confirmLabel: 'Retry saga', tone: 'warn',
    });
    if (ok) await act(`/api/admin/sagas/${encodeURIComponent(id)}/retry`,
      (r) => `Saga #${id} retried: it is now ${(r.saga && r.saga.state) || 'queued'}.`, [$('retry'), $('cancel')]);
  }

  async function cancelSaga() {
    const id = state.openId;
    const ok = await confirmDialog({
      title: `Cancel saga #${id}?`,
      message: `Saga #${id}${openSagaSummary()} stops: the steps already done are undone and the order fails `
        + 'with the reason "Cancelled by operator". This cannot be taken back.',
      confirmLabel: 'Cancel saga', tone: 'danger',
    });
    if (ok) await act(`/api/admin/sagas/${encodeURIComponent(id)}/cancel`,
      (r) => `Saga #${id} cancelled: it is now ${(r.saga && r.saga.state) || 'cancelled'}.`, [$('retry'), $('cancel')]);
  }

  async function bulkRetry() {
    const shown = state.sagas.filter((s) => s.state === 'parked').length;
    const total = state.stats && state.stats.by_state ? state.stats.by_state.parked : undefined;
    const ok = await confirmDialog({
      title: 'Retry all parked sagas matching these filters?',
      message: `This page shows ${plural(shown, 'parked saga')} (of ${state.sagas.length} listed). `
        + `Every parked saga matching ${describeFilters()} is retried, including any on other pages`
        + `${typeof total === 'number' ? `; ${total} are parked in all` : ''}.`,
      confirmLabel: 'Retry them', tone: 'warn',
    });
    const query = filterParams().toString();
    if (ok) await act(`/api/admin/sagas/retry${query ? `?${query}` : ''}`,
      (r) => `Retried ${plural(Number(r.retried ?? 0), 'parked saga')}.`, [$('bulk-retry')]);
  }

  // ---- refreshing ---------------------------------------------------------

  /** Reloads stats, the list page shown and the open saga. Never touches the form, the dialog or the scroll. */
  async function refreshAll() {
    if (!tokens.access) return;
    if (state.inFlight) { state.queued = true; return; } // run again when this one ends: it may predate an action
    state.inFlight = true;
    state.lastAttempt = Date.now();
    try {
      const results = await Promise.allSettled([loadStats(), loadList(), loadDetail()]);
      const errors = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
      if (errors.some((e) => e instanceof SessionEnded)) return;
      if (errors.length) showError(errors[0].message, 'refresh');
      else { state.lastUpdated = Date.now(); clearError('refresh'); }
    } finally {
      state.inFlight = false;
      renderClock();
      if (state.queued) { state.queued = false; refreshAll(); }
    }
  }

  function renderClock() {
    const node = $('updated');
    const age = state.lastUpdated ? (Date.now() - state.lastUpdated) / 1000 : null;
    let text = age === null ? 'not updated yet' : age < 1 ? 'updated just now' : `updated ${formatAge(age)} ago`;
    if (state.paused) text = `paused · ${text}`;
    node.textContent = text;
    node.classList.toggle('stale', age === null || age > STALE_AFTER_S);
  }

  /** Once a second: the clock moves, and every REFRESH_MS the data is reloaded unless paused or not in view. */
  function tick() {
    if ($('app').hidden) return;
    renderClock();
    if (!state.paused && !document.hidden && Date.now() - state.lastAttempt >= REFRESH_MS) refreshAll();
  }

  function togglePause() {
    state.paused = !state.paused;
    const button = $('pause');
    button.setAttribute('aria-pressed', String(state.paused));
    button.textContent = state.paused ? 'Resume' : 'Pause';
    if (!state.paused) refreshAll();
    renderClock();
  }

  // ---- wiring -------------------------------------------------------------

  function init() {
    readHash();
    $('login-form').addEventListener('submit', login);
    $('logout').addEventListener('click', logout);
    $('pause').addEventListener('click', togglePause);
    $('refresh-now').addEventListener('click', refreshAll);
    $('error-dismiss').addEventListener('click', () => clearError());
    $('filters').addEventListener('submit', applyFilters);
    $('reset-filters').addEventListener('click', () => quickFilter({}));
    $('bulk-retry').addEventListener('click', bulkRetry);
    $('retry').addEventListener('click', retrySaga);
    $('cancel').addEventListener('click', cancelSaga);
    $('detail-close').addEventListener('click', closeDetail);
    $('saga-detail').addEventListener('keydown', (e) => { if (e.key === 'Escape') closeDetail(); });
    for (const dir of ['newest', 'newer', 'older']) $(dir).addEventListener('click', () => page(dir));
    for (const name of STATES) $(`stat-${name}`).addEventListener('click', () => quickFilter({ status: name }));
    $('reason-list').addEventListener('click', (e) => {
      const button = e.target.closest('[data-reason]');
      if (button) quickFilter({ reason: button.dataset.reason });
    });
    $('worker-list').addEventListener('click', (e) => {
      const button = e.target.closest('[data-test="worker-order"]');
      if (button) openSaga(button.dataset.id);
    });
    // A click anywhere on a row opens it, unless the user was selecting text to copy.
    $('saga-rows').addEventListener('click', (e) => {
      const row = e.target.closest('tr[data-id]');
      if (!row || (!e.target.closest('button') && String(window.getSelection()))) return;
      openSaga(row.dataset.id);
    });
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && !state.paused && !$('app').hidden) refreshAll();
    });
    setInterval(tick, 1000);
    if (tokens.access) enterApp(); else showLogin();
  }

  init();
})();
