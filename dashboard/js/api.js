// The dashboard's calls: its own routes under /portal/api/ and the public API under
// /portal/api/v1/ with the session cookie (docs/dashboard.md). The CSRF token is kept in memory
// only and sent on every call that is not GET or HEAD.

export class ApiError extends Error {
  constructor(status, err) {
    super((err && err.message) || `HTTP ${status}`);
    this.status = status;
    this.code = err && err.code;
    this.param = err && err.param;
    this.type = err && err.type;
    this.requestId = err && err.request_id;
  }
}

const state = {
  csrf: null,
  acting: sessionStorage.getItem('wp.acting') || null, // a sub-account acted on (WalletPass-Account)
  test: sessionStorage.getItem('wp.test') === '1', // test mode (WalletPass-Mode: test)
  onSignedOut: () => {},
};

export function setCsrf(token) { state.csrf = token; }
export function onSignedOut(fn) { state.onSignedOut = fn; }
export function acting() { return state.acting; }
export function testMode() { return state.test; }
export function setTestMode(on) {
  state.test = !!on;
  if (on) sessionStorage.setItem('wp.test', '1');
  else sessionStorage.removeItem('wp.test');
}
export function setActing(id) {
  state.acting = id || null;
  if (id) sessionStorage.setItem('wp.acting', id);
  else sessionStorage.removeItem('wp.acting');
}

/** One call; resolves with the parsed body (or a Response for raw), rejects with ApiError. */
export async function call(method, url, body, { raw = false, quiet401 = false, headers: extra = {} } = {}) {
  const headers = { Accept: 'application/json', ...extra };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
  if (state.acting && url.startsWith('/portal/api/v1/') && !('WalletPass-Account' in headers))
    headers['WalletPass-Account'] = state.acting;
  if (headers['WalletPass-Account'] === '') delete headers['WalletPass-Account']; // the account itself
  if (state.test && url.startsWith('/portal/api/v1/')) headers['WalletPass-Mode'] = 'test';

  let res;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, { message: 'The gateway did not answer: check the connection and try again.' });
  }
  if (raw && res.ok) return res;
  let data = null;
  const text = await res.text();
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const err = new ApiError(res.status, data && data.error);
    if (res.status === 401 && !quiet401) state.onSignedOut(err);
    throw err;
  }
  return data;
}

function qs(query) {
  if (!query) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? '?' + s : '';
}

/** The public API with the session: api.get('/passes', { limit: 20 }). */
export const api = {
  get: (p, query, opts) => call('GET', '/portal/api/v1' + p + qs(query), undefined, opts),
  post: (p, body, opts) => call('POST', '/portal/api/v1' + p, body, opts),
  put: (p, body, opts) => call('PUT', '/portal/api/v1' + p, body, opts),
  del: (p, opts) => call('DELETE', '/portal/api/v1' + p, undefined, opts),
  url: (p, query) => '/portal/api/v1' + p + qs(query),
};

/** The portal's own routes. */
export const portal = {
  config: () => call('GET', '/portal/api/config', undefined, { quiet401: true }),
  session: () => call('GET', '/portal/api/session', undefined, { quiet401: true }),
  login: (email, password) => call('POST', '/portal/api/login', { email, password }, { quiet401: true }),
  signup: (body) => call('POST', '/portal/api/signup', body, { quiet401: true }),
  logout: () => call('POST', '/portal/api/logout', {}),
  password: (current_password, new_password) => call('PUT', '/portal/api/password', { current_password, new_password }),
  users: () => call('GET', '/portal/api/users'),
  invite: (email) => call('POST', '/portal/api/invites', email ? { email } : {}),
  qrUrl: (text) => '/portal/api/qr' + qs({ text }),
};

/** Every page of a list (at most `max` items). */
export async function all(p, query = {}, max = 500) {
  const out = [];
  let after;
  for (;;) {
    const page = await api.get(p, { ...query, limit: 100, starting_after: after });
    out.push(...page.data);
    if (!page.has_more || out.length >= max || !page.data.length) return out;
    after = page.data[page.data.length - 1].id;
  }
}
