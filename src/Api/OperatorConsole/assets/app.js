import { api, session, ApiError } from './api.js';
import { h, clear } from './dom.js';
import approvals from './pages/approvals.js';
import memories from './pages/memories.js';
import audit from './pages/audit.js';
import homeostasis from './pages/homeostasis.js';
import learning from './pages/learning.js';
import plugins from './pages/plugins.js';
import projections from './pages/projections.js';
import keys from './pages/keys.js';

// Each page names the scopes that let a key see it; the console offers no page the key could not use.
const pages = [approvals, memories, audit, homeostasis, learning, plugins, projections, keys];
const POLL_MS = 5000;
const $ = (id) => document.getElementById(id);
let current = null;
let currentPage = null;
let timer = null;

async function signIn(key) {
  session.key = key;
  try {
    session.whoami = await api('/whoami');
  } catch (e) {
    session.key = null;
    session.whoami = null;
    throw e;
  }
}

function signOut() {
  session.key = null;
  session.whoami = null;
  location.hash = '';
  show();
}

const visible = () => pages.filter((p) => p.scopes.some((s) => session.can(s)));

function show() {
  const signedIn = !!session.whoami;
  const allowed = signedIn ? visible() : [];
  const wanted = location.hash.replace(/^#\/?/, '');
  const page = allowed.find((p) => p.id === wanted) ?? allowed[0];
  // The page already shown (the nav link of the current page, or the hash written for it) stays as it is: mounting
  // it again would throw away what the operator typed (a review note) and the cards being read.
  if (current && page === currentPage) return;
  stop();
  $('sign-in').hidden = signedIn;
  $('nav').hidden = !signedIn;
  $('who').hidden = !signedIn;
  $('page').hidden = !signedIn;
  if (!signedIn) { $('key').focus(); return; }
  const w = session.whoami;
  $('identity').textContent = `${w.name} · tenant ${w.tenant} · ${w.scopes.join(' ')}`;
  clear($('nav'), allowed.map((p) => h('a', { href: `#/${p.id}`, class: p === page ? 'active' : '', 'data-page': p.id }, p.title)));
  if (!page) {
    clear($('page-body'), h('p', {}, 'This key has no scope any page of the console uses.'));
    $('page-title').textContent = '';
    return;
  }
  mount(page);
}

function mount(page) {
  $('page-title').textContent = page.title;
  $('page-error').textContent = '';
  $('updated').textContent = '';
  const body = clear($('page-body'));
  body.dataset.page = page.id;
  current = page.mount(body, { error: report, refreshed });
  currentPage = page;
  refresh();
  timer = setInterval(refresh, page.pollMs ?? POLL_MS);
}

function stop() {
  if (timer) clearInterval(timer);
  timer = null;
  current?.dispose?.();
  current = null;
  currentPage = null;
}

// One refresh of a page at a time: a poll that comes while the last refresh still waits for its answers is
// skipped (two at once could each add the same new card).
async function refresh() {
  const page = current;
  if (!page?.refresh || page.refreshing) return;
  page.refreshing = true;
  try {
    await page.refresh();
    if (page === current) refreshed();
  } catch (e) {
    if (page === current) report(e);
  } finally {
    page.refreshing = false;
  }
}

function refreshed() {
  $('page-error').textContent = '';
  $('updated').textContent = `Updated ${new Date().toLocaleTimeString()}`;
}

function report(e) {
  if (e instanceof ApiError && e.status === 401) { signOut(); $('sign-in-error').textContent = 'The key is no longer valid.'; return; }
  $('page-error').textContent = e instanceof ApiError ? `${e.status}: ${e.message}` : String(e.message ?? e);
}

$('sign-in-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('sign-in-error').textContent = '';
  try {
    await signIn($('key').value.trim());
    $('key').value = '';
    show();
  } catch (e) {
    $('sign-in-error').textContent = e instanceof ApiError && e.status === 401 ? 'Unknown or revoked key.' : String(e.message ?? e);
  }
});
$('sign-out').addEventListener('click', signOut);
window.addEventListener('hashchange', () => { if (session.whoami) show(); });

(async () => {
  if (session.key) {
    try { await signIn(session.key); } catch { /* expired: ask again */ }
  }
  show();
})();
