// One pass: its fields, links and QR, versions (its events), Apple devices with their last push,
// its Google Wallet object (the google-jwt plugin's GET /passes/:id/google), and what can be done
// to it: edit, notify, void.
import { h, render, table, when, copyable, toast, field, clearErrors, showFieldError } from '../dom.js';
import { api, portal } from '../api.js';
import { appleFront } from '../preview/apple.js';
import { googleCard } from '../preview/google.js';

const CORE = new Set(['id', 'object', 'serial_number', 'pass_type', 'share_url', 'status', 'version', 'template_id', 'created_at', 'updated_at', 'livemode']);

function valueText(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object') return JSON.stringify(v, null, 1);
  return String(v);
}

export async function show(ctx) {
  const id = ctx.params.id;
  let p = await api.get(`/passes/${encodeURIComponent(id)}`);
  const status = h('div', { role: 'alert' });

  const events = await api.get('/events', { pass_id: p.id, limit: 50 }).catch(() => ({ data: [] }));
  let devices = null, devicesNote = null;
  try {
    devices = (await api.get(`/passes/${p.id}/devices`)).data;
  } catch (e) {
    devicesNote = e.code === 'route_not_found' ? 'Apple devices are tracked by the apns plugin, which this gateway does not load.' : e.message;
  }

  // what the google-jwt plugin knows of the pass's Google Wallet object
  let google = null, googleNote = null;
  try {
    google = await api.get(`/passes/${p.id}/google`);
  } catch (e) {
    googleNote = e.code === 'route_not_found' ? 'Google Wallet objects are kept by the google-jwt plugin, which this gateway does not load.' : e.message;
  }

  const body = {};
  for (const [k, v] of Object.entries(p)) if (!CORE.has(k) && !/^(apple_|google_|pkpass_)/.test(k)) body[k] = v;
  body.pass_type = p.pass_type;

  const message = h('textarea', { name: 'message', rows: '2', maxlength: '4096' });
  message.dataset.param = 'message';
  const notifyBtn = h('button', { type: 'submit', class: 'btn' }, 'Send the message');
  const notifyForm = h('form', { on: { submit: async (e) => {
    e.preventDefault();
    clearErrors(notifyForm);
    notifyBtn.disabled = true;
    try {
      await api.post(`/passes/${p.id}/notify`, { message: message.value });
      message.value = '';
      toast('Message queued for every holder of the pass.');
    } catch (err) {
      if (!showFieldError(notifyForm, err.param, err.message)) render(status, h('p', { class: 'notice error' }, err.message));
    } finally {
      notifyBtn.disabled = false;
    }
  } } }, field('Lock-screen message', message, { param: 'message', hint: 'Shown on the phones that hold the pass (Apple: a change message; Google: a message, at most 3 a day).' }), notifyBtn);

  const voidBtn = h('button', { type: 'button', class: 'btn danger', on: { click: async () => {
    if (!confirm(`Void the pass ${p.serial_number}? Wallets then show it as no longer valid. This cannot be undone.`)) return;
    try {
      p = await api.del(`/passes/${p.id}`);
      toast('Pass voided.');
      show(ctx);
    } catch (err) { render(status, h('p', { class: 'notice error' }, err.message)); }
  } } }, 'Void the pass');

  const voided = p.status !== 'active';
  const expired = p.expiration_date && new Date(p.expiration_date) < new Date();
  const googleState = google ? google.state : voided ? 'INACTIVE (voided)' : expired ? 'EXPIRED' : 'ACTIVE';
  const upToDate = (g) => (g.up_to_date === true ? 'yes' : g.up_to_date === false ? 'no: a sync is on its way, or failed (the gateway log says why)' : 'unknown');
  const lastPush = devices && devices.map((d) => d.last_push).filter(Boolean).sort((a, b) => String(b.at).localeCompare(String(a.at)))[0];

  render(ctx.main,
    h('div', { class: 'toolbar' }, h('h1', {}, 'Pass ', h('span', { class: 'mono' }, p.serial_number)),
      h('span', { class: 'badge ' + (voided ? 'bad' : 'ok') }, p.status), h('span', { class: 'spacer' }),
      voided ? null : h('a', { class: 'btn primary', href: `#/designer/pass/${p.id}` }, 'Edit'), voided ? null : voidBtn),
    status,
    h('div', { class: 'designer' },
      h('div', {},
        h('section', { class: 'card', 'aria-labelledby': 'links-h' }, h('h2', { id: 'links-h' }, 'Links'),
          h('dl', { class: 'props' },
            h('dt', {}, 'Apple Wallet'), h('dd', {}, p.pkpass_url ? h('a', { href: p.pkpass_url, download: `${p.serial_number}.pkpass` }, 'Download the .pkpass') : 'No link: upload the Apple credentials.'),
            h('dt', {}, 'Google Wallet'), h('dd', {}, p.google_save_url ? h('a', { href: p.google_save_url, target: '_blank', rel: 'noopener noreferrer' }, 'Add to Google Wallet') : 'No link: upload the Google credentials.'),
            h('dt', {}, 'Share page'), h('dd', {}, copyable(p.share_url, 'Share link'))),
          h('figure', { class: 'qr' }, h('img', { src: portal.qrUrl(p.share_url), alt: 'QR code of the share link' }))),
        h('section', { class: 'card', 'aria-labelledby': 'state-h' }, h('h2', { id: 'state-h' }, 'State'),
          h('dl', { class: 'props' },
            h('dt', {}, 'Type'), h('dd', {}, `${p.pass_type} (Apple ${p.apple_pass_type_id || '—'}, Google ${p.google_pass_type || '—'})`),
            h('dt', {}, 'Version'), h('dd', {}, String(p.version)),
            h('dt', {}, 'Template'), h('dd', {}, p.template_id ? h('a', { href: `#/designer/template/${p.template_id}`, class: 'mono' }, p.template_id) : '—'),
            h('dt', {}, 'Created'), h('dd', {}, when(p.created_at)),
            h('dt', {}, 'Updated'), h('dd', {}, when(p.updated_at)),
            h('dt', {}, 'Google object'), h('dd', {}, p.google_save_url ? googleState : `${googleState}, not saved to Google yet (no credentials)`),
            h('dt', {}, 'Apple devices'), h('dd', {}, devices ? String(devices.length) : '—'),
            h('dt', {}, 'Last push'), h('dd', {}, lastPush ? `${when(lastPush.at)}: APNs ${lastPush.status}${lastPush.reason ? ' ' + lastPush.reason : ''}` : '—'))),
        h('section', { class: 'card', 'aria-labelledby': 'google-h' }, h('h2', { id: 'google-h' }, 'Google Wallet object'),
          googleNote ? h('p', { class: 'muted' }, googleNote) : h('dl', { class: 'props', dataset: { google: google.state } },
            h('dt', {}, 'State'), h('dd', {}, google.state),
            h('dt', {}, 'Object'), h('dd', { class: 'mono' }, google.object_id || 'none: upload the Google credentials'),
            h('dt', {}, 'Class'), h('dd', { class: 'mono' }, google.class_id || '—'),
            h('dt', {}, 'Written to Google'), h('dd', {}, google.inserted_at ? when(google.inserted_at) : 'not by this gateway yet (Google makes it when a holder saves the link)'),
            h('dt', {}, 'Last sync'), h('dd', {}, google.synced_at ? when(google.synced_at) : '—'),
            h('dt', {}, 'Up to date'), h('dd', {}, google.synced_at || google.inserted_at ? upToDate(google) : '—'),
            h('dt', {}, 'Notifications (24 h)'), h('dd', {}, `${google.notifications_24h} of ${google.notifications_limit}`))),
        voided ? null : h('section', { class: 'card', 'aria-labelledby': 'notify-h' }, h('h2', { id: 'notify-h' }, 'Notify the holders'), notifyForm),
        h('section', { 'aria-labelledby': 'fields-h' }, h('h2', { id: 'fields-h' }, 'Fields'),
          table([{ label: 'Field', cell: (r) => h('span', { class: 'mono nowrap' }, r[0]) }, { label: 'Value', cell: (r) => h('span', { class: 'mono' }, valueText(r[1])) }],
            Object.entries(body).filter(([k]) => k !== 'pass_type'), { caption: 'Fields' })),
        h('section', { 'aria-labelledby': 'versions-h' }, h('h2', { id: 'versions-h' }, 'Versions'),
          table([
            { label: 'When', cell: (e) => when(e.created_at) },
            { label: 'Event', cell: (e) => e.type },
            { label: 'Version', cell: (e) => (e.data && e.data.pass ? String(e.data.pass.version) : '—'), num: true },
            { label: 'Changed', cell: (e) => (e.data && Array.isArray(e.data.changed) ? e.data.changed.join(', ') : e.data && e.data.message ? `“${e.data.message}”` : '') },
          ], events.data, { caption: 'Versions', empty: 'No events recorded for this pass.' })),
        h('section', { 'aria-labelledby': 'devices-h' }, h('h2', { id: 'devices-h' }, 'Devices'),
          devicesNote ? h('p', { class: 'muted' }, devicesNote) : table([
            { label: 'Device', cell: (d) => h('span', { class: 'mono' }, d.device_library_identifier) },
            { label: 'Registered', cell: (d) => when(d.registered_at) },
            { label: 'Last push', cell: (d) => (d.last_push ? `${when(d.last_push.at)}: ${d.last_push.status}${d.last_push.reason ? ' ' + d.last_push.reason : ''}` : '—') },
          ], devices, { caption: 'Devices', empty: 'No Apple device holds this pass yet.' }))),
      h('div', { class: 'previews card' }, h('h2', {}, 'Preview'), appleFront(body), googleCard(body))));
}
