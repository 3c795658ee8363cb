// What the previews share: field groups as the platform plugins arrange them, colours, images, and
// a stand-in for the barcode (the shape of the format, not a code a scanner reads).
import { h } from '../dom.js';

const SVG = 'http://www.w3.org/2000/svg';

/** The value a field shows: a string or a number as text. */
export const text = (v) => (v === null || v === undefined ? '' : String(v));

/** An image value of the pass (base64 PNG, a data: URL or an https URL) as an <img> src, or null. */
export function imageSrc(v) {
  if (typeof v !== 'string' || !v) return null;
  if (v.startsWith('https://') || v.startsWith('data:image/')) return v;
  if (/^[A-Za-z0-9+/=\s]+$/.test(v)) return 'data:image/png;base64,' + v.replace(/\s+/g, '');
  return null;
}

/** "#rrggbb" -> its relative luminance (WCAG), or null. */
export function luminance(hex) {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || '');
  if (!m) return null;
  const c = [m[1], m[2], m[3]].map((x) => {
    const v = parseInt(x, 16) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}

/** Black or white, whichever reads better on the colour. */
export function inkOn(hex) {
  const l = luminance(hex);
  return l === null || l > 0.35 ? '#111111' : '#ffffff';
}

/** A date as a wallet shows it (medium date, short time), or the text as given. */
export function dateText(v) {
  if (typeof v !== 'string' || !v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? v : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

function hash(s) {
  let x = 2166136261;
  for (let i = 0; i < s.length; i++) x = Math.imul(x ^ s.charCodeAt(i), 16777619) >>> 0;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 4294967296;
  };
}

function svg(w, hgt, label) {
  const s = document.createElementNS(SVG, 'svg');
  s.setAttribute('viewBox', `0 0 ${w} ${hgt}`);
  s.setAttribute('role', 'img');
  s.setAttribute('aria-label', label);
  return s;
}

function rect(s, x, y, w, hgt) {
  const r = document.createElementNS(SVG, 'rect');
  r.setAttribute('x', x); r.setAttribute('y', y); r.setAttribute('width', w); r.setAttribute('height', hgt);
  r.setAttribute('fill', '#111');
  s.append(r);
}

/** The barcode's look for its format (qr, pdf417, aztec, code128), made from the message. */
export function barcodeArt(format, message) {
  const rnd = hash(message || '');
  const f = format || 'qr';
  const label = `${f.toUpperCase()} code (preview)`;
  if (f === 'pdf417' || f === 'code128') {
    const s = svg(120, 48, label);
    let x = 2;
    while (x < 118) {
      const w = 1 + Math.floor(rnd() * 3);
      if (rnd() > 0.45) rect(s, x, 2, w, f === 'pdf417' ? 44 : 44);
      x += w + (f === 'pdf417' ? 0.5 : 1);
    }
    return { node: s, wide: true };
  }
  const n = f === 'aztec' ? 19 : 25;
  const s = svg(n, n, label);
  const on = (x, y) => rect(s, x, y, 1, 1);
  const finder = (ox, oy) => {
    for (let i = 0; i < 7; i++) for (let j = 0; j < 7; j++)
      if (i === 0 || i === 6 || j === 0 || j === 6 || (i >= 2 && i <= 4 && j >= 2 && j <= 4)) on(ox + i, oy + j);
  };
  const taken = (x, y) => f === 'qr' ? ((x < 8 && y < 8) || (x > n - 9 && y < 8) || (x < 8 && y > n - 9))
    : (Math.abs(x - 9) <= 4 && Math.abs(y - 9) <= 4);
  if (f === 'qr') { finder(0, 0); finder(n - 7, 0); finder(0, n - 7); }
  else {
    for (let r = 0; r <= 4; r += 2) for (let i = -r; i <= r; i++) { on(9 + i, 9 - r); on(9 + i, 9 + r); on(9 - r, 9 + i); on(9 + r, 9 + i); }
  }
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) if (!taken(x, y) && rnd() > 0.52) on(x, y);
  return { node: s, wide: false };
}

/** The field groups as the Apple signer fills them: the pass's own, then its type's fields where room is left. */
export function appleGroups(p) {
  const max = { header: 3, primary: 1, secondary: 4, auxiliary: 4, back: Infinity };
  const g = {};
  for (const k of Object.keys(max)) g[k] = Array.isArray(p[k + '_fields']) ? p[k + '_fields'].filter((f) => f && typeof f === 'object').map((f) => ({ ...f })) : [];
  const used = (key) => Object.values(g).some((arr) => arr.some((f) => f.key === key));
  const add = (group, key, label, value, date) => {
    if (value === undefined || value === null || value === '' || used(key)) return;
    const v = date ? dateText(value) : value;
    (g[group].length >= max[group] ? g.back : g[group]).push({ key, label, value: v });
  };
  const rc = { online: 'Online', instore: 'In store', both: 'Online and in store' };
  if (p.pass_type === 'event') {
    add('primary', 'event_name', 'Event', p.event_name);
    add('secondary', 'venue_name', 'Venue', p.venue_name);
    add('secondary', 'event_start', 'Starts', p.event_start, true);
    add('auxiliary', 'seat_section', 'Section', p.seat_section);
    add('auxiliary', 'seat_row', 'Row', p.seat_row);
    add('auxiliary', 'seat_number', 'Seat', p.seat_number);
    add('back', 'event_end', 'Ends', p.event_end, true);
    add('back', 'venue_address', 'Address', p.venue_address);
  } else if (p.pass_type === 'coupon') {
    add('primary', 'offer_title', 'Offer', p.offer_title);
    add('secondary', 'valid_until', 'Expires', p.valid_until, true);
    add('back', 'offer_details', 'Details', p.offer_details);
    add('back', 'valid_from', 'Valid from', p.valid_from, true);
    add('back', 'redemption_channel', 'Redeem', rc[p.redemption_channel]);
  } else if (p.pass_type === 'loyalty') {
    add('header', 'points', 'Points', p.points);
    add('secondary', 'account_name', 'Member', p.account_name);
    add('secondary', 'account_id', 'Member ID', p.account_id);
    add('back', 'program_name', 'Program', p.program_name);
  }
  return g;
}

/** A label/value pair. */
export function fieldBox(f, { labelColor, cls = '' } = {}) {
  return h('div', { class: 'pv-f ' + cls },
    h('div', { class: 'l', style: labelColor ? { color: labelColor } : null }, text(f.label || '')),
    h('div', { class: 'v' }, text(f.value)));
}
