// API keys: create (the secret shown once, with copy), revoke, rotate (POST/GET/DELETE /api/v1/api_keys).
import { h, render, table, when, copyable, field, toast, clearErrors, showFieldError } from '../dom.js';
import { api, all } from '../api.js';

export async function show(ctx) {
  const listBox = h('div');
  const secretBox = h('div', { 'aria-live': 'polite' });
  function showSecret(k, verb) {
    render(secretBox, h('section', { class: 'card', 'aria-labelledby': 'secret-h' },
      h('h2', { id: 'secret-h', tabindex: '-1' }, `Key ${verb}: copy it now`),
      h('p', { class: 'notice warn' }, 'This is the only time the key is shown. Store it in your secrets manager.'),
      copyable(k.key, 'API key'),
      k.replaces ? h('p', { class: 'small muted' }, `It replaces ${k.replaces}, revoked now.`) : null));
    secretBox.querySelector('h2').focus();
  }
  async function load() {
    const keys = await all('/api_keys');
    render(listBox, table([
      { label: 'Name', cell: (k) => k.name || '—' },
      { label: 'Prefix', cell: (k) => h('span', { class: 'mono' }, k.prefix + '…') },
      { label: 'Mode', cell: (k) => h('span', { class: 'badge' + (k.livemode === false ? ' warn' : '') }, k.livemode === false ? 'test' : 'live') },
      { label: 'Created', cell: (k) => when(k.created_at) },
      { label: 'State', cell: (k) => (k.revoked_at ? h('span', { class: 'badge bad' }, 'revoked ' + when(k.revoked_at)) : h('span', { class: 'badge ok' }, 'active')) },
      { label: 'Actions', cell: (k) => (k.revoked_at ? '' : h('div', { class: 'toolbar' },
        h('button', { type: 'button', class: 'btn small', 'aria-label': `Rotate the key ${k.name || k.prefix}`, on: { click: async () => {
          if (!confirm(`Rotate ${k.prefix}…? The old key stops working at once.`)) return;
          const n = await api.post(`/api_keys/${k.id}/rotate`);
          showSecret(n, 'rotated');
          load();
        } } }, 'Rotate'),
        h('button', { type: 'button', class: 'btn small danger', 'aria-label': `Revoke the key ${k.name || k.prefix}`, on: { click: async () => {
          if (!confirm(`Revoke ${k.prefix}…? Requests with it fail from now on.`)) return;
          await api.del(`/api_keys/${k.id}`);
          toast('Key revoked.');
          load();
        } } }, 'Revoke'))) },
    ], keys, { caption: 'API keys', empty: 'No keys yet.' }));
  }
  const name = h('input', { type: 'text', name: 'name', maxlength: '100', placeholder: 'e.g. CRM sync' });
  const test = h('input', { type: 'checkbox', id: 'key-test' });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Create a key');
  const form = h('form', { class: 'card', on: { submit: async (e) => {
    e.preventDefault();
    clearErrors(form);
    submit.disabled = true;
    try {
      const b = {};
      if (name.value.trim()) b.name = name.value.trim();
      if (test.checked) b.livemode = false;
      const k = await api.post('/api_keys', b);
      name.value = '';
      showSecret(k, 'created');
      load();
    } catch (err) {
      if (!showFieldError(form, err.param, err.message)) toast(err.message, 'error');
    } finally {
      submit.disabled = false;
    }
  } } },
  h('h2', {}, 'New key'),
  h('div', { class: 'row' }, field('Name', name, { param: 'name', hint: 'To tell your keys apart.' }),
    h('div', { class: 'field' }, h('label', { class: 'check', for: 'key-test' }, test, 'Test mode (sk_test_: test passes, no pushes)'))),
  submit);
  render(ctx.main, h('h1', {}, 'API keys'),
    h('p', { class: 'muted' }, 'Keys authenticate calls to the API (Authorization: Bearer …). They see this account only.'),
    form, secretBox, h('h2', {}, 'Keys'), listBox);
  await load();
}
