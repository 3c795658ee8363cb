// The access log: filters, pages, and the CSV export (GET /api/v1/logs, format=csv).
import { h, render, table, when, field, toast } from '../dom.js';
import { api, call } from '../api.js';

export async function show(ctx) {
  const q = ctx.query;
  const inputs = {
    from: h('input', { type: 'datetime-local', name: 'from' }),
    to: h('input', { type: 'datetime-local', name: 'to' }),
    status: h('input', { type: 'text', name: 'status', placeholder: '404 or 4xx', maxlength: '3', value: q.get('status') || '' }),
    method: h('select', { name: 'method' }, ['', 'GET', 'POST', 'PUT', 'DELETE'].map((m) => h('option', { value: m }, m || 'Any method'))),
    path_prefix: h('input', { type: 'text', name: 'path_prefix', placeholder: '/api/v1/passes', value: q.get('path_prefix') || '' }),
    ip: h('input', { type: 'text', name: 'ip' }),
    kind: h('select', { name: 'kind' }, [['', 'Every kind'], ['api', 'API keys'], ['portal', 'Dashboard'], ['login', 'Sign-ins']].map(([v, l]) => h('option', { value: v }, l))),
  };
  const listBox = h('div', { 'aria-live': 'polite' });
  const status = h('div', { role: 'alert' });
  const rows = [];
  let after = null;
  function query() {
    const out = {};
    for (const [k, el] of Object.entries(inputs)) {
      const v = el.value.trim();
      if (!v) continue;
      out[k] = el.type === 'datetime-local' ? new Date(v).toISOString() : v;
    }
    return out;
  }
  async function load(more = false) {
    render(status);
    if (!more) { rows.length = 0; after = null; }
    let page;
    try {
      page = await api.get('/logs', { ...query(), limit: 50, starting_after: more ? after : undefined });
    } catch (e) {
      render(status, h('p', { class: 'notice error' }, e.message));
      return;
    }
    rows.push(...page.data);
    after = page.data.length ? page.data[page.data.length - 1].id : after;
    render(listBox, table([
      { label: 'Time', cell: (e) => when(e.time) },
      { label: 'Method', cell: (e) => e.method },
      { label: 'Path', cell: (e) => h('span', { class: 'mono' }, e.path) },
      { label: 'Status', cell: (e) => h('span', { class: 'badge ' + (e.status >= 500 ? 'bad' : e.status >= 400 ? 'warn' : 'ok') }, String(e.status)), num: true },
      { label: 'Latency', cell: (e) => `${Number(e.latency_ms).toFixed(1)} ms`, num: true },
      { label: 'Client', cell: (e) => e.ip },
      { label: 'Key', cell: (e) => (e.key_prefix ? h('span', { class: 'mono' }, e.key_prefix) : e.kind) },
      { label: 'Request', cell: (e) => h('span', { class: 'mono small' }, e.request_id) },
    ], rows, { caption: 'Access log', empty: 'No entries match.' }),
    page.has_more ? h('button', { type: 'button', class: 'btn', on: { click: () => load(true) } }, 'Load more') : null);
  }
  const exportBtn = h('button', { type: 'button', class: 'btn', on: { click: async () => {
    exportBtn.disabled = true;
    try {
      // fetched with the session (and the sub-account header), then handed to the browser as a file
      const res = await call('GET', api.url('/logs', { ...query(), format: 'csv' }), undefined, { raw: true, headers: { Accept: 'text/csv' } });
      const blob = await res.blob();
      const a = h('a', { href: URL.createObjectURL(blob), download: 'walletpass-logs.csv' });
      document.body.append(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
      toast('CSV exported.');
    } catch (e) {
      render(status, h('p', { class: 'notice error' }, e.message));
    } finally {
      exportBtn.disabled = false;
    }
  } } }, 'Export CSV');
  const form = h('form', { class: 'card', on: { submit: (e) => { e.preventDefault(); load(); } } },
    h('div', { class: 'row' }, field('From', inputs.from), field('To', inputs.to), field('Status', inputs.status, { param: 'status' }), field('Method', inputs.method)),
    h('div', { class: 'row' }, field('Path starts with', inputs.path_prefix, { param: 'path_prefix' }), field('Client address', inputs.ip, { param: 'ip' }), field('Kind', inputs.kind)),
    h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'btn primary' }, 'Filter'), exportBtn));
  render(ctx.main, h('h1', {}, 'Access log'),
    h('p', { class: 'muted' }, 'Every request to the API and the dashboard, and every sign-in, newest first. Entries appear within a second.'),
    form, status, listBox);
  await load();
}
