// Passes: the list with filters and search by serial number or barcode (GET /api/v1/passes).
import { h, render, table, when, field } from '../dom.js';
import { api } from '../api.js';

export async function show(ctx) {
  const q = ctx.query;
  const filters = { status: q.get('status') || '', pass_type: q.get('pass_type') || '', search: q.get('search') || '', by: q.get('by') || 'serial_number' };
  const listBox = h('div', { 'aria-live': 'polite' });
  const status = h('select', { name: 'status' }, [['', 'Any status'], ['active', 'Active'], ['voided', 'Voided']].map(([v, l]) => h('option', { value: v, selected: filters.status === v }, l)));
  const type = h('select', { name: 'pass_type' }, [['', 'Any type'], ['loyalty', 'Loyalty'], ['event', 'Event'], ['coupon', 'Coupon'], ['generic', 'Generic']].map(([v, l]) => h('option', { value: v, selected: filters.pass_type === v }, l)));
  const by = h('select', { name: 'by' }, [['serial_number', 'Serial number'], ['barcode_message', 'Barcode']].map(([v, l]) => h('option', { value: v, selected: filters.by === v }, l)));
  const search = h('input', { type: 'search', name: 'search', value: filters.search, placeholder: 'exact value' });
  let after = null;
  const pages = [];
  async function load(more = false) {
    const query = { limit: 20 };
    if (status.value) query.status = status.value;
    if (type.value) query.pass_type = type.value;
    if (search.value.trim()) query[by.value] = search.value.trim();
    if (more && after) query.starting_after = after;
    if (!more) pages.length = 0;
    const page = await api.get('/passes', query);
    pages.push(...page.data);
    after = page.data.length ? page.data[page.data.length - 1].id : null;
    render(listBox,
      table([
        { label: 'Serial number', cell: (p) => h('a', { href: `#/passes/${p.id}`, class: 'mono' }, p.serial_number) },
        { label: 'Organisation', cell: (p) => p.organization_name || '' },
        { label: 'Type', cell: (p) => p.pass_type },
        { label: 'Status', cell: (p) => h('span', { class: 'badge ' + (p.status === 'active' ? 'ok' : 'bad') }, p.status) },
        { label: 'Version', cell: (p) => String(p.version), num: true },
        { label: 'Updated', cell: (p) => when(p.updated_at) },
      ], pages, { caption: 'Passes', empty: search.value ? 'No pass matches.' : 'No passes yet: issue one in the designer.' }),
      page.has_more ? h('button', { type: 'button', class: 'btn', on: { click: () => load(true) } }, 'Load more') : null,
      h('p', { class: 'muted small' }, `${pages.length} shown.`));
  }
  const form = h('form', { class: 'card', role: 'search', on: { submit: (e) => { e.preventDefault(); load(); } } },
    h('div', { class: 'row' }, field('Status', status), field('Type', type), field('Search by', by), field('Search', search),
      h('div', { class: 'field' }, h('button', { type: 'submit', class: 'btn primary' }, 'Search'))));
  render(ctx.main, h('div', { class: 'toolbar' }, h('h1', {}, 'Passes'), h('span', { class: 'spacer' }), h('a', { class: 'btn primary', href: '#/designer' }, 'New pass')), form, listBox);
  await load();
}
