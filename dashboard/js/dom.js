// DOM building without HTML: every value reaches the page as text (textContent) or as an attribute
// value, never through an HTML parser. Nothing in the dashboard uses innerHTML.

/**
 * h('button', { class: 'btn', type: 'button', on: { click: fn } }, 'Save') -> the element.
 * Props: on (event listeners), dataset, value/checked/disabled/selected/hidden (properties),
 * style (an object of CSS properties), anything else as an attribute (null/false: left out).
 * Children: strings and numbers become text nodes; arrays are flattened; null/false skipped.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style') for (const [p, sv] of Object.entries(v)) { if (sv !== null && sv !== undefined) el.style.setProperty(p, sv); }
    else if (['value', 'checked', 'disabled', 'selected', 'hidden', 'indeterminate'].includes(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces everything inside el. */
export function render(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let uid = 0;
/** An id unique on the page, for label/aria links. */
export const nextId = (p = 'f') => `${p}-${++uid}`;

/**
 * A labelled form control with its hint and its error slot: field('Organisation name', input, { hint, param }).
 * The error slot is found by param (data-error-for) to show the API's errors next to the field.
 */
export function field(label, control, { hint, param, required } = {}) {
  const id = control.id || nextId();
  control.id = id;
  const describedby = [];
  const hintEl = hint ? h('div', { class: 'hint', id: id + '-hint' }, hint) : null;
  if (hintEl) describedby.push(hintEl.id);
  const err = h('div', { class: 'error', id: id + '-err', role: 'alert', dataset: param ? { errorFor: param } : {} });
  describedby.push(err.id);
  control.setAttribute('aria-describedby', describedby.join(' '));
  if (param) control.dataset.param = param;
  if (required) control.required = true;
  // an error shown here goes once the value is changed
  const clear = () => { err.textContent = ''; control.removeAttribute('aria-invalid'); };
  control.addEventListener('input', clear);
  control.addEventListener('change', clear);
  return h('div', { class: 'field' }, h('label', { for: id }, label, required ? h('span', { class: 'muted' }, ' (required)') : null), control, hintEl, err);
}

/** Clears the errors shown next to fields inside root. */
export function clearErrors(root) {
  for (const e of root.querySelectorAll('.field .error')) e.textContent = '';
  for (const c of root.querySelectorAll('[aria-invalid="true"]')) c.removeAttribute('aria-invalid');
}

/**
 * Shows an API error next to the field it names (its param, as the API writes it:
 * "primary_fields[0].key", "body.background_color"); returns false when no field has that name.
 */
export function showFieldError(root, param, message) {
  if (!param) return false;
  const names = [param, param.replace(/^body\./, '')];
  for (const n of names) {
    const slot = root.querySelector(`[data-error-for="${CSS.escape(n)}"]`);
    if (!slot) continue;
    slot.textContent = message;
    const ctl = root.querySelector(`[data-param="${CSS.escape(n)}"]`);
    if (ctl) {
      ctl.setAttribute('aria-invalid', 'true');
      ctl.focus();
    }
    return true;
  }
  return false;
}

/** A table of rows: cols [{ label, cell(row) -> node|string, num }]. */
export function table(cols, rows, { caption, empty = 'Nothing here yet.' } = {}) {
  if (!rows.length) return h('p', { class: 'empty card' }, empty);
  // the wrapper scrolls sideways on a narrow screen; focusable, so a keyboard can scroll it too
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption || 'Table' },
    h('table', {},
      caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, cols.map((c) => h('td', { class: c.num ? 'num' : null }, c.cell(r))))))));
}

/** A short date-time for people, in the browser's zone; '—' for none. */
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A message for people that goes away by itself (a status region). */
export function toast(text, kind = 'ok') {
  let box = document.getElementById('toast');
  if (!box) {
    box = h('div', { id: 'toast', class: 'toast', role: 'status', 'aria-live': 'polite' });
    document.body.append(box);
  }
  const n = h('div', { class: `notice ${kind}` }, text);
  box.append(n);
  setTimeout(() => n.remove(), 6000);
}

/** Copies text to the clipboard; says so. */
export async function copy(text, what = 'Copied') {
  try {
    await navigator.clipboard.writeText(text);
    toast(`${what} to the clipboard.`);
  } catch {
    toast('Select the text and copy it by hand (the browser refused the clipboard).', 'warn');
  }
}

/** A read-only input with a Copy button: for secrets shown once and links. */
export function copyable(value, label) {
  const input = h('input', { type: 'text', readonly: true, value, class: 'mono', 'aria-label': label });
  input.addEventListener('focus', () => input.select());
  return h('div', { class: 'secret' }, input,
    h('button', { type: 'button', class: 'btn', on: { click: () => copy(value, label) } }, 'Copy'));
}

/** Reads a file as base64 (without the data: prefix). */
export function fileBase64(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

export function fileText(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error);
    r.readAsText(file);
  });
}
