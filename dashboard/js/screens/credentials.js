// Credentials: the Apple signing identity (P12 with its ids) and the Google service account,
// uploaded to PUT /api/v1/credentials/<platform>; what is stored shows as metadata, never a secret.
import { h, render, field, clearErrors, showFieldError, fileBase64, fileText, when, toast } from '../dom.js';
import { api } from '../api.js';

async function current(platform) {
  try {
    return { meta: await api.get(`/credentials/${platform}`) };
  } catch (e) {
    if (e.code === 'resource_missing') return { meta: null };
    if (e.code === 'route_not_found') return { missingPlugin: true };
    throw e;
  }
}

function expiry(meta) {
  if (!meta.expires_at && !meta.not_after) return null;
  const end = new Date(meta.expires_at || meta.not_after);
  const days = Math.floor((end - Date.now()) / 86400000);
  if (days < 0) return h('p', { class: 'notice error', dataset: { expiry: 'expired' } }, `The certificate expired on ${when(end.toISOString())}: passes can no longer be signed. Upload a new one.`);
  if (days <= 30) return h('p', { class: 'notice warn', dataset: { expiry: 'soon' } }, `The certificate expires in ${days} day${days === 1 ? '' : 's'} (${when(end.toISOString())}): renew it in the Apple Developer account and upload it here.`);
  return h('p', { class: 'notice ok', dataset: { expiry: 'ok' } }, `Valid until ${when(end.toISOString())} (${days} days).`);
}

function metaList(rows) {
  return h('dl', { class: 'props' }, rows.filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => [h('dt', {}, k), h('dd', { class: 'mono' }, String(v))]));
}

export async function show(ctx) {
  const [apple, google] = await Promise.all([current('apple'), current('google')]);
  const appleBox = h('section', { class: 'card', 'aria-labelledby': 'apple-h' });
  const googleBox = h('section', { class: 'card', 'aria-labelledby': 'google-h' });

  function drawApple(state) {
    if (state.missingPlugin) { render(appleBox, h('h2', { id: 'apple-h' }, 'Apple Wallet'), h('p', { class: 'muted' }, 'The apple-signer plugin is not loaded on this gateway.')); return; }
    const m = state.meta;
    const p12 = h('input', { type: 'file', accept: '.p12,.pfx,application/x-pkcs12', name: 'p12', required: true });
    const pw = h('input', { type: 'password', name: 'p12_password', autocomplete: 'off' });
    const ptid = h('input', { type: 'text', name: 'pass_type_identifier', placeholder: 'pass.com.example.loyalty', value: m ? m.pass_type_identifier : '' });
    const team = h('input', { type: 'text', name: 'team_identifier', placeholder: 'ABCDE12345', maxlength: '10', value: m ? m.team_identifier : '' });
    const wwdr = h('input', { type: 'file', accept: '.pem,.cer,.crt', name: 'wwdr' });
    const status = h('div', { role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn primary' }, m ? 'Replace the credentials' : 'Upload');
    const form = h('form', { novalidate: true, on: { submit: async (e) => {
      e.preventDefault();
      clearErrors(form);
      render(status);
      if (!p12.files[0]) { showFieldError(form, 'p12_base64', 'Choose the .p12 file exported from Keychain Access.'); return; }
      submit.disabled = true;
      try {
        const b = { p12_base64: await fileBase64(p12.files[0]), p12_password: pw.value, pass_type_identifier: ptid.value.trim(), team_identifier: team.value.trim() };
        if (wwdr.files[0]) b.wwdr_pem = await fileText(wwdr.files[0]);
        const meta = await api.put('/credentials/apple', b);
        toast('Apple credentials saved.');
        drawApple({ meta });
      } catch (err) {
        if (!showFieldError(form, err.param, err.message)) render(status, h('p', { class: 'notice error' }, err.message));
      } finally {
        submit.disabled = false;
      }
    } } }, status,
    field('Certificate and key (.p12)', p12, { param: 'p12_base64', hint: 'Exported from Keychain Access with the private key.' }),
    field('The .p12 password', pw, { param: 'p12_password', hint: 'Empty when it has none.' }),
    h('div', { class: 'row' }, field('Pass Type ID', ptid, { param: 'pass_type_identifier' }), field('Team ID', team, { param: 'team_identifier' })),
    field('Apple WWDR intermediate (optional, PEM)', wwdr, { param: 'wwdr_pem' }), submit);
    render(appleBox, h('h2', { id: 'apple-h' }, 'Apple Wallet'),
      m ? [expiry(m), metaList([['Subject', m.subject], ['Team', m.team_identifier], ['Pass Type ID', m.pass_type_identifier], ['Issuer', m.issuer], ['Serial', m.serial], ['Valid from', when(m.not_before)], ['Expires', when(m.expires_at || m.not_after)], ['Uploaded', when(m.updated_at)]]),
        h('p', {}, h('button', { type: 'button', class: 'btn danger small', on: { click: async () => {
          if (!confirm('Delete the Apple credentials? Passes can no longer be signed until new ones are uploaded.')) return;
          await api.del('/credentials/apple');
          drawApple({ meta: null });
        } } }, 'Delete'))]
        : h('p', { class: 'muted' }, 'None yet: passes get no Apple link until you upload a Pass Type ID certificate.'),
      h('h3', {}, m ? 'Replace' : 'Upload'), form);
  }

  function drawGoogle(state) {
    if (state.missingPlugin) { render(googleBox, h('h2', { id: 'google-h' }, 'Google Wallet'), h('p', { class: 'muted' }, 'The google-jwt plugin is not loaded on this gateway.')); return; }
    const m = state.meta;
    const issuer = h('input', { type: 'text', name: 'issuer_id', inputmode: 'numeric', value: m ? m.issuer_id : '' });
    const json = h('input', { type: 'file', accept: '.json,application/json', name: 'service_account_json' });
    const status = h('div', { role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn primary' }, m ? 'Replace the credentials' : 'Upload');
    const form = h('form', { novalidate: true, on: { submit: async (e) => {
      e.preventDefault();
      clearErrors(form);
      render(status);
      if (!json.files[0]) { showFieldError(form, 'service_account_json', 'Choose the service account key file (JSON).'); return; }
      submit.disabled = true;
      try {
        let sa;
        try { sa = JSON.parse(await fileText(json.files[0])); } catch { showFieldError(form, 'service_account_json', 'The file is not JSON: use the key file Google gave you.'); return; }
        const meta = await api.put('/credentials/google', { issuer_id: issuer.value.trim(), service_account_json: sa });
        toast('Google credentials saved.');
        drawGoogle({ meta });
      } catch (err) {
        const param = err.param && err.param.startsWith('service_account_json') ? 'service_account_json' : err.param;
        if (!showFieldError(form, param, err.message)) render(status, h('p', { class: 'notice error' }, err.message));
      } finally {
        submit.disabled = false;
      }
    } } }, status,
    field('Issuer ID', issuer, { param: 'issuer_id', hint: 'From the Google Pay & Wallet Console.' }),
    field('Service account key (JSON)', json, { param: 'service_account_json' }), submit);
    render(googleBox, h('h2', { id: 'google-h' }, 'Google Wallet'),
      m ? [metaList([['Issuer ID', m.issuer_id], ['Service account', m.client_email], ['Key id', m.private_key_id], ['Uploaded', when(m.updated_at)]]),
        h('p', {}, h('button', { type: 'button', class: 'btn danger small', on: { click: async () => {
          if (!confirm('Delete the Google credentials? Passes get no Google link until new ones are uploaded.')) return;
          await api.del('/credentials/google');
          drawGoogle({ meta: null });
        } } }, 'Delete'))]
        : h('p', { class: 'muted' }, 'None yet: passes get no Google link until you upload a service account.'),
      h('h3', {}, m ? 'Replace' : 'Upload'), form);
  }

  drawApple(apple);
  drawGoogle(google);
  render(ctx.main, h('h1', {}, 'Credentials'),
    h('p', { class: 'muted' }, 'Stored encrypted; never shown again. See the Apple and Google set-up guides in the manual.'),
    appleBox, googleBox);
}
