// An agency's sub-accounts: create, allocation, delete, and acting as one (WalletPass-Account).
import { h, render, table, field, clearErrors, showFieldError, toast } from '../dom.js';
import { api, all, setActing } from '../api.js';

export async function show(ctx) {
  const main = ctx.main;
  if (ctx.session.account.parent_account_id) {
    render(main, h('h1', {}, 'Sub-accounts'), h('p', { class: 'muted' }, 'This account is itself a sub-account of an agency: it has none of its own.'));
    return;
  }
  const listBox = h('div');
  const own = { 'WalletPass-Account': '' }; // the agency's own view, whoever it is acting as
  async function load() {
    const subs = await all('/accounts').catch((e) => { throw e; });
    render(listBox, table([
      { label: 'Name', cell: (s) => s.name },
      { label: 'Email', cell: (s) => s.email },
      { label: 'This month', cell: (s) => `${s.usage.operations}${s.allocation === null ? '' : ' of ' + s.allocation}`, num: true },
      { label: 'Allocation', cell: (s) => {
        const inp = h('input', { type: 'number', min: '0', step: '1', value: s.allocation === null ? '' : String(s.allocation), 'aria-label': `Monthly allocation of ${s.name}`, placeholder: 'none' });
        inp.dataset.param = 'operations_per_month';
        const err = h('div', { class: 'error small', role: 'alert' });
        return h('form', { class: 'toolbar', on: { submit: async (e) => {
          e.preventDefault();
          err.textContent = '';
          try {
            await api.put(`/accounts/${s.id}/allocation`, { operations_per_month: inp.value === '' ? null : Number(inp.value) }, { headers: own });
            toast(`Allocation of ${s.name} saved.`);
          } catch (x) { err.textContent = x.message; inp.setAttribute('aria-invalid', 'true'); }
        } } }, inp, h('button', { type: 'submit', class: 'btn small' }, 'Save'), err);
      } },
      { label: 'Actions', cell: (s) => h('div', { class: 'toolbar' },
        h('button', { type: 'button', class: 'btn small', on: { click: async () => { setActing(s.id); await ctx.loadSubaccounts(); ctx.go('/passes'); } } }, `Act as ${s.name}`),
        h('button', { type: 'button', class: 'btn small danger', 'aria-label': `Delete ${s.name}`, on: { click: async () => {
          if (!confirm(`Delete the sub-account ${s.name}? Its keys stop working and its passes stop updating at once.`)) return;
          await api.del(`/accounts/${s.id}`, { headers: own });
          toast('Sub-account deleted.');
          await ctx.loadSubaccounts();
          load();
        } } }, 'Delete')) },
    ], subs, { caption: 'Sub-accounts', empty: 'No sub-accounts yet.' }));
  }
  const name = h('input', { type: 'text', name: 'name', maxlength: '200', required: true });
  const email = h('input', { type: 'email', name: 'email', required: true });
  const alloc = h('input', { type: 'number', name: 'allocation', min: '0', step: '1', placeholder: 'none' });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Create the sub-account');
  const form = h('form', { class: 'card', novalidate: true, on: { submit: async (e) => {
    e.preventDefault();
    clearErrors(form);
    submit.disabled = true;
    try {
      const b = { name: name.value.trim(), email: email.value.trim() };
      if (alloc.value !== '') b.allocation = Number(alloc.value);
      await api.post('/accounts', b, { headers: own });
      name.value = email.value = alloc.value = '';
      toast('Sub-account created.');
      await ctx.loadSubaccounts();
      load();
    } catch (err) {
      if (!showFieldError(form, err.param, err.message)) toast(err.message, 'error');
    } finally {
      submit.disabled = false;
    }
  } } }, h('h2', {}, 'New sub-account'),
  h('div', { class: 'row' }, field('Name', name, { param: 'name', required: true }), field('Email', email, { param: 'email', required: true }),
    field('Monthly allocation', alloc, { param: 'allocation', hint: 'Operations a month out of your plan; empty for none.' })), submit);
  render(main, h('h1', {}, 'Sub-accounts'),
    h('p', { class: 'muted' }, 'An agency runs passes for its clients, each a sub-account with its own passes, credentials, keys and webhooks. Act as one from here or from the account menu at the top.'),
    form, listBox);
  await load();
}
