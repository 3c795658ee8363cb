// The pass designer: a form of the unified pass body with live Apple (front, back) and Google
// previews, the API's validation errors next to the fields, saving as a template and issuing a pass.
// Modes: new (#/designer), a template (#/designer/template/:id), a pass (#/designer/pass/:id).
import { h, render, field, clearErrors, showFieldError, copyable, fileBase64, toast, nextId } from '../dom.js';
import { api, portal } from '../api.js';
import { appleFront, appleBack, APPLE_STYLE } from '../preview/apple.js';
import { googleCard, GOOGLE_TYPE } from '../preview/google.js';

const TYPES = [['loyalty', 'Loyalty card'], ['event', 'Event ticket'], ['coupon', 'Coupon'], ['generic', 'Generic']];
const GROUPS = [['header_fields', 'Header fields', 3], ['primary_fields', 'Primary field', 1], ['secondary_fields', 'Secondary fields', 4],
  ['auxiliary_fields', 'Auxiliary fields', 4], ['back_fields', 'Back fields', 50]];
const TYPE_FIELDS = {
  loyalty: [['program_name', 'Programme name'], ['account_name', 'Member name'], ['account_id', 'Member ID'], ['points', 'Points']],
  event: [['event_name', 'Event name', { required: true }], ['venue_name', 'Venue'], ['venue_address', 'Venue address'],
    ['event_start', 'Starts', { date: true }], ['event_end', 'Ends', { date: true }], ['seat_section', 'Section'], ['seat_row', 'Row'], ['seat_number', 'Seat']],
  coupon: [['offer_title', 'Offer', { required: true }], ['offer_details', 'Details', { textarea: true }],
    ['redemption_channel', 'Redeemed', { options: [['', '—'], ['online', 'Online'], ['instore', 'In store'], ['both', 'Online and in store']] }],
    ['valid_from', 'Valid from', { date: true }], ['valid_until', 'Valid until', { date: true }]],
  generic: [],
};
const IMAGES = [['logo', 'Logo'], ['icon', 'Icon'], ['strip', 'Strip (loyalty, coupon)'], ['thumbnail', 'Thumbnail (event, generic)'], ['hero', 'Hero (Google)']];
const STARTER = {
  pass_type: 'loyalty',
  organization_name: '',
  logo_text: '',
  background_color: '#1b4d8c',
  foreground_color: '#ffffff',
  label_color: '#d6e4f5',
  points: '0',
  primary_fields: [{ key: 'reward', label: 'Next reward', value: 'Free coffee' }],
  barcode_message: '',
  barcode_format: 'qr',
};

/** "2026-05-01T19:30:00Z" -> "2026-05-01T21:30" (the browser's zone, for datetime-local), or "". */
function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The body to send: empty optional values left out, field rows as typed. */
function cleaned(body) {
  const out = {};
  for (const [k, v] of Object.entries(body)) {
    if (v === '' || v === null || v === undefined) continue;
    if (Array.isArray(v) && !v.length) continue;
    if (k === 'images' && !Object.keys(v).length) continue;
    out[k] = v;
  }
  return out;
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

export async function show(ctx) {
  const mode = ctx.params.template ? 'template' : ctx.params.pass ? 'pass' : 'new';
  let template = null, pass = null;
  let body = structuredClone(STARTER);
  if (mode === 'template') {
    template = await api.get(`/templates/${encodeURIComponent(ctx.params.template)}`);
    body = { ...template.body };
  } else if (mode === 'pass') {
    pass = await api.get(`/passes/${encodeURIComponent(ctx.params.pass)}`);
    const skip = new Set(['id', 'object', 'serial_number', 'status', 'version', 'template_id', 'created_at', 'updated_at', 'livemode', 'share_url']);
    body = {};
    for (const [k, v] of Object.entries(pass)) if (!skip.has(k) && !/^(apple_|google_|pkpass_)/.test(k) && !k.endsWith('_url')) body[k] = v;
  } else if (ctx.query.get('template')) {
    template = await api.get(`/templates/${encodeURIComponent(ctx.query.get('template'))}`);
    body = { ...template.body };
  }
  const original = structuredClone(body);
  const form = h('form', { novalidate: true, class: 'designer-form', on: { submit: (e) => e.preventDefault() } });
  const previews = h('div', { class: 'previews card' });
  const result = h('div', { id: 'result' });
  const status = h('div', { role: 'alert' });

  // ---- previews: tabs over Apple front, Apple back, Google -------------------------------------
  const tabs = [['apple-front', 'Apple front'], ['apple-back', 'Apple back'], ['google', 'Google']];
  let activeTab = 'apple-front';
  const panel = h('div', { role: 'tabpanel', id: 'preview-panel', tabindex: '0' });
  const tabButtons = tabs.map(([id, label]) => h('button', {
    type: 'button', role: 'tab', id: 'tab-' + id, 'aria-controls': 'preview-panel', 'aria-selected': String(id === activeTab), tabindex: id === activeTab ? '0' : '-1',
    on: {
      click: () => selectTab(id),
      keydown: (e) => {
        const i = tabs.findIndex(([t]) => t === activeTab);
        if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
          e.preventDefault();
          const next = tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length][0];
          selectTab(next);
          document.getElementById('tab-' + next).focus();
        }
      },
    },
  }, label));
  function selectTab(id) {
    activeTab = id;
    for (const b of tabButtons) {
      const on = b.id === 'tab-' + id;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
    }
    panel.setAttribute('aria-labelledby', 'tab-' + id);
    refresh();
  }
  panel.setAttribute('aria-labelledby', 'tab-' + activeTab);
  const typeNote = h('p', { class: 'pv-note' });
  function refresh() {
    const b = cleaned(body);
    render(panel, activeTab === 'apple-front' ? appleFront(b) : activeTab === 'apple-back' ? appleBack(b) : googleCard(b));
    typeNote.textContent = `Apple Wallet: ${APPLE_STYLE[b.pass_type] || 'generic'} · Google Wallet: ${GOOGLE_TYPE[b.pass_type] || 'generic'} · a preview: the wallets draw the pass themselves.`;
  }
  render(previews, h('h2', { id: 'preview-heading' }, 'Preview'), h('div', { class: 'tabs', role: 'tablist', 'aria-labelledby': 'preview-heading' }, tabButtons), panel, typeNote);

  // ---- the form ----------------------------------------------------------------------------------
  const set = (k, v) => { body[k] = v; refresh(); };
  function textInput(key, { type = 'text', textarea = false, date = false, options = null, required = false } = {}) {
    let el;
    if (options) {
      el = h('select', {}, options.map(([v, l]) => h('option', { value: v, selected: (body[key] || '') === v }, l)));
      el.addEventListener('change', () => set(key, el.value));
    } else if (textarea) {
      el = h('textarea', { rows: '3' });
      el.value = body[key] ?? '';
      el.addEventListener('input', () => set(key, el.value));
    } else if (date) {
      el = h('input', { type: 'datetime-local', value: toLocalInput(body[key]) });
      el.addEventListener('input', () => set(key, el.value ? new Date(el.value).toISOString().replace(/\.000Z$/, 'Z') : ''));
    } else {
      el = h('input', { type, value: body[key] ?? '' });
      el.addEventListener('input', () => set(key, el.value));
    }
    el.name = key;
    if (required) el.required = true;
    return el;
  }
  function colorInput(key, label) {
    const id = nextId('c');
    const text = h('input', { type: 'text', id, value: body[key] || '', placeholder: '#rrggbb', maxlength: '7', spellcheck: 'false' });
    const picker = h('input', { type: 'color', value: /^#[0-9a-f]{6}$/i.test(body[key] || '') ? body[key] : '#ffffff', 'aria-label': label + ' (picker)' });
    text.addEventListener('input', () => { set(key, text.value.trim()); if (/^#[0-9a-f]{6}$/i.test(text.value.trim())) picker.value = text.value.trim(); });
    picker.addEventListener('input', () => { text.value = picker.value; set(key, picker.value); });
    const f = field(label, text, { param: key, hint: '#rrggbb' });
    const lab = f.querySelector('label');
    f.replaceChildren(lab, h('div', { class: 'color-field' }, picker, text), ...[...f.children].filter((c) => c !== lab && c !== text));
    return f;
  }

  const typeSelect = h('select', { name: 'pass_type' }, TYPES.map(([v, l]) => h('option', { value: v, selected: body.pass_type === v }, l)));
  typeSelect.addEventListener('change', () => {
    // fields of the other types go: the API refuses a field of another pass type
    for (const [t, fs] of Object.entries(TYPE_FIELDS)) if (t !== typeSelect.value) for (const [k] of fs) delete body[k];
    body.pass_type = typeSelect.value;
    // the starter's loyalty field makes no sense on another type: it goes unless it was edited
    if (same(body.primary_fields, STARTER.primary_fields) && body.pass_type !== 'loyalty') {
      delete body.primary_fields;
      drawGroups();
    }
    drawTypeFields();
    refresh();
  });
  const typeFields = h('div');
  function drawTypeFields() {
    const fs = TYPE_FIELDS[body.pass_type] || [];
    render(typeFields, fs.length ? h('div', { class: 'row' }, fs.map(([k, label, o = {}]) => field(label, textInput(k, o), { param: k, required: o.required }))) : h('p', { class: 'muted small' }, 'A generic pass has no fields of its own: use the field groups below.'));
  }
  drawTypeFields();

  const groupsBox = h('div');
  function drawGroups() {
    render(groupsBox, GROUPS.map(([g, label, max]) => {
      const rows = Array.isArray(body[g]) ? body[g] : [];
      const legendId = nextId('lg');
      return h('fieldset', { class: 'fields-group', 'aria-labelledby': legendId },
        h('legend', { id: legendId }, label, h('span', { class: 'muted small' }, ` (${rows.length} of ${max === 50 ? 'up to 50' : max})`)),
        h('div', { dataset: { errorFor: g }, class: 'error field', role: 'alert' }),
        rows.map((f, i) => {
          const inp = (k, l) => {
            const el = h('input', { type: 'text', value: f[k] ?? '', 'aria-label': `${label} ${i + 1}: ${l}` });
            el.dataset.param = `${g}[${i}].${k}`;
            const err = h('div', { class: 'error', id: nextId('e'), dataset: { errorFor: `${g}[${i}].${k}` }, role: 'alert' });
            el.setAttribute('aria-describedby', err.id);
            el.addEventListener('input', () => { f[k] = el.value; err.textContent = ''; el.removeAttribute('aria-invalid'); refresh(); });
            return h('div', { class: 'field' }, h('span', { class: 'small muted', 'aria-hidden': 'true' }, l), el, err);
          };
          return h('div', { class: 'frow' }, inp('key', 'key'), inp('label', 'label'), inp('value', 'value'),
            h('button', { type: 'button', class: 'btn small danger', 'aria-label': `Remove ${label.toLowerCase()} ${i + 1}`, on: { click: () => { rows.splice(i, 1); body[g] = rows; drawGroups(); refresh(); } } }, 'Remove'));
        }),
        rows.length < max ? h('button', { type: 'button', class: 'btn small', on: { click: () => {
          rows.push({ key: `field${Date.now().toString(36).slice(-4)}`, label: '', value: '' });
          body[g] = rows;
          drawGroups();
          refresh();
          const inputs = groupsBox.querySelectorAll(`[data-param^="${g}[${rows.length - 1}]"]`);
          if (inputs[1]) inputs[1].focus();
        } } }, `Add to ${label.toLowerCase()}`) : null);
    }));
  }
  drawGroups();

  // Locations: where the pass shows on the lock screen (Apple) and its merchant locations (Google).
  // Each row edits its own object, so keys without a control here (altitude) are kept.
  const MAX_LOCATIONS = 10;
  const locationsBox = h('div');
  function drawLocations() {
    const rows = Array.isArray(body.locations) ? body.locations : [];
    const legendId = nextId('lg');
    render(locationsBox, h('fieldset', { class: 'fields-group', 'aria-labelledby': legendId },
      h('legend', { id: legendId }, 'Locations', h('span', { class: 'muted small' }, ` (${rows.length} of up to ${MAX_LOCATIONS})`)),
      h('p', { class: 'hint' }, 'Near one of these places the phone offers the pass on its lock screen (Apple) and Google shows it as nearby.'),
      h('div', { dataset: { errorFor: 'locations' }, class: 'error field', role: 'alert' }),
      rows.map((loc, i) => {
        const inp = (k, l, number) => {
          const el = h('input', { type: 'text', value: loc[k] ?? '', 'aria-label': `Location ${i + 1}: ${l}`, inputmode: number ? 'decimal' : null });
          el.dataset.param = `locations[${i}].${k}`;
          const err = h('div', { class: 'error', id: nextId('e'), dataset: { errorFor: `locations[${i}].${k}` }, role: 'alert' });
          el.setAttribute('aria-describedby', err.id);
          el.addEventListener('input', () => {
            const v = el.value.trim();
            // a number when it reads as one; anything else is sent as typed, for the API to name
            if (v === '') delete loc[k];
            else loc[k] = number && Number.isFinite(Number(v)) ? Number(v) : el.value;
            err.textContent = '';
            el.removeAttribute('aria-invalid');
            refresh();
          });
          return h('div', { class: 'field' }, h('span', { class: 'small muted', 'aria-hidden': 'true' }, l), el, err);
        };
        return h('div', { class: 'frow' }, inp('latitude', 'latitude', true), inp('longitude', 'longitude', true), inp('relevant_text', 'text on the lock screen', false),
          h('button', { type: 'button', class: 'btn small danger', 'aria-label': `Remove location ${i + 1}`, on: { click: () => {
            rows.splice(i, 1);
            body.locations = rows;
            drawLocations();
            refresh();
          } } }, 'Remove'));
      }),
      rows.length < MAX_LOCATIONS ? h('button', { type: 'button', class: 'btn small', on: { click: () => {
        rows.push({});
        body.locations = rows;
        drawLocations();
        const first = locationsBox.querySelector(`[data-param="locations[${rows.length - 1}].latitude"]`);
        if (first) first.focus();
      } } }, 'Add a location') : null));
  }
  drawLocations();

  const imagesBox = h('div', { class: 'row' });
  function drawImages() {
    body.images = body.images || {};
    render(imagesBox, IMAGES.map(([k, label]) => {
      const input = h('input', { type: 'file', accept: 'image/png' });
      input.dataset.param = `images.${k}`;
      input.addEventListener('change', async () => {
        const file = input.files[0];
        if (!file) return;
        if (file.type && file.type !== 'image/png') { toast('Images must be PNG files.', 'error'); return; }
        body.images[k] = await fileBase64(file);
        drawImages();
        refresh();
      });
      const have = body.images[k];
      const f = field(label, input, { param: `images.${k}` });
      if (have) f.append(h('div', { class: 'small' }, h('span', {}, 'Set. '),
        h('button', { type: 'button', class: 'btn small', on: { click: () => { delete body.images[k]; drawImages(); refresh(); } } }, `Remove the ${k}`)));
      return f;
    }));
  }
  drawImages();

  render(form,
    h('fieldset', {}, h('legend', {}, 'The pass'),
      h('div', { class: 'row' }, field('Type', typeSelect, { param: 'pass_type', hint: 'Each wallet draws it in its own style: the preview names them.' }),
        field('Organisation name', textInput('organization_name', { required: true }), { param: 'organization_name', required: true })),
      h('div', { class: 'row' }, field('Logo text', textInput('logo_text'), { param: 'logo_text' }), field('Description', textInput('description'), { param: 'description', hint: 'Read by VoiceOver on the phone.' }))),
    h('fieldset', {}, h('legend', {}, 'Type fields'), typeFields),
    h('fieldset', {}, h('legend', {}, 'Colours'), h('div', { class: 'row' }, colorInput('background_color', 'Background'), colorInput('foreground_color', 'Text'), colorInput('label_color', 'Labels'))),
    groupsBox,
    h('fieldset', {}, h('legend', {}, 'Barcode'), h('div', { class: 'row' },
      field('Message', textInput('barcode_message'), { param: 'barcode_message', hint: 'What a scanner reads: a member number, a ticket code.' }),
      field('Format', textInput('barcode_format', { options: [['qr', 'QR'], ['pdf417', 'PDF417'], ['aztec', 'Aztec'], ['code128', 'Code 128']] }), { param: 'barcode_format' }),
      field('Text under the code', textInput('barcode_alt_text'), { param: 'barcode_alt_text' }))),
    h('fieldset', {}, h('legend', {}, 'Images (PNG)'), imagesBox),
    locationsBox,
    h('fieldset', {}, h('legend', {}, 'Dates'), h('div', { class: 'row' },
      field('Relevant date', textInput('relevant_date', { date: true }), { param: 'relevant_date', hint: 'When the pass shows on the lock screen.' }),
      field('Expires', textInput('expiration_date', { date: true }), { param: 'expiration_date' }))));

  // ---- actions -------------------------------------------------------------------------------------
  function showError(err) {
    clearErrors(ctx.main);
    render(status);
    if (!showFieldError(ctx.main, err.param, err.message))
      render(status, h('p', { class: 'notice error' }, err.message, err.param ? h('span', { class: 'mono' }, ` (${err.param})`) : null));
  }
  async function busy(btn, fn) {
    btn.disabled = true;
    clearErrors(ctx.main);
    render(status);
    try { await fn(); } catch (e) { showError(e); } finally { btn.disabled = false; }
  }

  const serial = h('input', { type: 'text', name: 'serial_number', placeholder: 'generated when empty', maxlength: '64' });
  serial.dataset.param = 'serial_number';
  const tplName = h('input', { type: 'text', name: 'template_name', value: template ? template.name : '', maxlength: '200' });
  tplName.dataset.param = 'name';

  const issueBtn = h('button', { type: 'button', class: 'btn primary', on: { click: () => busy(issueBtn, async () => {
    let req = cleaned(body);
    if (template) {
      // from the template: only what differs from it, so later template changes still reach the pass
      const diff = { template_id: template.id };
      for (const [k, v] of Object.entries(req)) if (!same(v, template.body[k])) diff[k] = v;
      for (const k of Object.keys(template.body)) if (!(k in req)) diff[k] = null;
      req = diff;
    }
    if (serial.value.trim()) req.serial_number = serial.value.trim();
    const p = await api.post('/passes', req);
    showIssued(p);
  }) } }, template ? 'Issue a pass from this template' : 'Issue the pass');

  const saveTplBtn = h('button', { type: 'button', class: 'btn', on: { click: () => busy(saveTplBtn, async () => {
    if (!tplName.value.trim()) { showFieldError(ctx.main, 'name', 'Give the template a name.'); return; }
    const b = cleaned(body);
    delete b.serial_number;
    const t = await api.post('/templates', { name: tplName.value.trim(), body: b });
    toast(`Template "${t.name}" saved.`);
    ctx.go(`/designer/template/${t.id}`);
  }) } }, 'Save as a new template');

  const updateTplBtn = template ? h('button', { type: 'button', class: 'btn primary', on: { click: () => busy(updateTplBtn, async () => {
    const patch = {};
    const b = cleaned(body);
    for (const [k, v] of Object.entries(b)) if (!same(v, template.body[k])) patch[k] = v;
    for (const k of Object.keys(template.body)) if (!(k in b)) patch[k] = null;
    const t = await api.put(`/templates/${template.id}`, { name: tplName.value.trim() || template.name, body: patch, propagate: propagate.checked });
    template = t;
    toast(t.propagation ? 'Template saved; its passes are being updated.' : 'Template saved.');
  }) } }, 'Save the template') : null;
  const propagate = h('input', { type: 'checkbox', id: 'propagate', checked: true });

  const savePassBtn = pass ? h('button', { type: 'button', class: 'btn primary', on: { click: () => busy(savePassBtn, async () => {
    const patch = {};
    const b = cleaned(body);
    for (const [k, v] of Object.entries(b)) if (!same(v, original[k])) patch[k] = v;
    for (const k of Object.keys(original)) if (!(k in b)) patch[k] = null;
    if (!Object.keys(patch).length) { toast('Nothing changed.'); return; }
    const p = await api.put(`/passes/${pass.id}`, patch);
    toast(`Pass updated to version ${p.version}; wallets are being updated.`);
    ctx.go(`/passes/${p.id}`);
  }) } }, 'Save the pass') : null;

  function showIssued(p) {
    render(result, h('section', { class: 'card', 'aria-labelledby': 'issued-h' },
      h('h2', { id: 'issued-h' }, 'Pass issued'),
      h('p', {}, 'Serial number ', h('strong', { class: 'mono' }, p.serial_number), ' · ', h('a', { href: `#/passes/${p.id}` }, 'Open the pass')),
      h('div', { class: 'result-links' },
        p.pkpass_url ? h('p', {}, h('a', { href: p.pkpass_url, class: 'btn', download: `${p.serial_number}.pkpass`, dataset: { link: 'apple' } }, 'Add to Apple Wallet (.pkpass)'))
          : 'pkpass_url' in p ? h('p', { class: 'notice warn' }, 'No Apple link yet: upload the Apple credentials.') : null,
        p.google_save_url ? h('p', {}, h('a', { href: p.google_save_url, class: 'btn', target: '_blank', rel: 'noopener noreferrer', dataset: { link: 'google' } }, 'Add to Google Wallet'))
          : 'google_save_url' in p ? h('p', { class: 'notice warn' }, 'No Google link yet: upload the Google credentials.') : null,
        h('div', {}, h('label', {}, 'Share link'), copyable(p.share_url, 'Share link')),
        h('figure', { class: 'qr' }, h('img', { src: portal.qrUrl(p.share_url), alt: 'QR code of the share link', dataset: { qr: 'share' } }),
          h('figcaption', { class: 'small muted' }, 'Scan to open the share page on a phone.')))));
    result.querySelector('h2').setAttribute('tabindex', '-1');
    result.querySelector('h2').focus();
  }

  const heading = mode === 'template' ? `Template: ${template.name}` : mode === 'pass' ? `Edit pass ${pass.serial_number}` : 'Pass designer';
  const actions = h('section', { class: 'card', 'aria-labelledby': 'actions-h' }, h('h2', { id: 'actions-h' }, mode === 'pass' ? 'Save' : 'Issue or save'),
    mode === 'pass' ? h('div', { class: 'toolbar' }, savePassBtn, h('a', { class: 'btn', href: `#/passes/${pass.id}` }, 'Cancel')) : [
      h('div', { class: 'row' }, field('Serial number', serial, { param: 'serial_number', hint: 'Unique in the account.' }), h('div', { class: 'field' }, issueBtn)),
      h('div', { class: 'row' }, field('Template name', tplName, { param: 'name' }),
        h('div', { class: 'field toolbar' }, updateTplBtn, saveTplBtn)),
      template ? h('label', { class: 'check', for: 'propagate' }, propagate, 'Update the passes made from it (keys they did not set themselves)') : null,
    ],
    status);
  render(ctx.main, h('h1', {}, heading),
    mode === 'new' && !template ? h('p', { class: 'muted' }, 'Design a pass and watch both wallets change. Issue it, or keep the design as a template for many passes.') : null,
    h('div', { class: 'designer' }, h('div', {}, form, actions, result), previews));
  refresh();
}
