// One webhook endpoint: settings, send a test, rotate the secret, and its delivery log with every
// attempt, each finished delivery retried on demand.
import { h, render, table, when, copyable, toast } from '../dom.js';
import { api } from '../api.js';

export async function show(ctx) {
  const id = ctx.params.id;
  const w = await api.get(`/webhooks/${encodeURIComponent(id)}`);
  const secretBox = h('div', { 'aria-live': 'polite' });
  const logBox = h('div');
  const filter = h('select', { id: 'dl-status' }, [['', 'Any status'], ['pending', 'Pending'], ['succeeded', 'Succeeded'], ['failed', 'Failed']].map(([v, l]) => h('option', { value: v }, l)));
  filter.addEventListener('change', () => load());

  function attempts(d) {
    if (!d.attempt_log || !d.attempt_log.length) return '—';
    return h('details', {}, h('summary', {}, `${d.attempts} of ${d.max_attempts}`),
      h('ol', { class: 'small' }, d.attempt_log.map((a) => h('li', {},
        `${when(a.started_at)}: `, a.status_code === null ? 'no answer' : `HTTP ${a.status_code}`,
        a.error ? ` (${a.error})` : '', a.latency_ms !== undefined ? `, ${a.latency_ms} ms` : '',
        a.response_excerpt ? h('div', { class: 'mono' }, a.response_excerpt) : null))));
  }
  async function load() {
    const page = await api.get(`/webhooks/${w.id}/deliveries`, { limit: 50, status: filter.value || undefined });
    render(logBox, table([
      { label: 'Event', cell: (d) => h('span', {}, d.event_type, h('div', { class: 'small muted mono' }, d.event_id)) },
      { label: 'Status', cell: (d) => h('span', { class: 'badge ' + ({ succeeded: 'ok', failed: 'bad', pending: 'warn' }[d.status] || '') }, d.status) },
      { label: 'Attempts', cell: attempts },
      { label: 'Last answer', cell: (d) => (d.last_status_code ? `HTTP ${d.last_status_code}` : d.last_error || '—') },
      { label: 'Next attempt', cell: (d) => when(d.next_attempt_at) },
      { label: 'Created', cell: (d) => when(d.created_at) },
      { label: 'Actions', cell: (d) => (d.status === 'pending' ? '' : h('button', { type: 'button', class: 'btn small', 'aria-label': `Retry the delivery of ${d.event_type}`, on: { click: async () => {
        await api.post(`/webhooks/${w.id}/deliveries/${d.id}/retry`);
        toast('Delivery queued again.');
        load();
      } } }, 'Retry')) },
    ], page.data, { caption: 'Deliveries', empty: 'No deliveries yet.' }));
  }
  const testBtn = h('button', { type: 'button', class: 'btn', on: { click: async () => {
    testBtn.disabled = true;
    try {
      const d = await api.post(`/webhooks/${w.id}/test`);
      toast(d.status === 'succeeded' ? 'Test delivered.' : `Test failed: ${d.last_error || d.last_status_code}`, d.status === 'succeeded' ? 'ok' : 'error');
      load();
    } catch (e) { toast(e.message, 'error'); } finally { testBtn.disabled = false; }
  } } }, 'Send a test');
  const rotateBtn = h('button', { type: 'button', class: 'btn', on: { click: async () => {
    if (!confirm('Rotate the signing secret? The old one keeps signing for a day beside the new one.')) return;
    const r = await api.post(`/webhooks/${w.id}/rotate_secret`);
    render(secretBox, h('div', { class: 'card' }, h('p', { class: 'notice warn' }, 'The new secret, shown this once:'), copyable(r.secret, 'Signing secret')));
  } } }, 'Rotate the secret');
  const toggleBtn = h('button', { type: 'button', class: 'btn', on: { click: async () => {
    await api.put(`/webhooks/${w.id}`, { enabled: !w.enabled });
    show(ctx);
  } } }, w.enabled ? 'Disable' : 'Enable');
  const delBtn = h('button', { type: 'button', class: 'btn danger', on: { click: async () => {
    if (!confirm('Delete this endpoint and its deliveries?')) return;
    await api.del(`/webhooks/${w.id}`);
    ctx.go('/webhooks');
  } } }, 'Delete');
  render(ctx.main,
    h('p', {}, h('a', { href: '#/webhooks' }, '← Webhooks')),
    h('h1', {}, 'Endpoint ', h('span', { class: 'mono' }, w.url)),
    h('div', { class: 'card' }, h('dl', { class: 'props' },
      h('dt', {}, 'Events'), h('dd', {}, w.event_types.join(', ')),
      h('dt', {}, 'State'), h('dd', {}, w.enabled ? 'enabled' : 'disabled'),
      h('dt', {}, 'Description'), h('dd', {}, w.description || '—'),
      h('dt', {}, 'Created'), h('dd', {}, when(w.created_at)))),
    h('div', { class: 'toolbar' }, testBtn, rotateBtn, toggleBtn, delBtn),
    secretBox,
    h('div', { class: 'toolbar' }, h('h2', {}, 'Deliveries'), h('span', { class: 'spacer' }), h('label', { for: 'dl-status', class: 'visually-hidden' }, 'Status'), filter,
      h('button', { type: 'button', class: 'btn small', on: { click: () => load() } }, 'Refresh')),
    logBox);
  await load();
}
