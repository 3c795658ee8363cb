// A local stand-in for Google's OAuth2 token endpoint and the Wallet REST API
// (walletobjects v1), for the google-jwt plugin's tests.  It checks what the
// real services check that a client can get wrong: the JWT-bearer grant and
// its RS256 assertion (iss, aud, scope, exp - iat <= 1 h), the bearer token
// on every API call, JSON bodies, id format (<issuerId>.<[A-Za-z0-9._-]+>),
// the fields each type requires, 409 on a second insert, 404 for unknown
// ids.  It records every call (with its answer and when it was answered);
// failures can be injected per call, and answers delayed (setDelay) so that
// concurrent calls interleave as they would over a real network.  Several
// issuers can share it (addIssuer); each call records the issuer its ids name,
// and setBehaviour makes calls misbehave (hang, an error status, Retry-After).
import http from 'node:http';
import crypto from 'node:crypto';
import { jwtVerify } from 'jose';

const TYPES = ['generic', 'loyalty', 'offer', 'eventTicket'];
// Google's Wallet API reference ("Required." in the REST reference)
export const REQUIRED = {
  genericClass: ['id'],
  genericObject: ['id', 'classId', 'cardTitle', 'header'],
  loyaltyClass: ['id', 'issuerName', 'programName', 'programLogo', 'reviewStatus'],
  loyaltyObject: ['id', 'classId', 'state'],
  offerClass: ['id', 'issuerName', 'provider', 'title', 'redemptionChannel', 'reviewStatus'],
  offerObject: ['id', 'classId', 'state'],
  eventTicketClass: ['id', 'issuerName', 'eventName', 'reviewStatus'],
  eventTicketObject: ['id', 'classId', 'state'],
};
// Fields that do not exist on a resource (the REST API rejects unknown fields).
export const ABSENT = {
  genericClass: ['hexBackgroundColor', 'notifyPreference', 'reviewStatus', 'issuerName', 'barcode'],
  genericObject: ['notifyPreference'],
  loyaltyClass: ['barcode'],
  loyaltyObject: ['hexBackgroundColor', 'logo'],
  offerClass: ['barcode'],
  offerObject: ['hexBackgroundColor', 'logo'],
  eventTicketClass: ['barcode'],
  eventTicketObject: ['logo'],
};

export async function startGoogleStandin({ issuerId, clientEmail, publicKey, port = 0 }) {
  // Service accounts the token endpoint knows: email -> { keys: [public keys], ttl (expires_in) }.
  // One email may have several keys (the stand-in then tells which one signed an assertion).
  const accounts = new Map([[clientEmail, { keys: [publicKey], ttl: 3599 }]]);
  const fetchesBy = new Map();
  const calls = [];
  const tokens = new Map(); // access token -> { email, key: index of the key that signed its assertion }
  const store = new Map(); // "<resource>/<id>" -> resource
  const failures = []; // {method, pathRe, status, body, times}
  let delay = null; // (call) => ms before the call is handled
  let behaviour = null; // (call) => null | { hang: true } | { status, retryAfter }
  const held = []; // calls held unanswered: { call, res }
  const issuers = new Set([issuerId]);
  let tokenFetches = 0;
  let base;
  let answered = 0; // answers so far: call.seq orders calls by when they took effect

  const send = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const gerr = (res, status, message, reason = 'invalid') =>
    send(res, status, { error: { code: status, message, errors: [{ domain: 'walletobjects', reason }] } });
  const idRe = { test: (id) => typeof id === 'string' && /^\d+\.[A-Za-z0-9._-]+$/.test(id) && issuers.has(id.split('.')[0]) };

  function checkResource(resource, body) {
    if (!body || typeof body !== 'object' || Array.isArray(body)) return 'the body must be a JSON object';
    if (typeof body.id !== 'string' || !idRe.test(body.id)) return `Invalid resource ID: ${body.id}`;
    if (resource.endsWith('Object') && (typeof body.classId !== 'string' || !idRe.test(body.classId)))
      return `Invalid classId: ${body.classId}`;
    for (const f of REQUIRED[resource]) if (body[f] === undefined) return `${resource}.${f} is required`;
    for (const f of ABSENT[resource]) if (body[f] !== undefined) return `Invalid JSON payload: unknown field ${resource}.${f}`;
    if (resource.endsWith('Object') && !store.has(`${resource.replace('Object', 'Class')}/${body.classId}`))
      return `IssuerClassNotFound: the class ${body.classId} does not exist`;
    return null;
  }

  async function onToken(req, res, raw) {
    tokenFetches++;
    if (!/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] || ''))
      return send(res, 400, { error: 'invalid_request', error_description: 'form body expected' });
    const form = new URLSearchParams(raw);
    const claimed = JSON.parse(Buffer.from((form.get('assertion') || '..').split('.')[1] || '', 'base64url').toString() || '{}');
    const sa = accounts.get(claimed.iss);
    if (!sa) return send(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
    fetchesBy.set(claimed.iss, (fetchesBy.get(claimed.iss) || 0) + 1);
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
      return send(res, 400, { error: 'unsupported_grant_type', error_description: form.get('grant_type') });
    let keyIndex = -1;
    let why = 'Invalid JWT Signature.';
    for (let i = 0; i < sa.keys.length && keyIndex < 0; i++) {
      try {
        const { payload, protectedHeader } = await jwtVerify(form.get('assertion'), sa.keys[i], {
          algorithms: ['RS256'], issuer: claimed.iss, audience: `${base}/token`,
        });
        if (protectedHeader.typ !== 'JWT') throw new Error('header typ');
        if (payload.scope !== 'https://www.googleapis.com/auth/wallet_object.issuer') throw new Error('scope ' + payload.scope);
        if (!(payload.exp - payload.iat <= 3600 && payload.exp > Date.now() / 1000)) throw new Error('lifetime');
        keyIndex = i;
      } catch (e) {
        why = 'Invalid JWT: ' + e.message;
      }
    }
    if (keyIndex < 0) return send(res, 400, { error: 'invalid_grant', error_description: why });
    const t = 'ya29.' + crypto.randomBytes(16).toString('hex');
    tokens.set(t, { email: claimed.iss, key: keyIndex });
    send(res, 200, { access_token: t, expires_in: sa.ttl, token_type: 'Bearer' });
  }

  async function onApi(req, res, p, raw) {
    const auth = req.headers.authorization || '';
    if (!auth.startsWith('Bearer ') || !tokens.has(auth.slice(7)))
      return gerr(res, 401, 'Request had invalid authentication credentials.', 'authError');
    let body;
    if (req.method === 'POST' || req.method === 'PATCH' || req.method === 'PUT') {
      if (!/^application\/json/.test(req.headers['content-type'] || '')) return gerr(res, 400, 'JSON body expected');
      try { body = JSON.parse(raw); } catch { return gerr(res, 400, 'Invalid JSON payload received.'); }
    }
    const m = p.match(/^\/walletobjects\/v1\/(\w+?)(Class|Object)(?:\/([^/]+))?(\/addMessage)?$/);
    if (!m || !TYPES.includes(m[1])) return gerr(res, 404, 'Not found: ' + p, 'notFound');
    const resource = m[1] + m[2];
    const id = m[3] && decodeURIComponent(m[3]);
    const key = `${resource}/${id}`;
    if (!id && req.method === 'POST') { // insert
      const why = checkResource(resource, body);
      if (why) return gerr(res, why.startsWith('IssuerClassNotFound') ? 404 : 400, why);
      if (store.has(`${resource}/${body.id}`)) return gerr(res, 409, `Resource ${body.id} already exists`, 'resourceAlreadyExists');
      store.set(`${resource}/${body.id}`, body);
      return send(res, 200, body);
    }
    if (!id) return gerr(res, 400, 'bad request');
    if (!idRe.test(id)) return gerr(res, 400, 'Invalid resource ID', 'invalidResource');
    if (!store.has(key)) return gerr(res, 404, `Resource ${id} not found`, 'resourceNotFound');
    if (m[4]) { // addMessage
      if (req.method !== 'POST' || !body.message || typeof body.message.body !== 'string')
        return gerr(res, 400, 'addMessage needs {"message": {...}}');
      if (!['TEXT', 'TEXT_AND_NOTIFY'].includes(body.message.messageType)) return gerr(res, 400, 'messageType');
      const cur = store.get(key);
      cur.messages = [...(cur.messages || []), body.message];
      return send(res, 200, { resource: cur });
    }
    if (req.method === 'GET') return send(res, 200, store.get(key));
    if (req.method === 'PATCH') {
      if (body.id !== undefined && body.id !== id) return gerr(res, 400, 'id mismatch');
      for (const f of ABSENT[resource]) if (body[f] !== undefined) return gerr(res, 400, `unknown field ${resource}.${f}`);
      const merged = { ...store.get(key), ...body };
      store.set(key, merged);
      return send(res, 200, merged);
    }
    return gerr(res, 405, 'method');
  }

  const server = http.createServer((req, res) => {
    const arrived = Date.now(); // when the request line came in (the rate limit spaces these)
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (raw += d));
    req.on('end', async () => {
      const p = new URL(req.url, 'http://x').pathname;
      const call = { method: req.method, path: p, auth: req.headers.authorization || null, raw, at: arrived };
      const bearer = (req.headers.authorization || '').replace(/^Bearer /, '');
      call.tokenOf = tokens.get(bearer) || null; // which service account key the call's token came from
      try { call.body = JSON.parse(raw); } catch { call.body = undefined; }
      // the issuer whose ids the call names (path first, then the body's id)
      const m = p.match(/\/(\d+)\.[^/]*(?:\/addMessage)?$/) || (call.body && typeof call.body.id === 'string' && call.body.id.match(/^(\d+)\./));
      call.issuer = m ? m[1] : null;
      calls.push(call);
      const ms = delay && p !== '/token' ? delay(call) : 0;
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
      const b = behaviour && p !== '/token' ? behaviour(call) : null;
      if (b && b.hang) {
        call.held = true;
        held.push({ call, res });
        res.on('close', () => { call.closedAt = Date.now(); });
        return;
      }
      if (b && b.status) {
        call.injected = b.status;
        call.status = b.status;
        call.answeredAt = Date.now();
        call.seq = ++answered;
        const h = { 'content-type': 'application/json' };
        if (b.retryAfter !== undefined) h['retry-after'] = String(b.retryAfter);
        res.writeHead(b.status, h);
        res.end(JSON.stringify({ error: { code: b.status, message: 'injected', errors: [{ domain: 'walletobjects', reason: 'backendError' }] } }));
        return;
      }
      const f = failures.find((x) => x.times > 0 && x.method === req.method && x.pathRe.test(p));
      if (f) {
        f.times--;
        call.injected = f.status;
        return gerr(res, f.status, 'injected failure', 'backendError');
      }
      const done = (s) => { call.status = s; call.answeredAt = Date.now(); call.seq = ++answered; };
      const origWriteHead = res.writeHead.bind(res);
      res.writeHead = (s, h) => { done(s); return origWriteHead(s, h); };
      try {
        if (p === '/token' && req.method === 'POST') await onToken(req, res, raw);
        else if (p.startsWith('/walletobjects/v1/')) await onApi(req, res, p, raw);
        else gerr(res, 404, 'no such endpoint');
      } catch (e) {
        gerr(res, 500, 'stand-in bug: ' + e.message);
      }
    });
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    apiBase: `${base}/walletobjects/v1`,
    tokenUrl: `${base}/token`,
    calls,
    store,
    tokenFetches: (email) => (email ? fetchesBy.get(email) || 0 : tokenFetches),
    addServiceAccount: (email, key, ttl = 3599) => accounts.set(email, { keys: [key], ttl }),
    /** Another key for a known email (same key id in the key file, different key): returns its index. */
    addServiceAccountKey: (email, key) => accounts.get(email).keys.push(key) - 1,
    failNext: (method, pathRe, status = 500, times = 1) => failures.push({ method, pathRe, status, times }),
    /** fn(call) -> milliseconds to wait before handling an API call (null: none). */
    setDelay: (fn) => { delay = fn; },
    /** Another issuer whose ids the API accepts. */
    addIssuer: (id) => issuers.add(id),
    /** fn(call) -> null (answer normally), { hang: true } (hold it unanswered) or { status, retryAfter }. */
    setBehaviour: (fn) => { behaviour = fn; },
    /** Calls held unanswered whose connection is still open (of one issuer, or all). */
    heldCount: (issuer) => held.filter((h) => !h.res.destroyed && (!issuer || h.call.issuer === issuer)).length,
    /** Ends the held calls with a 503 (their clients may have given up already). */
    releaseHeld: () => {
      for (const h of held.splice(0)) {
        if (!h.res.destroyed) { h.res.writeHead(503, { 'content-type': 'application/json' }); h.res.end('{}'); }
      }
    },
    /** The API calls on one resource id (object or class), in the order their answers were sent. */
    callsOn: (id) => calls.filter((c) => c.seq && c.path !== '/token' && (c.path.includes(`/${id}`) || (c.body && c.body.id === id)))
      .sort((a, b) => a.seq - b.seq),
    apiCalls: (method, re) => calls.filter((c) => c.path !== '/token' && (!method || c.method === method) && (!re || re.test(c.path))),
    close: () => new Promise((r) => { held.splice(0); server.closeAllConnections?.(); server.close(r); }),
  };
}
