#!/usr/bin/env node
// Generates docs/postman_collection.json (Postman collection format v2.1) from docs/openapi.yaml.
//
//   node scripts/postman-collection.mjs            write docs/postman_collection.json
//   node scripts/postman-collection.mjs OUT        write OUT instead
//   node scripts/postman-collection.mjs --check    exit 1 when docs/postman_collection.json is stale
//   node scripts/postman-collection.mjs --if-possible [...]   as above, but a no-op without tests/node_modules
//
// The build runs it whenever openapi.yaml changes (tests/CMakeLists.txt) and the integration_postman
// suite fails when the committed file differs from what this script makes, so the collection is never
// edited by hand. The output depends on openapi.yaml alone (no ids, no dates), so it is reproducible.
//
// What it makes: one folder per tag, one request per operation (more when a request body has several
// named examples: one saved request each), Bearer auth from the collection variable {{apiKey}},
// {{baseUrl}} from the first server, a collection variable for every path parameter (pre-filled with
// the spec's example), optional query parameters present but disabled (enabled with x-postman-enabled:
// one of several alternatives the request needs), the response examples saved
// with each request, and a test script that checks the status is one the operation documents as a
// success. It needs the `yaml` package that scripts/test installs in tests/node_modules.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const SPEC = path.join(ROOT, 'docs', 'openapi.yaml');
const OUT = path.join(ROOT, 'docs', 'postman_collection.json');
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
// Error answers every route may give (framing, auth, rate limit, database): described once, in the
// collection's description, rather than saved with each request.
const GENERIC = new Set(['Malformed', 'BadRequest', 'Unauthorized', 'RateLimited', 'ServiceUnavailable', 'TooLarge',
  'UnsupportedMediaType']);
const STATUS_TEXT = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 304: 'Not Modified', 400: 'Bad Request',
  401: 'Unauthorized', 402: 'Payment Required', 404: 'Not Found', 409: 'Conflict', 413: 'Content Too Large',
  415: 'Unsupported Media Type', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

function loadYaml() {
  try {
    return createRequire(path.join(ROOT, 'tests', 'package.json'))('yaml');
  } catch {
    console.error('postman-collection: the yaml package is missing; install the test clients: (cd tests && npm ci)');
    process.exit(2);
  }
}

/** Builds the collection object from the parsed OpenAPI document. */
export function buildCollection(spec) {
  const deref = (o) => {
    while (o && o.$ref) o = o.$ref.slice(2).split('/').reduce((a, k) => a[k], spec);
    return o;
  };
  const variables = new Map([['baseUrl', spec.servers[0].url], ['apiKey', '']]);
  const varOf = (p0) => {
    // a path parameter's collection variable: the component's name when it is a $ref, else camelCase
    const name = p0.$ref ? p0.$ref.split('/').pop() : p0.name.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
    const p = deref(p0);
    const ex = p.example ?? p.schema?.example ?? `<${p.name}>`;
    if (!variables.has(name)) variables.set(name, String(ex));
    return name;
  };
  const firstExample = (media) => {
    if (!media) return undefined;
    if ('example' in media) return media.example;
    if (media.examples) return deref(Object.values(media.examples)[0]).value;
    const s = deref(media.schema);
    return s && 'example' in s ? s.example : undefined;
  };
  const bodyOf = (v) => ({ mode: 'raw', raw: JSON.stringify(v, null, 2), options: { raw: { language: 'json' } } });

  const folders = new Map((spec.tags || []).map((t) => [t.name, { name: t.name, description: t.description || '', item: [] }]));
  for (const [p, pathItem] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      const op = pathItem[method];
      if (!op) continue;
      const params = [...(pathItem.parameters || []), ...(op.parameters || [])];
      const pathVars = [];
      const query = [];
      const headers = [];
      for (const p0 of params) {
        const prm = deref(p0);
        if (prm.in === 'path') {
          pathVars.push({ key: prm.name, value: `{{${varOf(p0)}}}`, description: prm.description || '' });
        } else if (prm.in === 'query') {
          const ex = prm.example ?? prm.schema?.example ?? prm.schema?.default;
          query.push({ key: prm.name, value: ex === undefined ? '' : String(ex), description: prm.description || '',
            disabled: !prm.required && !prm['x-postman-enabled'] });
        } else if (prm.in === 'header') {
          headers.push({ key: prm.name, value: String(prm.example ?? ''), description: prm.description || '', disabled: true });
        }
      }
      const segments = p.split('/').filter(Boolean).map((s) => s.replace(/^\{(.+)\}$/, ':$1'));
      const enabledQuery = query.filter((q) => !q.disabled);
      const url = {
        raw: '{{baseUrl}}/' + segments.join('/') + (enabledQuery.length ? '?' + enabledQuery.map((q) => `${q.key}=${q.value}`).join('&') : ''),
        host: ['{{baseUrl}}'],
        path: segments,
      };
      if (query.length) url.query = query;
      if (pathVars.length) url.variable = pathVars;

      // auth: the collection's Bearer key, none for public routes, Apple's own scheme for the web service
      const security = op.security ?? spec.security ?? [];
      const schemes = security.flatMap((s) => Object.keys(s));
      let auth;
      if (schemes.length === 0) auth = { type: 'noauth' };
      else if (!schemes.includes('apiKey') && schemes.includes('applePass')) {
        auth = { type: 'noauth' };
        headers.unshift({ key: 'Authorization', value: 'ApplePass {{applePassToken}}', description: "the pass's authenticationToken" });
        if (!variables.has('applePassToken')) variables.set('applePassToken', '');
      } else if (!schemes.includes('apiKey') && schemes.includes('portalSession')) {
        // the dashboard's routes: its session cookie and CSRF token (POST /portal/api/login gives both)
        auth = { type: 'noauth' };
        headers.unshift({ key: 'X-CSRF-Token', value: '{{portalCsrf}}', description: 'csrf_token of the login answer' },
          { key: 'Cookie', value: 'wp_session={{portalSession}}', description: 'the wp_session cookie of the login answer' });
        if (!variables.has('portalSession')) variables.set('portalSession', '');
        if (!variables.has('portalCsrf')) variables.set('portalCsrf', '');
      }

      const rb = deref(op.requestBody);
      const bodies = [];
      if (rb && rb.content && rb.content['application/json']) {
        const media = rb.content['application/json'];
        headers.unshift({ key: 'Content-Type', value: 'application/json' });
        if (media.examples) {
          for (const [name, e] of Object.entries(media.examples)) {
            const ex = deref(e);
            bodies.push({ label: ex.summary || name, value: ex.value });
          }
        } else {
          const v = firstExample(media);
          bodies.push({ label: null, value: v === undefined ? {} : v });
        }
      }
      if (!bodies.length) bodies.push(null);

      const success = Object.keys(op.responses || {}).filter((s) => /^[23]/.test(s)).map(Number);
      const tests = [
        `pm.test(${JSON.stringify(`answers ${success.join(' or ')}`)}, function () {`,
        `    pm.expect(${JSON.stringify(success)}).to.include(pm.response.code);`,
        '});',
      ];
      const folder = folders.get((op.tags || ['other'])[0]) ||
        folders.set(op.tags[0], { name: op.tags[0], description: '', item: [] }).get(op.tags[0]);
      bodies.forEach((b, i) => {
        const request = { method: method.toUpperCase(), header: headers, url, description: op.description || op.summary || '' };
        if (auth) request.auth = auth;
        if (b) request.body = bodyOf(b.value);
        const responses = [];
        for (const [status, r0] of Object.entries(op.responses || {})) {
          if (r0.$ref && GENERIC.has(r0.$ref.split('/').pop())) continue; // the same on every route: not saved each time
          const r = deref(r0);
          const [type, media] = Object.entries(r.content || {})[0] || [];
          const examples = [];
          if (media && media.examples) for (const [n, e] of Object.entries(media.examples)) examples.push([n, deref(e).value]);
          else if (media) { const v = firstExample(media); if (v !== undefined) examples.push([null, v]); }
          if (!examples.length && i === 0 && /^[23]/.test(status)) examples.push([null, undefined]);
          for (const [n, v] of examples) {
            responses.push({
              name: `${status} ${(r.description || '').split('\n')[0].slice(0, 80)}${n ? ` (${n})` : ''}`.trim(),
              originalRequest: { method: request.method, header: [], url: url.raw, ...(request.body && /^2/.test(status) ? { body: request.body } : {}) },
              status: STATUS_TEXT[status] || '',
              code: Number(status),
              _postman_previewlanguage: type && type.includes('json') ? 'json' : 'text',
              header: type ? [{ key: 'Content-Type', value: type }] : [],
              body: v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v, null, 2),
            });
          }
        }
        folder.item.push({
          name: b && b.label && bodies.length > 1 ? `${op.summary} (${b.label})` : op.summary || `${method.toUpperCase()} ${p}`,
          event: [{ listen: 'test', script: { type: 'text/javascript', exec: tests } }],
          request,
          response: responses,
        });
      });
    }
  }
  return {
    info: {
      name: spec.info.title,
      description: `${spec.info.summary}\n\nGenerated from docs/openapi.yaml (version ${spec.info.version}) by ` +
        'scripts/postman-collection.mjs; do not edit. Set the collection variables baseUrl and apiKey ' +
        '(an API key: `walletpass key create`), and the ids of your own objects for the requests that take one.\n\n' +
        'Every route may also answer 400 `malformed_request`, and the API routes 400 (a bad parameter or body), ' +
        '401 (no or a bad key), 413, 415, 429 (rate limit, see Retry-After) and 503 (database unavailable), ' +
        'all in the one error shape: {"error": {"type", "code", "message", "param", "request_id"}}.',
      schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json',
    },
    auth: { type: 'bearer', bearer: [{ key: 'token', value: '{{apiKey}}', type: 'string' }] },
    variable: [...variables].map(([key, value]) => ({ key, value, type: 'string' })),
    item: [...folders.values()].filter((f) => f.item.length),
  };
}

export function render(specText, YAML) {
  return JSON.stringify(buildCollection(YAML.parse(specText)), null, 2) + '\n';
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  if (process.argv[2] === '--if-possible') {
    // the build's call: without the test clients installed there is nothing to generate with
    process.argv.splice(2, 1);
    try { createRequire(path.join(ROOT, 'tests', 'package.json')).resolve('yaml'); } catch {
      console.error('postman-collection: skipped (no tests/node_modules; scripts/test installs it)');
      process.exit(0);
    }
  }
  const YAML = loadYaml();
  const text = render(fs.readFileSync(SPEC, 'utf8'), YAML);
  const args = process.argv.slice(2);
  if (args[0] === '--check') {
    const have = fs.existsSync(OUT) ? fs.readFileSync(OUT, 'utf8') : '';
    if (have !== text) {
      console.error('docs/postman_collection.json is not what docs/openapi.yaml makes: run node scripts/postman-collection.mjs');
      process.exit(1);
    }
  } else {
    const out = args[0] ? path.resolve(args[0]) : OUT;
    const tmp = `${out}.${process.pid}.tmp`; // two builds may run it at once: replace atomically
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, out);
  }
}
