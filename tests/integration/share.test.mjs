// The share page, GET /p/<capability> (no API key): share_url on every pass resource; the page over
// plain HTTP (escaping of every value from the pass, no script, the security headers, 404 for any
// wrong capability, a voided pass, no links yet); then in Chromium (Debian's, driven by playwright-core)
// as an iPhone, an Android phone and a desktop browser: the right buttons with the pass's links, the
// logo and the style actually applied under the Content-Security-Policy with no violation, and on the
// desktop a QR code that decodes (zbarimg) to the page's own URL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startGateway, assertError, SOURCE_DIR } from './lib/harness.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-share-'));
const CHROMIUM = process.env.WP_CHROMIUM || '/usr/bin/chromium';
const LOGO = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const HOSTILE = `Café "Quote's" <script>alert(1)</script> & <img src=x onerror=alert(2)>`;
const UA = {
  iphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1',
  android: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36',
  desktop: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
};

let gw, plain, a, b, pass, linked, browser;

before(async () => {
  execFileSync(path.join(SOURCE_DIR, 'scripts', 'make-test-credentials'), [dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  // one gateway with the platform plugins (links), one without (no links yet)
  gw = await startGateway({ config: { rate_limit: { requests_per_second: 0 },
    plugins: [{ name: 'apple-signer' }, { name: 'google-jwt', config: { max_jwt_length: 100000 } }] } });
  plain = await startGateway({ config: { rate_limit: { requests_per_second: 0 } } });
  a = gw.account();
  b = gw.account();
  for (const p of ['apple', 'google']) {
    const r = await gw.request('PUT', `/api/v1/credentials/${p}`, { key: a.key,
      body: JSON.parse(fs.readFileSync(path.join(dir, `${p}-credentials.json`), 'utf8')) });
    assert.equal(r.status, 200, r.text);
  }
  const r = await gw.request('POST', '/api/v1/passes', { key: a.key, body: {
    pass_type: 'loyalty', organization_name: HOSTILE, logo_text: 'Solstice', program_name: 'Solstice <b>Rewards</b>',
    images: { logo: LOGO } } });
  assert.equal(r.status, 201, r.text);
  linked = r.body;
});

after(async () => {
  if (browser) await browser.close();
  if (gw) await gw.stop();
  if (plain) await plain.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const get = (url, headers = {}) => fetch(url, { headers }).then(async (r) => ({ status: r.status, headers: r.headers, text: await r.text() }));

test('every pass resource carries share_url: <public_url>/p/<id>.<capability>', async () => {
  const re = new RegExp(`^${gw.url.replace(/[.]/g, '\\.')}/p/${linked.id}\\.[A-Za-z0-9_-]{32}$`);
  assert.match(linked.share_url, re);
  const got = await gw.request('GET', `/api/v1/passes/${linked.id}`, { key: a.key });
  assert.equal(got.body.share_url, linked.share_url, 'stable across reads');
  const list = await gw.request('GET', '/api/v1/passes', { key: a.key });
  assert.equal(list.body.data.find((p) => p.id === linked.id).share_url, linked.share_url);
  const upd = await gw.request('PUT', `/api/v1/passes/${linked.id}`, { key: a.key, body: { logo_text: 'Solstice' } });
  assert.equal(upd.body.share_url, linked.share_url);
  assert.notEqual(new URL(linked.share_url).pathname.split('.')[1], new URL(linked.pkpass_url).searchParams.get('t'),
    'the share capability is not the download capability');
});

test('the page: the pass name and logo, every value escaped, no script, strict CSP, no Referer', async () => {
  const r = await get(linked.share_url, { 'user-agent': UA.desktop });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /style-src 'sha256-[A-Za-z0-9+/]+=*'/);
  assert.ok(!/unsafe-inline|script-src/.test(csp), csp);
  assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.ok(!/<script/i.test(r.text), 'no script element');
  const tags = r.text.match(/<[a-z][^>]*>/gi); // escaped text has no raw '<': these are the real tags
  assert.ok(tags.length > 10);
  assert.deepEqual(tags.filter((t) => /\son[a-z]+=|\sstyle=/i.test(t.replace(/"[^"]*"/g, '""'))), [], 'no event handler or style attribute');
  assert.ok(r.text.includes('<h1>Solstice &lt;b&gt;Rewards&lt;/b&gt;</h1>'), r.text);
  assert.ok(r.text.includes('Café &quot;Quote&#39;s&quot; &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(2)&gt;'),
    'the organisation, escaped');
  assert.ok(r.text.includes(`<img class="logo" src="data:image/png;base64,${LOGO}"`), 'the logo as a data: URL');
  assert.ok(r.text.includes(`href="${linked.pkpass_url.replace(/&/g, '&amp;')}"`), 'the Apple link');
  assert.ok(r.text.includes(`href="${linked.google_save_url}"`), 'the Google link');
  // query parameters (mail tools add their own) do not break the link; HEAD answers the headers
  assert.equal((await get(linked.share_url + '?utm_source=mail')).status, 200);
  const head = await fetch(linked.share_url, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
});

test('a wrong capability is 404, like an unknown pass: JSON for programs, a page for browsers', async () => {
  const u = new URL(linked.share_url);
  const [id, tok] = u.pathname.slice(3).split('.');
  const other = await gw.request('POST', '/api/v1/passes', { key: b.key, body: { pass_type: 'generic', organization_name: 'B' } });
  const bad = [
    `${id}.${tok.slice(0, -1)}${tok.endsWith('A') ? 'B' : 'A'}`, // one character off
    `${id}.${new URL(linked.pkpass_url).searchParams.get('t')}`, // the download capability
    `${other.body.id}.${tok}`, // another pass with this pass's capability
    `pass_01m8bwe18c9azhk3fk0za7nfgx.${tok}`, // an unknown pass
    id, `${id}.`, `.${tok}`, 'x'.repeat(300), `${id}.${tok}x`,
  ];
  for (const cap of bad) {
    const res = await gw.request('GET', `/p/${encodeURIComponent(cap)}`);
    assertError(res, 404, { code: 'resource_missing', param: 'capability' });
    const html = await get(`${gw.url}/p/${encodeURIComponent(cap)}`, { accept: 'text/html,application/xhtml+xml' });
    assert.equal(html.status, 404, cap);
    assert.match(html.headers.get('content-type'), /^text\/html/);
    assert.match(html.text, /This link is not valid/);
    assert.ok(!html.text.includes('Solstice'), 'nothing of the pass');
  }
  // another account's pass is reached through its own share_url, and only through it
  const otherPage = await get(other.body.share_url);
  assert.equal(otherPage.status, 200);
  assert.match(otherPage.text, /<h1>B<\/h1>/);
});

test('without platform links the page says so; a voided pass is shown as no longer valid', async () => {
  const pa = plain.account();
  const p = await plain.request('POST', '/api/v1/passes', { key: pa.key, body: { pass_type: 'generic', organization_name: 'Plain' } });
  assert.ok(!('pkpass_url' in p.body), 'no platform plugin, no platform key');
  assert.match(p.body.share_url, /\/p\/pass_/);
  for (const ua of [UA.iphone, UA.android, UA.desktop]) {
    const r = await get(p.body.share_url, { 'user-agent': ua });
    assert.equal(r.status, 200);
    assert.match(r.text, /cannot be added to (Apple Wallet|Google Wallet|a wallet) yet/);
    assert.ok(!r.text.includes('class="button'), 'no button without a link');
    assert.ok(!r.text.includes('<svg'), 'no QR code for a page with nothing to add');
  }
  await plain.request('DELETE', `/api/v1/passes/${p.body.id}`, { key: pa.key });
  const v = await get(p.body.share_url, { 'user-agent': UA.iphone });
  assert.equal(v.status, 200);
  assert.match(v.text, /This pass is no longer valid/);
});

// ---- in Chromium -----------------------------------------------------------

async function open(ua, viewport) {
  if (!browser) {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/test installs Debian's chromium`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }
  const context = await browser.newContext({ userAgent: ua, viewport });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' || /Content Security Policy/.test(m.text())) problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  const resp = await page.goto(linked.share_url);
  assert.equal(resp.status(), 200);
  const buttons = await page.getByRole('link').evaluateAll((els) => els.map((e) => ({ name: e.textContent.trim(), href: e.href })));
  const look = await page.evaluate(() => {
    const btn = document.querySelector('.button');
    const logo = document.querySelector('img.logo');
    return {
      buttonBackground: btn && getComputedStyle(btn).backgroundColor,
      bodyMargin: getComputedStyle(document.body).marginTop,
      logoLoaded: !!logo && logo.complete && logo.naturalWidth === 1,
      logoAlt: logo && logo.alt,
      title: document.title,
      qr: !!document.querySelector('figure.qr svg[role="img"] title'),
    };
  });
  return { context, page, buttons, look, problems };
}

test('in Chromium as an iPhone: "Add to Apple Wallet" only, to the pass download', async () => {
  const { context, buttons, look, problems } = await open(UA.iphone, { width: 390, height: 844 });
  assert.deepEqual(buttons, [{ name: 'Add to Apple Wallet', href: linked.pkpass_url }]);
  assert.equal(look.qr, false);
  assert.equal(look.title, 'Solstice <b>Rewards</b>', 'the title is text, not markup');
  assert.ok(look.logoLoaded, 'the data: logo is allowed by the CSP and shown');
  assert.equal(look.logoAlt, `${HOSTILE} logo`);
  assert.equal(look.buttonBackground, 'rgb(0, 0, 0)', 'the hashed <style> is applied');
  assert.equal(look.bodyMargin, '0px');
  assert.deepEqual(problems, []);
  await context.close();
});

test('in Chromium as an Android phone: "Add to Google Wallet" only, to the save link', async () => {
  const { context, buttons, look, problems } = await open(UA.android, { width: 412, height: 915 });
  assert.deepEqual(buttons, [{ name: 'Add to Google Wallet', href: linked.google_save_url }]);
  assert.equal(look.qr, false);
  assert.deepEqual(problems, []);
  await context.close();
});

test('in Chromium on a desktop: both buttons and a QR code of the page itself', async () => {
  const { context, page, buttons, look, problems } = await open(UA.desktop, { width: 1280, height: 900 });
  assert.deepEqual(buttons, [
    { name: 'Add to Apple Wallet', href: linked.pkpass_url },
    { name: 'Add to Google Wallet', href: linked.google_save_url },
  ]);
  assert.ok(look.qr, 'a QR code with an accessible name');
  assert.deepEqual(problems, []);
  const png = path.join(dir, 'qr.png');
  await page.locator('figure.qr svg').screenshot({ path: png });
  const decoded = execFileSync('zbarimg', ['--quiet', '--raw', png], { encoding: 'utf8' }).trim();
  assert.equal(decoded, linked.share_url);
  await page.screenshot({ path: path.join(dir, 'desktop.png'), fullPage: true });
  if (process.env.WP_SHARE_SCREENSHOTS) fs.copyFileSync(path.join(dir, 'desktop.png'), process.env.WP_SHARE_SCREENSHOTS);
  await context.close();
});
