// Usage against the plan: this month's operations (GET /api/v1/account), and the sub-accounts'.
import { h, render, table } from '../dom.js';
import { api, all } from '../api.js';

function meter(used, limit, label) {
  if (limit === null || limit === undefined) return h('p', {}, `${used.toLocaleString()} operations (no monthly limit).`);
  const pct = limit > 0 ? Math.min(100, Math.round((used / limit) * 100)) : 100;
  return h('div', {},
    h('div', { class: 'meter' + (pct >= 80 ? ' warn' : ''), role: 'progressbar', 'aria-label': label, 'aria-valuemin': '0', 'aria-valuemax': String(limit), 'aria-valuenow': String(Math.min(used, limit)), 'aria-valuetext': `${used} of ${limit}` },
      h('span', { style: { width: pct + '%' } })),
    h('p', { class: 'small' }, `${used.toLocaleString()} of ${limit.toLocaleString()} operations (${pct} %).`));
}

export async function show(ctx) {
  const a = await api.get('/account');
  const trial = a.trial_ends_at ? (a.trial_active ? `Trial until ${new Date(a.trial_ends_at).toLocaleDateString()}: every feature, no limit yet.` : `Trial ended on ${new Date(a.trial_ends_at).toLocaleDateString()}.`) : null;
  let subs = [];
  if (!a.parent_account_id) subs = await all('/accounts').catch(() => []);
  render(ctx.main, h('h1', {}, 'Usage'),
    h('section', { class: 'card', 'aria-labelledby': 'plan-h' },
      h('h2', { id: 'plan-h' }, `This month (${a.usage.period})`),
      h('dl', { class: 'props' }, h('dt', {}, 'Account'), h('dd', {}, a.name), h('dt', {}, 'Plan'), h('dd', {}, a.plan)),
      trial ? h('p', { class: 'notice' }, trial) : null,
      meter(a.usage.operations, a.usage.limit, 'Operations this month'),
      h('p', { class: 'muted small' }, 'Creating a pass, a real update and a notification count one operation each; reads, voiding and links are free.')),
    subs.length ? h('section', { 'aria-labelledby': 'subs-h' }, h('h2', { id: 'subs-h' }, 'Sub-accounts'),
      table([
        { label: 'Sub-account', cell: (s) => s.name },
        { label: 'Operations', cell: (s) => String(s.usage.operations), num: true },
        { label: 'Allocation', cell: (s) => (s.allocation === null ? 'none' : String(s.allocation)), num: true },
      ], subs, { caption: 'Usage of the sub-accounts' })) : null);
}
