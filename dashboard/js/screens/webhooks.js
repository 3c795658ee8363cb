// Webhooks: the endpoints (POST/GET /api/v1/webhooks); each endpoint's page has its deliveries.
import { h, render, table, when, copyable, field, clearErrors, showFieldError } from '../dom.js';
import { api, all } from '../api.js';

export const EVENT_TYPES = ['pass.created', 'pass.updated', 'pass.voided', 'pass.installed', 'pass.removed', 'batch.completed', 'account.created', 'account.deleted'];

export async function show(ctx) {
  const listBox = h('div');
  const secretBox = h('div', { 'aria-live': 'polite' });
  async function load() {
    const list = await all('/webhooks').catch((e) => { if (e.code === 'route_not_found') return null; throw e; });
    if (list === null) { render(listBox, h('p', { class: 'muted' }, 'Webhooks are served by the webhooks plugin, which this gateway does not load.')); form.hidden = true; return; }
    render(listBox, table([
      { label: 'URL', cell: (w) => h('a', { href: `#/webhooks/${w.id}`, class: 'mono' }, w.url) },
      { label: 'Events', cell: (w) => w.event_types.join(', ') },
      { label: 'State', cell: (w) => h('span', { class: 'badge ' + (w.enabled ? 'ok' : 'warn') }, w.enabled ? 'enabled' : 'disabled') },
      { label: 'Created', cell: (w) => when(w.created_at) },
    ], list, { caption: 'Webhook endpoints', empty: 'No endpoints yet.' }));
  }
  const url = h('input', { type: 'url', name: 'url', placeholder: 'https://example.com/hooks/wallet', required: true });
  const desc = h('input', { type: 'text', name: 'description', maxlength: '500' });
  const all_ = h('input', { type: 'checkbox', id: 'ev-all', checked: true });
  const boxes = EVENT_TYPES.map((t) => h('input', { type: 'checkbox', id: 'ev-' + t.replace('.', '-'), value: t }));
  const typeList = h('fieldset', { class: 'small' }, h('legend', {}, 'Events'),
    h('label', { class: 'check', for: 'ev-all' }, all_, 'All of them (*)'),
    boxes.map((b) => h('label', { class: 'check', for: b.id }, b, b.value)),
    h('div', { class: 'error', dataset: { errorFor: 'event_types' }, role: 'alert' }));
  const sync = () => { for (const b of boxes) b.disabled = all_.checked; };
  all_.addEventListener('change', sync);
  sync();
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Add the endpoint');
  const form = h('form', { class: 'card', novalidate: true, on: { submit: async (e) => {
    e.preventDefault();
    clearErrors(form);
    submit.disabled = true;
    try {
      const types = all_.checked ? ['*'] : boxes.filter((b) => b.checked).map((b) => b.value);
      const b = { url: url.value.trim(), event_types: types };
      if (desc.value.trim()) b.description = desc.value.trim();
      const w = await api.post('/webhooks', b);
      url.value = '';
      render(secretBox, h('section', { class: 'card', 'aria-labelledby': 'whsec-h' }, h('h2', { id: 'whsec-h', tabindex: '-1' }, 'Endpoint added: its signing secret'),
        h('p', { class: 'notice warn' }, 'Shown this once. Your receiver verifies every delivery with it (Standard Webhooks).'),
        copyable(w.secret, 'Signing secret'), h('p', {}, h('a', { href: `#/webhooks/${w.id}` }, 'Open the endpoint'))));
      secretBox.querySelector('h2').focus();
      load();
    } catch (err) {
      const param = err.param && err.param.startsWith('event_types') ? 'event_types' : err.param;
      if (!showFieldError(form, param, err.message)) render(secretBox, h('p', { class: 'notice error', role: 'alert' }, err.message));
    } finally {
      submit.disabled = false;
    }
  } } }, h('h2', {}, 'New endpoint'), field('URL', url, { param: 'url', hint: 'https:// (deliveries are signed and retried for about 35 minutes).' }),
  field('Description', desc, { param: 'description' }), typeList, submit);
  render(ctx.main, h('h1', {}, 'Webhooks'), form, secretBox, h('h2', {}, 'Endpoints'), listBox);
  await load();
}
