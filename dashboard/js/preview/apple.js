// Apple Wallet previews: the front in the style of the pass's type (storeCard, coupon, eventTicket,
// generic) and the back, from the unified pass body as the apple-signer plugin maps it.
import { h } from '../dom.js';
import { appleGroups, barcodeArt, fieldBox, imageSrc, text } from './common.js';

export const APPLE_STYLE = { loyalty: 'storeCard', coupon: 'coupon', event: 'eventTicket', generic: 'generic' };

function colours(p) {
  const bg = p.background_color || '#ffffff';
  const fg = p.foreground_color || '#111111';
  return { bg, fg, label: p.label_color || fg };
}

function barcode(p) {
  if (!p.barcode_message) return null;
  const art = barcodeArt(p.barcode_format, p.barcode_message);
  return h('div', { class: 'pv-code' + (art.wide ? ' wide' : '') }, art.node,
    p.barcode_alt_text ? h('div', { class: 'alt' }, text(p.barcode_alt_text)) : null);
}

export function appleFront(p) {
  const style = APPLE_STYLE[p.pass_type] || 'generic';
  const c = colours(p);
  const g = appleGroups(p);
  const img = p.images || {};
  const logo = imageSrc(img.logo);
  const head = h('div', { class: 'pv-head' },
    logo ? h('img', { class: 'pv-logo', src: logo, alt: '' }) : h('div', { class: 'pv-logo-ph', 'aria-hidden': 'true' }),
    h('div', { class: 'pv-logotext' }, text(p.logo_text || '')),
    h('div', { class: 'pv-hfields' }, g.header.map((f) => fieldBox(f, { labelColor: c.label }))));
  const row = (fields) => (fields.length ? h('div', { class: 'pv-row' }, fields.map((f) => fieldBox(f, { labelColor: c.label }))) : null);
  let body;
  if (style === 'storeCard' || style === 'coupon') {
    const strip = imageSrc(img.strip);
    body = [
      h('div', { class: 'pv-strip' + (strip ? '' : ' none'), style: strip ? { 'background-image': `url("${strip.replace(/"/g, '%22')}")` } : null },
        g.primary.map((f) => fieldBox(f, { labelColor: c.label, cls: 'pv-primary' }))),
      row([...g.secondary, ...g.auxiliary]),
    ];
  } else {
    const thumb = imageSrc(img.thumbnail);
    body = [
      h('div', { class: 'pv-primary-row' }, g.primary.map((f) => fieldBox(f, { labelColor: c.label, cls: 'pv-primary' })),
        thumb ? h('img', { class: 'pv-thumb', src: thumb, alt: '' }) : null),
      row(g.secondary),
      row(g.auxiliary),
    ];
  }
  return h('div', { class: 'pv-stage' },
    h('figure', { class: `pv-apple ${style}`, style: { background: c.bg, color: c.fg }, 'aria-label': `Apple Wallet, front (${style})`, dataset: { preview: 'apple-front', style } },
      head, body, barcode(p)));
}

export function appleBack(p) {
  const g = appleGroups(p);
  const items = g.back.map((f) => h('div', { class: 'item' }, h('div', { class: 'l' }, text(f.label || f.key)), h('div', { class: 'v' }, text(f.value))));
  return h('div', { class: 'pv-stage' },
    h('figure', { class: 'pv-back', 'aria-label': 'Apple Wallet, back', dataset: { preview: 'apple-back' } },
      h('h3', {}, text(p.organization_name || 'Pass details')),
      p.description ? h('div', { class: 'item' }, h('div', { class: 'l' }, 'Description'), h('div', { class: 'v' }, text(p.description))) : null,
      items.length ? items : h('div', { class: 'item' }, h('div', { class: 'v muted' }, 'No back fields.')),
      h('div', { class: 'item' }, h('div', { class: 'l' }, 'Automatic updates'), h('div', { class: 'v' }, 'On'))));
}
