// The dashboard in a browser (docs/dashboard.md): Debian's Chromium driven by playwright-core against
// a real gateway and PostgreSQL. One user's day, in order: sign up and sign in, upload credentials,
// design a loyalty pass and watch the previews follow, save it as a template, issue a pass, download
// its pkpass and check its signature, open the pass page, update and notify, create an API key and
// call the API with it, add a webhook and see a delivery, filter the access log and export it as
// CSV; then the portal's security seen from the browser, and a screenshot of every screen at desktop
// and phone width (into WP_DASHBOARD_SHOTS, else the build folder; scripts/dashboard-screenshots
// writes them into docs/images/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startGateway, waitFor, SOURCE_DIR } from './lib/harness.mjs';
import { startWebhookReceiver } from './lib/webhook-receiver.mjs';
import { makePki, P12_PASSWORD, TEAM } from './lib/apple-pki.mjs';

const CHROMIUM = process.env.WP_CHROMIUM || '/usr/bin/chromium';
const BUILD_DIR = process.env.WP_BUILD_DIR || path.resolve(path.dirname(process.env.WP_BIN || '.'), '..');
const SHOTS = process.env.WP_DASHBOARD_SHOTS || path.join(BUILD_DIR, 'dashboard-screenshots');
const PTID = 'pass.test.walletpass.demo';
const EMAIL = 'owner@solstice.example';
const PASSWORD = 'a long dashboard password';
const ORG = 'Solstice <b>Coffee</b> & Co.';
const LOCATIONS = [{ latitude: 48.8584, longitude: 2.2945, relevant_text: 'Solstice is around the corner' }];
// Actions wait this long at most: a loaded 2-core machine running sanitizer builds is slow at everything.
const WAIT = 120000;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-dashboard-'));
let gw, receiver, browser, context, page;
const problems = []; // script errors and CSP refusals seen by any page
const state = {};

function watch(p) {
  p.on('pageerror', (e) => problems.push(`script error on ${p.url()}: ${e.message}`));
  p.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
  p.on('dialog', (d) => d.accept());
  p.setDefaultTimeout(WAIT);
  return p;
}

const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

before(async () => {
  execFileSync(path.join(SOURCE_DIR, 'scripts', 'make-test-credentials'), [path.join(dir, 'creds')],
    { env: { ...process.env, WP_TEST_PASS_TYPE_ID: PTID }, stdio: ['ignore', 'pipe', 'pipe'] });
  const google = JSON.parse(fs.readFileSync(path.join(dir, 'creds', 'google-credentials.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'service-account.json'), JSON.stringify(google.service_account_json, null, 2));
  state.issuer = google.issuer_id;
  fs.mkdirSync(path.join(dir, 'pki'));
  makePki(path.join(dir, 'pki'), { soon: PTID }); // a certificate that expires within 30 days
  receiver = await startWebhookReceiver();
  gw = await startGateway({ config: {
    portal: { signup: 'open', password_scrypt_log2_n: 10, login_max_failures: 3 },
    rate_limit: { requests_per_second: 0 },
    outbound: { allow_private_targets: true },
    plugins: [{ name: 'apple-signer' }, { name: 'google-jwt', config: { max_jwt_length: 100000 } }, { name: 'apns' },
      { name: 'geofence' }, { name: 'webhooks', config: { allow_http: true } }],
  } });
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/test installs Debian's chromium`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  page = watch(await context.newPage());
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  if (browser) await browser.close();
  if (gw) await gw.stop();
  if (receiver) await receiver.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const heading = (p = page) => p.locator('main h1');
/** Opens a screen and waits until it is drawn (a hash change keeps the old screen until then). */
async function go(route, p = page) {
  await p.goto(`${gw.url}/dashboard/#${route}`);
  await p.locator(`main[data-ready="${route.split('?')[0]}"]`).waitFor();
}

/** Every control of the page has a label (its own, aria-label or aria-labelledby). */
async function unlabelled(p = page) {
  return p.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((el) => el.type !== 'hidden' && !el.closest('[hidden]'))
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
    .map((el) => el.outerHTML.slice(0, 120)));
}

/**
 * Text whose contrast with what is behind it is below WCAG AA: 4.5:1, or 3:1 for large text (24 px,
 * or 18.66 px bold). The background is the first opaque one up the tree; the pass previews (the
 * user's own colours) and disabled controls are left out.
 */
async function lowContrast(p = page) {
  return p.evaluate(() => {
    const rgb = (c) => { const m = c.match(/[\d.]+/g); return m ? m.map(Number) : null; };
    const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
      .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
    const bgOf = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c && (c.length < 4 || c[3] === 1)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const out = [];
    for (const el of document.querySelectorAll('body *')) {
      if (el.closest('.previews, .pv-stage, [disabled], svg, noscript, .skip')) continue;
      if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
      const cs = getComputedStyle(el);
      if (cs.visibility === 'hidden' || cs.display === 'none' || el.getClientRects().length === 0) continue;
      const fg = rgb(cs.color).slice(0, 3), bg = bgOf(el);
      const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
      const ratio = (a + 0.05) / (b + 0.05);
      const size = parseFloat(cs.fontSize), bold = Number(cs.fontWeight) >= 700;
      const need = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;
      if (ratio < need) out.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 40)}": ${ratio.toFixed(2)}:1`);
    }
    return out;
  });
}

async function shot(name, p = page, width = 'desktop') {
  // the picture of the screen, without the passing notices of earlier steps
  await p.evaluate(async () => {
    const t = document.getElementById('toast');
    if (t) t.replaceChildren();
    window.scrollTo(0, 0); // a full-page picture: sticky parts where they sit at the top
    if (document.fonts) await document.fonts.ready;
  });
  // desktop: the whole page; a phone: the first screenful, as the phone shows it
  await p.screenshot({ path: path.join(SHOTS, `dashboard-${name}-${width}.png`), fullPage: width === 'desktop' });
}

test('sign up, sign out and sign in', async () => {
  await page.goto(gw.url + '/');
  await waitFor(() => page.url().includes('#/login'), { what: 'the sign-in page' });
  assert.equal(await heading().textContent(), 'Sign in to WalletPass');
  await shot('signin');
  await page.getByRole('link', { name: 'Sign up' }).click();
  await page.getByLabel('Company or project name').fill('Solstice Coffee');
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await shot('signup');
  await page.getByRole('button', { name: 'Create the account' }).click();
  await page.locator('main h1', { hasText: 'Passes' }).waitFor();
  assert.equal(await page.locator('.topbar .who').textContent(), 'Signed in as ' + EMAIL);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('main h1', { hasText: 'Sign in' }).waitFor();
  // a wrong password: said next to the form, nothing else
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('The email or the password is wrong.').waitFor();
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('main h1', { hasText: 'Passes' }).waitFor();
  state.account = gw.sql(`SELECT account_id FROM portal_users WHERE email = '${EMAIL}'`);
  assert.match(state.account, /^acct_/);
});

test('credentials: the Apple P12 and ids, a certificate expiring within 30 days flagged, then the test credentials and Google\'s', async () => {
  await go('/credentials');
  const apple = page.locator('section', { has: page.getByRole('heading', { name: 'Apple Wallet' }) });
  // a wrong P12 password comes back next to its field
  await apple.getByLabel('Certificate and key (.p12)').setInputFiles(path.join(dir, 'pki', 'soon.p12'));
  await apple.getByLabel('The .p12 password').fill('wrong');
  await apple.getByLabel('Pass Type ID').fill(PTID);
  await apple.getByLabel('Team ID').fill(TEAM);
  await apple.getByRole('button', { name: 'Upload' }).click();
  const pwError = apple.locator('[data-error-for="p12_password"]');
  await waitFor(async () => (await pwError.textContent()).length > 0, { what: 'the error next to the password' });
  assert.equal(await apple.getByLabel('The .p12 password').getAttribute('aria-invalid'), 'true');
  // the right one: stored, and its certificate expires within 30 days
  await apple.getByLabel('The .p12 password').fill(P12_PASSWORD);
  await apple.getByLabel('Apple WWDR intermediate (optional, PEM)').setInputFiles(path.join(dir, 'pki', 'wwdr.pem'));
  await apple.getByRole('button', { name: 'Upload' }).click();
  await page.locator('[data-expiry="soon"]').waitFor();
  assert.match(await page.locator('[data-expiry="soon"]').textContent(), /expires in (29|30) days/);
  assert.match(await apple.textContent(), new RegExp(`OU=${TEAM}`));
  await shot('credentials-expiring');
  // the test credentials (scripts/make-test-credentials): 90 days
  await apple.getByLabel('Certificate and key (.p12)').setInputFiles(path.join(dir, 'creds', 'TEST-pass.p12'));
  await apple.getByLabel('The .p12 password').fill('test-only');
  await apple.getByLabel('Pass Type ID').fill(PTID);
  await apple.getByLabel('Team ID').fill('TEST000000');
  await apple.getByLabel('Apple WWDR intermediate (optional, PEM)').setInputFiles(path.join(dir, 'creds', 'TEST-wwdr.pem'));
  await apple.getByRole('button', { name: 'Replace the credentials' }).click();
  await page.locator('[data-expiry="ok"]').waitFor();
  assert.match(await apple.textContent(), /TEST000000/);
  const google = page.locator('section', { has: page.getByRole('heading', { name: 'Google Wallet' }) });
  await google.getByLabel('Issuer ID').fill(state.issuer);
  await google.getByLabel('Service account key (JSON)').setInputFiles(path.join(dir, 'service-account.json'));
  await google.getByRole('button', { name: 'Upload' }).click();
  await google.getByText('test-only@walletpass-test-only.iam.gserviceaccount.com').waitFor();
  assert.deepEqual(await unlabelled(), []);
  await shot('credentials');
});

test('designer: a loyalty pass, the previews follow the form, the API\'s errors next to the fields, saved as a template', async () => {
  await go('/designer');
  const front = page.locator('[data-preview="apple-front"]');
  await front.waitFor();
  assert.equal(await front.getAttribute('data-style'), 'storeCard');
  await page.getByLabel('Organisation name').fill(ORG);
  await page.getByLabel('Logo text').fill('Solstice');
  await waitFor(async () => (await front.locator('.pv-logotext').textContent()) === 'Solstice', { what: 'the logo text in the preview' });
  // colours: the preview's background follows
  await page.locator('input[data-param="background_color"]').fill('#0a3d2e');
  await waitFor(async () => (await front.evaluate((el) => getComputedStyle(el).backgroundColor)) === 'rgb(10, 61, 46)', { what: 'the background colour in the preview' });
  await page.getByLabel('Points').fill('2,450');
  await waitFor(async () => /2,450/.test(await front.textContent()), { what: 'the points in the header' });
  await page.getByLabel('Member name').fill('Ada L.');
  await page.getByLabel('Programme name').fill('Solstice Rewards');
  await page.getByLabel('Message', { exact: true }).fill('MEMBER-00421');
  await page.getByRole('button', { name: 'Add to back fields' }).click();
  await page.getByLabel('Back fields 1: label').fill('Terms');
  await page.getByLabel('Back fields 1: value').fill('One stamp per coffee. <script>alert(1)</script>');
  await front.locator('.pv-code svg').waitFor();
  await shot('designer');
  // the back and Google, by keyboard: arrows move along the tabs
  await page.getByRole('tab', { name: 'Apple front' }).focus();
  await page.keyboard.press('ArrowRight');
  const back = page.locator('[data-preview="apple-back"]');
  await back.waitFor();
  assert.match(await back.textContent(), /Terms/);
  assert.match(await back.textContent(), /<script>alert\(1\)<\/script>/, 'shown as text');
  assert.match(await back.textContent(), /Solstice Rewards/, 'the programme name goes to the back');
  await page.keyboard.press('ArrowRight');
  const g = page.locator('[data-preview="google"]');
  await g.waitFor();
  assert.equal(await g.getAttribute('data-type'), 'loyalty');
  assert.equal(await g.locator('.g-title').textContent(), 'Solstice Rewards');
  assert.match(await g.textContent(), /Ada L\./);
  await shot('designer-google');
  // values are text, never markup: no <b>, no <script> element came of them
  assert.equal(await page.locator('.previews b, .previews script').count(), 0);
  await page.getByRole('tab', { name: 'Apple front' }).click();
  assert.equal(await front.locator('.pv-logotext').count(), 1);

  // the API's refusals land next to their fields
  await page.getByLabel('Back fields 1: key').fill('bad key!');
  await page.getByRole('button', { name: 'Issue the pass' }).click();
  const keyErr = page.locator('[data-error-for="back_fields[0].key"]');
  await waitFor(async () => /letters, digits/.test(await keyErr.textContent()), { what: 'the error next to back_fields[0].key' });
  assert.equal(await page.getByLabel('Back fields 1: key').getAttribute('aria-invalid'), 'true');
  await page.getByLabel('Back fields 1: key').fill('terms');
  await page.getByLabel('Organisation name').fill('');
  await page.getByRole('button', { name: 'Issue the pass' }).click();
  await waitFor(async () => (await page.locator('[data-error-for="organization_name"]').textContent()).length > 0, { what: 'the error next to organization_name' });
  await shot('designer-errors');
  await page.getByLabel('Organisation name').fill(ORG);
  // a location: a latitude out of range is named next to its field, then one the geofence plugin takes
  await page.getByRole('button', { name: 'Add a location' }).click();
  await page.getByLabel('Location 1: latitude').fill('95');
  await page.getByLabel('Location 1: longitude').fill('2.2945');
  await page.getByRole('button', { name: 'Issue the pass' }).click();
  const latErr = page.locator('[data-error-for="locations[0].latitude"]');
  await waitFor(async () => /latitude/.test(await latErr.textContent()), { what: 'the error next to locations[0].latitude' });
  assert.equal(await page.getByLabel('Location 1: latitude').getAttribute('aria-invalid'), 'true');
  await page.getByLabel('Location 1: latitude').fill('48.8584');
  await page.getByLabel('Location 1: text on the lock screen').fill('Solstice is around the corner');
  // a second one, removed again
  await page.getByRole('button', { name: 'Add a location' }).click();
  await page.getByLabel('Location 2: latitude').fill('1');
  await page.getByRole('button', { name: 'Remove location 2' }).click();
  assert.equal(await page.getByLabel('Location 2: latitude').count(), 0);
  assert.equal(gw.sql(`SELECT count(*) FROM passes WHERE account_id = '${state.account}'`), '0', 'nothing was issued');

  await page.getByLabel('Template name').fill('Solstice loyalty');
  await page.getByRole('button', { name: 'Save as a new template' }).click();
  await page.locator('main h1', { hasText: 'Template: Solstice loyalty' }).waitFor();
  state.template = decodeURIComponent(page.url().split('/designer/template/')[1]);
  assert.match(state.template, /^tpl_/);
  const body = JSON.parse(gw.sql(`SELECT body FROM templates WHERE id = '${state.template}'`));
  assert.equal(body.organization_name, ORG);
  assert.equal(body.background_color, '#0a3d2e');
  assert.equal(body.points, '2,450');
  assert.deepEqual(body.back_fields, [{ key: 'terms', label: 'Terms', value: 'One stamp per coffee. <script>alert(1)</script>' }]);
  // the location, as the API answers the template
  const tpl = await page.evaluate(async (id) => (await fetch(`/portal/api/v1/templates/${id}`)).json(), state.template);
  assert.deepEqual(tpl.body.locations, LOCATIONS);
  assert.deepEqual(await unlabelled(), []);
});

test('designer: each type has its Apple style, its Google type and its own fields', async () => {
  await go('/designer');
  const front = page.locator('[data-preview="apple-front"]');
  await page.getByLabel('Organisation name').fill('Types');
  for (const [type, label, style, gtype, fieldLabel, value] of [
    ['event', 'Event ticket', 'eventTicket', 'eventTicket', 'Event name', 'Jazz night'],
    ['coupon', 'Coupon', 'coupon', 'offer', 'Offer', '20 % off'],
    ['generic', 'Generic', 'generic', 'generic', null, null],
  ]) {
    await page.getByLabel('Type', { exact: true }).selectOption(type);
    await waitFor(async () => (await front.getAttribute('data-style')) === style, { what: `the ${style} style` });
    if (fieldLabel) {
      // required by the API: issuing without it names the field
      await page.getByRole('button', { name: 'Issue the pass' }).click();
      const param = type === 'event' ? 'event_name' : 'offer_title';
      await waitFor(async () => (await page.locator(`[data-error-for="${param}"]`).textContent()).length > 0, { what: `the error next to ${param}` });
      await page.getByLabel(new RegExp('^' + fieldLabel)).fill(value);
      await waitFor(async () => (await front.textContent()).includes(value), { what: `${value} on the front` });
    }
    await page.getByRole('tab', { name: 'Google' }).click();
    assert.equal(await page.locator('[data-preview="google"]').getAttribute('data-type'), gtype);
    if (value) assert.match(await page.locator('[data-preview="google"] .g-title').textContent(), new RegExp(value));
    await page.getByRole('tab', { name: 'Apple front' }).click();
    await shot(`designer-${type}`);
  }
  assert.equal(gw.sql(`SELECT count(*) FROM passes WHERE account_id = '${state.account}'`), '0', 'nothing was issued');
});

test('issue a pass from the template: its Apple and Google links and the QR code of its share link', async () => {
  await go(`/designer/template/${state.template}`);
  await page.getByLabel('Serial number').fill('MEMBER-00421');
  await page.getByRole('button', { name: 'Issue a pass from this template' }).click();
  const result = page.locator('#result');
  await result.getByRole('heading', { name: 'Pass issued' }).waitFor();
  state.pkpass = await result.locator('[data-link="apple"]').getAttribute('href');
  state.save = await result.locator('[data-link="google"]').getAttribute('href');
  state.share = await result.getByLabel('Share link').inputValue();
  assert.match(state.pkpass, new RegExp(`^${gw.url}/api/v1/passes/pass_[0-9a-z]{26}/pkpass\\?t=`));
  assert.match(state.save, /^https:\/\/pay\.google\.com\/gp\/v\/save\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  assert.match(state.share, new RegExp(`^${gw.url}/p/pass_`));
  state.pass = /passes\/(pass_[0-9a-z]{26})\//.exec(state.pkpass)[1];
  const qr = result.locator('img[data-qr="share"]');
  await waitFor(() => qr.evaluate((img) => img.complete && img.naturalWidth > 0), { what: 'the QR code image' });
  // the QR code is the share link: the same picture the gateway draws for it
  const svg = await page.evaluate(async (src) => (await fetch(src)).text(), await qr.getAttribute('src'));
  assert.match(svg, /^<svg /);
  assert.ok((await qr.getAttribute('src')).includes(encodeURIComponent(state.share)));
  // made from the template, with its own serial number only
  assert.equal(gw.sql(`SELECT template_id FROM passes WHERE id = '${state.pass}'`), state.template);
  // the template's location, on the pass as the API answers it
  const p = await page.evaluate(async (id) => (await fetch(`/portal/api/v1/passes/${id}`)).json(), state.pass);
  assert.deepEqual(p.locations, LOCATIONS);
  await shot('issued');
});

test('the pkpass downloads, and its signature verifies against the test WWDR', async () => {
  const r = await fetch(state.pkpass);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/vnd.apple.pkpass');
  const buf = Buffer.from(await r.arrayBuffer());
  assert.equal(buf.subarray(0, 4).toString('binary'), 'PK\x03\x04');
  const d = path.join(dir, 'pkpass');
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, 'p.pkpass'), buf);
  execFileSync('unzip', ['-q', path.join(d, 'p.pkpass'), '-d', path.join(d, 'x')]);
  const x = path.join(d, 'x');
  const files = fs.readdirSync(x).sort();
  const manifest = JSON.parse(fs.readFileSync(path.join(x, 'manifest.json'), 'utf8'));
  assert.deepEqual(Object.keys(manifest).sort(), files.filter((f) => f !== 'manifest.json' && f !== 'signature'));
  for (const [name, hash] of Object.entries(manifest))
    assert.equal(hash, crypto.createHash('sha1').update(fs.readFileSync(path.join(x, name))).digest('hex'), name);
  ssl('smime', '-verify', '-binary', '-inform', 'DER', '-in', path.join(x, 'signature'), '-content', path.join(x, 'manifest.json'),
    '-CAfile', path.join(dir, 'creds', 'TEST-wwdr.pem'), '-purpose', 'any', '-out', path.join(d, 'verified'));
  assert.deepEqual(fs.readFileSync(path.join(d, 'verified')), fs.readFileSync(path.join(x, 'manifest.json')));
  const printed = ssl('cms', '-cmsout', '-print', '-inform', 'DER', '-in', path.join(x, 'signature'));
  assert.match(printed, /signingTime/);
  assert.match(printed, /eContent: <ABSENT>/);
  const pj = JSON.parse(fs.readFileSync(path.join(x, 'pass.json'), 'utf8'));
  assert.equal(pj.passTypeIdentifier, PTID);
  assert.equal(pj.serialNumber, 'MEMBER-00421');
  assert.equal(pj.organizationName, ORG);
  assert.equal(pj.backgroundColor, 'rgb(10, 61, 46)');
  assert.ok(pj.storeCard, 'a loyalty pass is a store card');
  assert.deepEqual(pj.barcodes[0].message, 'MEMBER-00421');
  assert.deepEqual(pj.locations.map((l) => [l.latitude, l.longitude, l.relevantText]), [[48.8584, 2.2945, 'Solstice is around the corner']]);
});

test('passes: search, the pass page (fields, versions, devices, Google state), update and notify', async () => {
  await go('/passes');
  await page.getByLabel('Search', { exact: true }).fill('MEMBER-00421');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: 'MEMBER-00421' }).waitFor();
  assert.equal(await page.locator('main tbody tr').count(), 1);
  await shot('passes');
  await page.getByRole('link', { name: 'MEMBER-00421' }).click();
  await page.locator('main h1', { hasText: 'MEMBER-00421' }).waitFor();
  const main = page.locator('main');
  await main.getByRole('heading', { name: 'Versions' }).waitFor();
  assert.match(await main.textContent(), /pass\.created/);
  assert.match(await main.textContent(), /No Apple device holds this pass yet/);
  assert.match(await main.textContent(), /Google object\s*ACTIVE/);
  // the Google Wallet object as the google-jwt plugin knows it: not written to Google by the gateway yet
  const gsec = main.locator('section[aria-labelledby="google-h"]');
  await gsec.locator('dl[data-google="ACTIVE"]').waitFor();
  assert.match(await gsec.textContent(), new RegExp(`Object\\s*${state.issuer}\\.${state.pass}`));
  assert.match(await gsec.textContent(), /Written to Google\s*not by this gateway yet/);
  assert.match(await gsec.textContent(), /Notifications \(24 h\)\s*0 of 3/);
  assert.match(await main.textContent(), /organization_name/);
  assert.equal(await main.locator('.previews b').count(), 0);
  // update: the designer with the pass, one field changed
  await main.getByRole('link', { name: 'Edit' }).click();
  await page.locator('main h1', { hasText: 'Edit pass MEMBER-00421' }).waitFor();
  await page.getByLabel('Points').fill('2,470');
  await page.getByRole('button', { name: 'Save the pass' }).click();
  await page.locator('main h1', { hasText: 'Pass MEMBER-00421' }).waitFor();
  await waitFor(async () => /pass\.updated/.test(await page.locator('main').textContent()), { what: 'the new version' });
  assert.match(await page.locator('main').textContent(), /points/);
  assert.equal(JSON.parse(gw.sql(`SELECT body FROM passes WHERE id = '${state.pass}'`)).points, '2,470');
  assert.equal(gw.sql(`SELECT version FROM passes WHERE id = '${state.pass}'`), '2');
  // notify
  await page.getByLabel('Lock-screen message').fill('Double points until Sunday!');
  await page.getByRole('button', { name: 'Send the message' }).click();
  await page.getByText('Message queued for every holder of the pass.').waitFor();
  assert.equal(gw.sql(`SELECT count(*) FROM pass_notifications WHERE pass_id = '${state.pass}'`), '1');
  // a sync that left Google with an older content: written, synced, not up to date
  gw.sql(`INSERT INTO google_jwt_objects (account_id, object_id, content_hash, synced_at) VALUES ('${state.account}',
    '${state.issuer}.${state.pass}', '${'0'.repeat(64)}', now()) ON CONFLICT (account_id, object_id) DO UPDATE SET content_hash = EXCLUDED.content_hash, synced_at = now()`);
  await page.reload(); // the same route: go() would keep the page drawn before
  await page.locator(`main[data-ready="/passes/${state.pass}"]`).waitFor();
  const gsec2 = page.locator('main section[aria-labelledby="google-h"]');
  await gsec2.locator('dl[data-google="ACTIVE"]').waitFor();
  assert.doesNotMatch(await gsec2.textContent(), /not by this gateway yet/);
  assert.match(await gsec2.textContent(), /Up to date\s*no: a sync is on its way, or failed/);
  await shot('pass');
});

test('API keys: a key shown once with its copy button, and the API answers it', async () => {
  await go('/keys');
  await page.getByLabel('Name').fill('ci');
  await page.getByRole('button', { name: 'Create a key' }).click();
  const secret = page.getByRole('textbox', { name: 'API key' });
  await secret.waitFor();
  state.key = await secret.inputValue();
  assert.match(state.key, /^sk_live_[A-Za-z0-9_-]{43}$/);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.url });
  await page.locator('#secret-h').locator('..').getByRole('button', { name: 'Copy' }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), state.key);
  await shot('keys');
  const r = await gw.request('GET', `/api/v1/passes/${state.pass}`, { key: state.key });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.serial_number, 'MEMBER-00421');
  // the secret is nowhere once the page is left
  await go('/passes');
  await go('/keys');
  assert.equal(await page.getByRole('textbox', { name: 'API key' }).count(), 0);
  assert.ok(!(await page.content()).includes(state.key));
  // rotate: a new secret, the old one refused
  await page.getByRole('button', { name: 'Rotate the key ci' }).click();
  const rotated = await page.getByRole('textbox', { name: 'API key' }).inputValue();
  assert.notEqual(rotated, state.key);
  assert.equal((await gw.request('GET', '/api/v1/account', { key: state.key })).status, 401);
  assert.equal((await gw.request('GET', '/api/v1/account', { key: rotated })).status, 200);
  state.key = rotated;
});

test('webhooks: an endpoint, a test delivery and a real one in its log, retried', async () => {
  await go('/webhooks');
  const url = receiver.url('/hook');
  await page.getByLabel('URL').fill(url);
  await page.getByRole('button', { name: 'Add the endpoint' }).click();
  const secret = await page.getByRole('textbox', { name: 'Signing secret' }).inputValue();
  assert.match(secret, /^whsec_/);
  receiver.setSecret('/hook', secret);
  await page.getByRole('link', { name: 'Open the endpoint' }).click();
  await page.locator('main h1', { hasText: url }).waitFor();
  await page.getByRole('button', { name: 'Send a test' }).click();
  await page.locator('main tbody tr', { hasText: 'webhook.test' }).waitFor();
  assert.match(await page.locator('main tbody tr', { hasText: 'webhook.test' }).textContent(), /succeeded/);
  // a pass made with the API key becomes a delivery
  const p = await gw.request('POST', '/api/v1/passes', { key: state.key, body: { template_id: state.template, serial_number: 'MEMBER-00422' } });
  assert.equal(p.status, 201, p.text);
  await waitFor(() => receiver.seen.some((r) => r.event && r.event.type === 'pass.created' && r.verified), { what: 'the delivery at the receiver' });
  await waitFor(async () => {
    await page.getByRole('button', { name: 'Refresh' }).click();
    const row = page.locator('main tbody tr', { hasText: 'pass.created' });
    return (await row.count()) === 1 && /succeeded/.test(await row.textContent());
  }, { what: 'the delivery in the log' });
  const row = page.locator('main tbody tr', { hasText: 'pass.created' });
  await row.locator('summary').click();
  assert.match(await row.textContent(), /HTTP 200/);
  await shot('webhook');
  const before = receiver.seen.length;
  await row.getByRole('button', { name: /Retry/ }).click();
  await waitFor(() => receiver.seen.length > before, { what: 'the retried delivery' });
  await go('/webhooks');
  await shot('webhooks');
});

test('access log: filtered, and exported as CSV', async () => {
  await waitFor(() => Number(gw.sql(`SELECT count(*) FROM access_logs WHERE account_id = '${state.account}' AND kind = 'api'`)) >= 3, { what: 'the API calls in the log' });
  await go('/logs');
  await page.getByLabel('Path starts with').fill('/api/v1/passes');
  await page.getByLabel('Kind').selectOption('api');
  await page.getByRole('button', { name: 'Filter' }).click();
  await waitFor(async () => {
    const paths = await page.locator('main tbody tr td:nth-child(3)').allTextContents();
    return paths.length > 0 && paths.every((x) => x.startsWith('/api/v1/passes'));
  }, { what: 'filtered rows' });
  await shot('logs');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  assert.equal(download.suggestedFilename(), 'walletpass-logs.csv');
  const csv = fs.readFileSync(await download.path(), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'id,time,ip,method,path,status,latency_ms,key_prefix,request_id,kind');
  assert.ok(csv.length >= 2, csv.join('\n'));
  for (const line of csv.slice(1)) {
    assert.match(line, /^"log_\d+","[^"]+","[^"]+","[A-Z]+","\/api\/v1\/passes/);
    assert.ok(line.endsWith('"api"'), line);
  }
  // the sign-ins, failed one included
  await page.getByLabel('Path starts with').fill('');
  await page.getByLabel('Kind').selectOption('login');
  await page.getByRole('button', { name: 'Filter' }).click();
  await waitFor(async () => {
    const paths = await page.locator('main tbody tr td:nth-child(3)').allTextContents();
    return paths.length >= 2 && paths.every((x) => x === '/portal/api/login');
  }, { what: 'the sign-ins' });
  assert.match(await page.locator('main tbody').textContent(), /401/);
});

test('usage, device logs, sub-accounts (acting as one) and settings', async () => {
  await go('/usage');
  assert.match(await page.locator('main').textContent(), /operations/);
  assert.equal(await page.locator('[role=progressbar]').count() + (await page.getByText('no monthly limit').count()), 1);
  await shot('usage');
  await go('/devices');
  assert.match(await page.locator('main').textContent(), /No device has reported anything yet/);
  await shot('devices');
  await go('/accounts');
  await page.getByLabel('Name').fill('Bakery Ltd');
  await page.getByLabel('Email').fill('bakery@clients.example');
  await page.getByLabel('Monthly allocation').fill('100');
  await page.getByRole('button', { name: 'Create the sub-account' }).click();
  await page.locator('main tbody tr', { hasText: 'Bakery Ltd' }).waitFor();
  await shot('accounts');
  await page.getByRole('button', { name: 'Act as Bakery Ltd' }).click();
  await page.locator('.acting', { hasText: 'Bakery Ltd' }).waitFor();
  await page.locator('main h1', { hasText: 'Passes' }).waitFor();
  await page.getByText('No passes yet').waitFor();
  await page.getByRole('button', { name: /Back to/ }).click();
  await page.locator('main tbody tr', { hasText: 'MEMBER-00421' }).waitFor();
  await go('/settings');
  assert.match(await page.locator('main').textContent(), new RegExp(EMAIL.replace('.', '\\.')));
  await page.getByRole('button', { name: 'Create an invitation link' }).click();
  assert.match(await page.getByRole('textbox', { name: 'Invitation link' }).inputValue(), /\/dashboard\/#\/signup\?invite=/);
  await shot('settings');
});

test('test mode: the test workspace, as a test key sees it', async () => {
  await go('/passes');
  await page.getByLabel('Test mode', { exact: true }).check();
  await page.locator('.acting.test').waitFor();
  await page.getByText('No passes yet').waitFor();
  await go('/keys');
  await page.getByRole('button', { name: 'Create a key' }).click();
  assert.match(await page.getByRole('textbox', { name: 'API key' }).inputValue(), /^sk_test_/);
  await shot('test-mode');
  await page.getByLabel('Test mode', { exact: true }).uncheck();
  await go('/passes');
  await page.locator('main tbody tr', { hasText: 'MEMBER-00421' }).waitFor();
  assert.equal(await page.locator('.acting.test').count(), 0);
});

test('portal security from the browser: cookie flags, no CSRF token 403, another account\'s ids 404, lockout', async () => {
  const cookies = await context.cookies();
  const c = cookies.find((x) => x.name === 'wp_session');
  assert.ok(c, 'the session cookie');
  assert.equal(c.httpOnly, true);
  assert.equal(c.sameSite, 'Lax');
  assert.equal(c.path, '/portal');
  assert.equal(await page.evaluate(() => document.cookie.includes('wp_session')), false, 'scripts cannot read it');
  // a state-changing call without the CSRF token
  const r = await page.evaluate(async () => {
    const x = await fetch('/portal/api/v1/api_keys', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    return { status: x.status, body: await x.json() };
  });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'csrf_token_invalid');
  // another account: its own session sees none of the first account's objects
  const other = await browser.newContext();
  const p2 = watch(await other.newPage());
  await p2.goto(`${gw.url}/dashboard/#/signup`);
  await p2.getByLabel('Email').fill('other@example.com');
  await p2.getByLabel('Password').fill(PASSWORD);
  await p2.getByRole('button', { name: 'Create the account' }).click();
  await p2.locator('main h1', { hasText: 'Passes' }).waitFor();
  const foreign = await p2.evaluate(async (id) => {
    const a = await fetch(`/portal/api/v1/passes/${id}`);
    const b = await fetch('/portal/api/v1/passes');
    const g = await fetch(`/portal/api/v1/passes/${id}/google`);
    return { status: a.status, code: (await a.json()).error.code, list: (await b.json()).data.length, google: g.status };
  }, state.pass);
  assert.deepEqual(foreign, { status: 404, code: 'resource_missing', list: 0, google: 404 });
  await p2.goto(`${gw.url}/dashboard/#/passes/${state.pass}`);
  await p2.locator('main h1', { hasText: 'Not found' }).waitFor();
  assert.match(await p2.locator('main').textContent(), new RegExp(`no pass ${state.pass}`));
  await other.close();
  // lockout: the third failure locks the email (login_max_failures 3), the right password included
  const third = await browser.newContext();
  const p3 = watch(await third.newPage());
  await p3.goto(`${gw.url}/dashboard/#/login`);
  for (let i = 0; i < 3; i++) {
    await p3.getByLabel('Email').fill('other@example.com');
    await p3.getByLabel('Password').fill('wrong password ' + i);
    await p3.getByRole('button', { name: 'Sign in' }).click();
    await p3.getByText('The email or the password is wrong.').waitFor();
  }
  await p3.getByLabel('Email').fill('other@example.com');
  await p3.getByLabel('Password').fill(PASSWORD);
  await p3.getByRole('button', { name: 'Sign in' }).click();
  await p3.getByText(/Too many failed sign-ins/).waitFor();
  assert.equal(await p3.locator('main h1').textContent(), 'Sign in to WalletPass');
  await third.close();
});

test('every screen at desktop and phone width: a heading, every control labelled, AA contrast, no script error, no CSP refusal', async () => {
  const screens = ['/passes', `/passes/${state.pass}`, '/designer', `/designer/template/${state.template}`, '/templates', '/credentials',
    '/keys', '/webhooks', '/logs', '/usage', '/devices', '/accounts', '/settings'];
  const names = ['passes', 'pass', 'designer', 'template', 'templates', 'credentials', 'keys', 'webhooks', 'logs', 'usage', 'devices', 'accounts', 'settings'];
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
  const pp = watch(await phone.newPage());
  await pp.goto(`${gw.url}/dashboard/#/login`);
  await shot('signin', pp, 'phone');
  await pp.getByLabel('Email').fill(EMAIL);
  await pp.getByLabel('Password').fill(PASSWORD);
  await pp.getByRole('button', { name: 'Sign in' }).click();
  await pp.locator('main h1', { hasText: 'Passes' }).waitFor();
  for (const [i, route] of screens.entries()) {
    for (const [p, width] of [[page, 'desktop'], [pp, 'phone']]) {
      await go(route, p);
      assert.equal(await p.locator('main h1').count(), 1, `${route}: one h1`);
      assert.deepEqual(await unlabelled(p), [], `${route} (${width}): unlabelled controls`);
      assert.deepEqual(await lowContrast(p), [], `${route} (${width}): text below WCAG AA contrast`);
      // nothing wider than the screen: the page scrolls down, never sideways
      const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 1, `${route} (${width}): ${overflow} px wider than the screen`);
      if (width === 'phone' || !['passes', 'credentials', 'keys', 'webhooks', 'logs', 'usage', 'devices', 'accounts', 'settings', 'pass', 'designer'].includes(names[i]))
        await shot(names[i], p, width);
    }
  }
  // the navigation on a phone: behind a button that says whether it is open
  const toggle = pp.getByRole('button', { name: 'Menu' });
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  await shot('menu', pp, 'phone');
  await pp.getByRole('link', { name: 'Access log' }).click();
  await pp.locator('main h1', { hasText: 'Access log' }).waitFor();
  await phone.close();
  assert.deepEqual(problems, []);
});

test('no value is ever parsed as HTML: the dashboard\'s code has no HTML sink', () => {
  const root = path.join(SOURCE_DIR, 'dashboard');
  const files = [];
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk(path.join(d, e.name)) : files.push(path.join(d, e.name))); };
  walk(root);
  const sinks = /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML\s*\(|document\.write\s*\(|createContextualFragment|new DOMParser|\beval\s*\(|new Function\s*\(/;
  const found = files.filter((f) => /\.(js|mjs|html)$/.test(f)).flatMap((f) => fs.readFileSync(f, 'utf8').split('\n')
    .map((l, i) => [l, i]).filter(([l]) => sinks.test(l)).map(([l, i]) => `${path.relative(root, f)}:${i + 1}: ${l.trim()}`));
  assert.deepEqual(found, []);
  // and the HTML has no inline script, handler or style
  const html = fs.readFileSync(path.join(root, 'index.html'), 'utf8');
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=/i);
});
