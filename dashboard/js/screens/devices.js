// Device logs: what Apple Wallet on the holders' phones reported about this account's passes
// (GET /api/v1/apple/logs, apns plugin).
import { h, render, table, when } from '../dom.js';
import { api } from '../api.js';

export async function show(ctx) {
  let page;
  try {
    page = await api.get('/apple/logs', { limit: 100 });
  } catch (e) {
    if (e.code !== 'route_not_found') throw e;
    render(ctx.main, h('h1', {}, 'Device logs'), h('p', { class: 'muted' }, 'Device logs come from the apns plugin, which this gateway does not load.'));
    return;
  }
  render(ctx.main, h('h1', {}, 'Device logs'),
    h('p', { class: 'muted' }, 'Lines Apple Wallet sent about this account\'s passes (registrations, failed downloads), newest first.'),
    table([{ label: 'When', cell: (l) => when(l.created_at) }, { label: 'Message', cell: (l) => h('span', { class: 'mono' }, l.message) }],
      page.data, { caption: 'Device logs', empty: 'No device has reported anything yet.' }),
    h('button', { type: 'button', class: 'btn', on: { click: () => show(ctx) } }, 'Refresh'));
}
