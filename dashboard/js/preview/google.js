// The Google Wallet preview: the card of the pass's Google type (generic, loyalty, offer,
// eventTicket) with its text modules, from the unified pass body as the google-jwt plugin maps it.
import { h } from '../dom.js';
import { barcodeArt, dateText, imageSrc, inkOn, text } from './common.js';

export const GOOGLE_TYPE = { loyalty: 'loyalty', coupon: 'offer', event: 'eventTicket', generic: 'generic' };

const GROUPS = ['header_fields', 'primary_fields', 'secondary_fields', 'auxiliary_fields', 'back_fields'];

function kv(label, value) {
  if (value === undefined || value === null || value === '') return null;
  return h('div', {}, h('div', { class: 'l' }, label), h('div', { class: 'v' }, text(value)));
}

export function googleCard(p) {
  const type = GOOGLE_TYPE[p.pass_type] || 'generic';
  const bg = p.background_color || '#4285f4';
  const ink = inkOn(bg);
  const img = p.images || {};
  const logo = imageSrc(img.logo) || imageSrc(img.icon);
  const org = text(p.organization_name || '');
  const primary = Array.isArray(p.primary_fields) && p.primary_fields[0] ? p.primary_fields[0] : null;
  let issuer = org, title = '', grid = [];
  if (type === 'generic') {
    issuer = text(p.logo_text || org);
    title = primary && text(primary.value) ? text(primary.value) : text(p.description || org);
    if (primary) grid.push(kv(text(primary.label || ''), null));
  } else if (type === 'loyalty') {
    title = text(p.program_name || p.logo_text || org);
    grid = [kv('Member', p.account_name), kv('Points', p.points), kv('Member ID', p.account_id)];
  } else if (type === 'offer') {
    title = text(p.offer_title || '');
    grid = [kv('Valid until', dateText(p.valid_until)), kv('Redeem', { online: 'Online', instore: 'In store', both: 'Online and in store' }[p.redemption_channel])];
  } else {
    title = text(p.event_name || '');
    grid = [kv('Date', dateText(p.event_start)), kv('Venue', p.venue_name), kv('Section', p.seat_section), kv('Row', p.seat_row), kv('Seat', p.seat_number)];
  }
  const modules = [];
  for (const g of GROUPS)
    for (const f of Array.isArray(p[g]) ? p[g] : [])
      if (f && typeof f === 'object') modules.push(h('div', { class: 'm' }, h('div', { class: 'l' }, text(f.label || f.key)), h('div', {}, text(f.value))));
  let code = null;
  if (p.barcode_message) {
    const art = barcodeArt(p.barcode_format, p.barcode_message);
    code = h('div', { class: 'g-code' + (art.wide ? ' wide' : '') }, art.node, h('div', { class: 'alt' }, text(p.barcode_alt_text || p.barcode_message)));
  }
  const hero = imageSrc(img.hero) || imageSrc(img.strip);
  return h('div', { class: 'pv-stage' },
    h('figure', { class: 'pv-google', 'aria-label': `Google Wallet (${type})`, dataset: { preview: 'google', type }, style: { background: bg, color: ink } },
      h('div', { class: 'g-top' },
        h('div', { class: 'g-issuer' }, logo ? h('img', { class: 'g-logo', src: logo, alt: '' }) : h('span', { class: 'g-logo', 'aria-hidden': 'true' }), h('span', {}, issuer)),
        h('div', { class: 'g-title' }, title),
        type === 'generic' && primary ? h('div', { class: 'small' }, text(primary.label || '')) : null,
        h('div', { class: 'g-grid' }, grid.filter(Boolean)),
        code),
      hero ? h('img', { class: 'g-hero', src: hero, alt: '' }) : null,
      modules.length ? h('div', { class: 'g-modules' }, modules) : null));
}
