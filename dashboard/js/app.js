// The dashboard's entry point: the session, the shell (top bar, navigation) and the hash router.
// Each screen is a module of screens/ exporting show(ctx); ctx.main is the page's <main>.
import { h, render } from './dom.js';
import { api, portal, setCsrf, onSignedOut, acting, setActing, testMode, setTestMode, ApiError } from './api.js';

const NAV = [
  ['/passes', 'Passes'],
  ['/designer', 'Pass designer'],
  ['/templates', 'Templates'],
  ['/credentials', 'Credentials'],
  ['/keys', 'API keys'],
  ['/webhooks', 'Webhooks'],
  ['/logs', 'Access log'],
  ['/usage', 'Usage'],
  ['/devices', 'Device logs'],
  ['/accounts', 'Sub-accounts'],
  ['/settings', 'Settings'],
];

// pattern, module, public (no session needed)
const ROUTES = [
  ['/login', 'login', true],
  ['/signup', 'signup', true],
  ['/passes', 'passes'],
  ['/passes/:id', 'pass'],
  ['/designer', 'designer'],
  ['/designer/template/:template', 'designer'],
  ['/designer/pass/:pass', 'designer'],
  ['/templates', 'templates'],
  ['/credentials', 'credentials'],
  ['/keys', 'keys'],
  ['/webhooks', 'webhooks'],
  ['/webhooks/:id', 'webhook'],
  ['/logs', 'logs'],
  ['/usage', 'usage'],
  ['/devices', 'devices'],
  ['/accounts', 'accounts'],
  ['/settings', 'settings'],
];

const app = document.getElementById('app');
const ctx = { config: null, session: null, subaccounts: [], main: null };

/** "#/passes/pass_1?x=1" -> { path, query } */
function location() {
  const raw = window.location.hash.replace(/^#/, '') || '/';
  const [path, q] = raw.split('?');
  return { path: path || '/', query: new URLSearchParams(q || '') };
}

function match(path) {
  for (const [pattern, mod, pub] of ROUTES) {
    const ps = pattern.split('/'), xs = path.split('/');
    if (ps.length !== xs.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < ps.length && ok; i++) {
      if (ps[i].startsWith(':')) params[ps[i].slice(1)] = decodeURIComponent(xs[i]);
      else ok = ps[i] === xs[i];
    }
    if (ok && xs.every((x, i) => i === 0 || x)) return { mod, params, pub: !!pub };
  }
  return null;
}

export function go(path) {
  if (window.location.hash === '#' + path) route();
  else window.location.hash = path;
}
ctx.go = go;

/** The session again (after sign-in, a password change): the CSRF token with it. */
export async function refreshSession() {
  ctx.session = await portal.session();
  setCsrf(ctx.session.csrf_token);
  return ctx.session;
}
ctx.refreshSession = refreshSession;
ctx.signedIn = async (session) => {
  ctx.session = session;
  setCsrf(session.csrf_token);
  setActing(null);
  await loadSubaccounts();
  const next = location().query.get('next');
  go(next && next.startsWith('/') ? next : '/passes');
};

async function loadSubaccounts() {
  ctx.subaccounts = [];
  if (!ctx.session || ctx.session.account.parent_account_id) return;
  try {
    const page = await api.get('/accounts', { limit: 100 }, { headers: { 'WalletPass-Account': '' } });
    ctx.subaccounts = page.data;
  } catch {
    ctx.subaccounts = [];
  }
  if (acting() && !ctx.subaccounts.some((s) => s.id === acting())) setActing(null);
}
ctx.loadSubaccounts = loadSubaccounts;

function shell(current) {
  const nav = h('nav', { class: 'sidenav', id: 'sidenav', 'aria-label': 'Main' },
    h('ul', {}, NAV.map(([p, label]) => h('li', {},
      h('a', { href: '#' + p, 'aria-current': current === p || current.startsWith(p + '/') ? 'page' : null }, label)))));
  const toggle = h('button', { type: 'button', class: 'btn small menu-toggle', 'aria-expanded': 'false', 'aria-controls': 'sidenav',
    on: { click: () => {
      const open = nav.classList.toggle('open');
      toggle.setAttribute('aria-expanded', String(open));
    } } }, 'Menu');
  nav.addEventListener('click', (e) => {
    if (e.target.closest('a')) { nav.classList.remove('open'); toggle.setAttribute('aria-expanded', 'false'); }
  });
  const s = ctx.session;
  let switcher = null;
  if (ctx.subaccounts.length) {
    const sel = h('select', { id: 'acting', on: { change: () => { setActing(sel.value || null); route(); } } },
      h('option', { value: '' }, s.account.name || s.account.id),
      ctx.subaccounts.map((a) => h('option', { value: a.id, selected: acting() === a.id }, a.name)));
    switcher = h('div', {}, h('label', { for: 'acting', class: 'visually-hidden' }, 'Account'), sel);
  }
  const testToggle = h('input', { type: 'checkbox', id: 'test-mode', checked: testMode(), on: { change: () => { setTestMode(testToggle.checked); route(); } } });
  const mode = h('label', { class: 'check mode', for: 'test-mode' }, testToggle, 'Test mode');
  const logout = h('button', { type: 'button', class: 'btn small', on: { click: async () => {
    try { await portal.logout(); } catch { /* signed out either way */ }
    setCsrf(null);
    setActing(null);
    setTestMode(false);
    ctx.session = null;
    go('/login');
  } } }, 'Sign out');
  const top = h('header', { class: 'topbar' },
    h('a', { class: 'brand', href: '#/passes' }, h('img', { src: 'img/icon.svg', alt: '' }), 'WalletPass'),
    toggle, switcher, mode,
    h('span', { class: 'who' }, h('span', { class: 'visually-hidden' }, 'Signed in as '), s.user.email), logout);
  const sub = acting() && ctx.subaccounts.find((a) => a.id === acting());
  const banner = sub ? h('div', { class: 'acting', role: 'status' }, 'Acting as the sub-account ', h('strong', {}, sub.name),
    h('button', { type: 'button', class: 'btn small', on: { click: () => { setActing(null); route(); } } }, 'Back to ', s.account.name || 'the agency')) : null;
  const testBanner = testMode() ? h('div', { class: 'acting test', role: 'status' },
    h('strong', {}, 'Test mode'), ': test passes, test keys and test webhooks only; nothing reaches a wallet or a phone.') : null;
  const main = h('main', { id: 'main', tabindex: '-1' });
  render(app, top, banner, testBanner, h('div', { class: 'layout' }, nav, main));
  return main;
}

const modules = {};
async function load(mod) {
  if (!modules[mod]) modules[mod] = await import(`./screens/${mod}.js`);
  return modules[mod];
}

let generation = 0;
async function route() {
  const gen = ++generation;
  const { path, query } = location();
  if (path === '/') return go(ctx.session ? '/passes' : '/login');
  const m = match(path);
  if (!m) return go('/passes');
  if (!m.pub && !ctx.session) return go('/login?next=' + encodeURIComponent(path));
  if (m.pub && ctx.session && m.mod === 'login') return go('/passes');
  let main;
  if (m.pub) {
    main = h('main', { id: 'main', tabindex: '-1', class: 'auth' });
    render(app, main);
  } else {
    main = shell(path);
  }
  ctx.main = main;
  ctx.params = m.params;
  ctx.query = query;
  render(main, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  try {
    const screen = await load(m.mod);
    if (gen !== generation) return;
    await screen.show(ctx);
  } catch (e) {
    if (gen !== generation) return;
    if (e instanceof ApiError && e.status === 401) return;
    render(main, h('h1', {}, e.status === 404 ? 'Not found' : 'Something went wrong'),
      h('p', { class: 'notice error', role: 'alert' }, e.message || String(e),
        e.requestId ? h('span', { class: 'small' }, ` (request ${e.requestId})`) : null));
  }
  if (gen !== generation) return;
  const h1 = main.querySelector('h1');
  document.title = (h1 ? h1.textContent + ' · ' : '') + 'WalletPass';
  // the new page's heading takes the focus, so that keyboard and screen-reader users start there
  if (h1) {
    h1.setAttribute('tabindex', '-1');
    h1.focus({ preventScroll: false });
  }
  main.dataset.ready = path; // the screen of this path is drawn (what the browser suite waits for)
}

onSignedOut(() => {
  ctx.session = null;
  setCsrf(null);
  const { path } = location();
  if (!['/login', '/signup'].includes(path)) go('/login?next=' + encodeURIComponent(path));
});

window.addEventListener('hashchange', route);

(async function boot() {
  render(app, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  try {
    ctx.config = await portal.config();
  } catch {
    ctx.config = { signup: 'off', password_min_length: 10 };
  }
  try {
    await refreshSession();
    await loadSubaccounts();
  } catch {
    ctx.session = null;
  }
  route();
})();
