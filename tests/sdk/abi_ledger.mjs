// The plugin ABI checks itself: the ledger in sdk/include/walletpass/plugin.h,
// the wp_host and wp_plugin_def structs, their _Static_asserts and the tables
// of docs/plugins.md (section 4, "since" of each function; section 9, the
// ledger) must tell one story.  Prints every disagreement; exit 1 if any.
//   node tests/sdk/abi_ledger.mjs SOURCE_DIR
import fs from 'node:fs';
import path from 'node:path';

const root = process.argv[2] || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const headerPath = path.join(root, 'sdk/include/walletpass/plugin.h');
const docsPath = path.join(root, 'docs/plugins.md');
const header = fs.readFileSync(headerPath, 'utf8');
const docs = fs.readFileSync(docsPath, 'utf8');
const problems = [];
const problem = (where, msg) => problems.push(`${where}: ${msg}`);

// ---- the structs -------------------------------------------------------------

/** The body of `struct <name> {` ... `};` (or of its typedef). */
function structBody(name) {
  const m = new RegExp(`(?:struct ${name}|typedef struct ${name}) \\{`).exec(header);
  if (!m) throw new Error(`plugin.h: struct ${name} not found`);
  let depth = 0;
  for (let i = m.index + m[0].length - 1; i < header.length; i++) {
    if (header[i] === '{') depth++;
    else if (header[i] === '}' && --depth === 0) return header.slice(m.index + m[0].length, i);
  }
  throw new Error(`plugin.h: struct ${name} does not end`);
}

/** wp_host's slots in order: [{names: [canonical, ...aliases], minor, index}]. */
function hostSlots() {
  let body = structBody('wp_host');
  body = body.replace(/\/\*\s*-+\s*ABI 1\.(\d+)[^*]*\*\//g, ';@ABI$1@;'); // section markers
  body = body.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/^\s*#.*$/gm, ' ');
  const slots = [];
  let minor = null, union = null;
  // declarations end at ';' outside parentheses; "union {" opens a slot of several names
  let depth = 0, cur = '';
  const decls = [];
  for (const ch of body) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (depth === 0 && (ch === ';' || ch === '{' || ch === '}')) {
      decls.push(cur + (ch === ';' ? '' : ch));
      cur = '';
    } else cur += ch;
  }
  for (const raw of decls) {
    const d = raw.trim();
    const mark = /^@ABI(\d+)@$/.exec(d);
    if (mark) { minor = Number(mark[1]); continue; }
    if (/^union\s*\{$/.test(d)) { union = { names: [], minor, index: slots.length }; continue; }
    if (d === '}') { if (union) slots.push(union); union = null; continue; }
    const fn = /\(\s*\*\s*(\w+)\s*\)/.exec(d);
    if (!fn) continue; // size, abi_major, abi_minor
    if (minor === null) problem('plugin.h', `wp_host.${fn[1]} comes before the first "---- ABI 1.N" section`);
    if (union) union.names.push(fn[1]);
    else slots.push({ names: [fn[1]], minor, index: slots.length });
  }
  return slots;
}

/** wp_plugin_def's field names in order. */
function defFields() {
  const body = structBody('wp_plugin_def').replace(/\/\*[\s\S]*?\*\//g, ' ');
  return body.split(';').map((d) => d.trim()).filter(Boolean).map((d) => {
    const fn = /\(\s*\*\s*(\w+)\s*\)/.exec(d);
    return fn ? fn[1] : /(\w+)\s*$/.exec(d)[1];
  });
}

const slots = hostSlots();
const slotOf = new Map(); // any name -> slot
for (const s of slots) for (const n of s.names) slotOf.set(n, s);
const maxMinor = Math.max(...slots.map((s) => s.minor));

// ---- the ledger in the header comment --------------------------------------------

function ledger() {
  const start = header.indexOf(' * ABI ledger');
  const end = header.indexOf(' * Rules:', start);
  if (start < 0 || end < 0) throw new Error('plugin.h: the "ABI ledger" comment (up to "Rules:") not found');
  const entries = [];
  for (const line of header.slice(start, end).split('\n')) {
    const head = /^\s*\*\s+1\.(\d+) \(walletpass [^)]+\)\s+(.*)$/.exec(line);
    if (head) { entries.push({ minor: Number(head[1]), lines: [head[2].trim()] }); continue; }
    const more = /^\s*\*\s{10,}(\S.*)$/.exec(line);
    if (more && entries.length) {
      const e = entries[entries.length - 1];
      // a list goes on while its line ends with a comma
      if (e.lines[e.lines.length - 1].endsWith(',')) e.lines[e.lines.length - 1] += ' ' + more[1].trim();
      else e.lines.push(more[1].trim());
    }
  }
  return entries;
}

/** "a, b .. c, d" -> names, with ranges expanded along `order` (indexOf gives a name's place). */
function expand(list, order, where, indexOf = (n) => order.indexOf(n)) {
  const out = [];
  for (const item of list.split(',').map((x) => x.trim()).filter(Boolean)) {
    const r = /^(\w+)\s*(?:\.\.|…)\s*(\w+)$/.exec(item);
    if (!r) { out.push(item); continue; }
    const a = indexOf(r[1]), b = indexOf(r[2]);
    if (a < 0 || b < a) { problem(where, `range "${item}" does not name two fields in order`); continue; }
    out.push(...order.slice(a, b + 1));
  }
  return out;
}
/** Slot lists: any name of a slot may be used; what comes out is the slots' current names. */
const slotIndex = (n) => (slotOf.has(n) ? slotOf.get(n).index : -1);
const expandSlots = (list, where) =>
  expand(list, canonicalOrder, where, slotIndex).map((n) => (slotOf.has(n) ? slotOf.get(n).names[0] : n));

const canonicalOrder = slots.map((s) => s.names[0]);
const fields = defFields();
const entries = ledger();
const ledgerSlots = new Map(); // minor -> canonical names
const ledgerDef = [];
entries.forEach((e, i) => {
  if (e.minor !== i) problem('plugin.h ledger', `entry ${i} is 1.${e.minor}: minors must run 1.0, 1.1, ... without a gap`);
  const where = `plugin.h ledger 1.${e.minor}`;
  ledgerSlots.set(e.minor, []);
  for (const l of e.lines) {
    const m = /^(\w+):\s*(.*)$/.exec(l);
    if (!m) { problem(where, `line "${l}" is not "<what>: <list>"`); continue; }
    if (m[1] === 'wp_host') {
      const names = expandSlots(m[2], where);
      for (const n of names) if (!slotOf.has(n)) problem(where, `wp_host.${n} is not in struct wp_host`);
      ledgerSlots.get(e.minor).push(...names);
    } else if (m[1] === 'wp_plugin_def') {
      for (const f of expand(m[2], fields, where)) {
        if (!fields.includes(f)) problem(where, `wp_plugin_def.${f} is not in struct wp_plugin_def`);
        ledgerDef.push(f);
      }
    } else if (m[1] === 'names') {
      // "new = old" pairs: two names of one slot
      for (const pair of m[2].matchAll(/(\w+) = (\w+)/g)) {
        const a = slotOf.get(pair[1]), b = slotOf.get(pair[2]);
        if (!a || a !== b) problem(where, `${pair[1]} and ${pair[2]} are not two names of one wp_host slot`);
      }
    }
  }
});

// every slot in the ledger of its own section's minor, in table order
const fromLedger = [];
for (const [minor, names] of ledgerSlots) for (const n of names) fromLedger.push({ n, minor });
fromLedger.forEach(({ n, minor }, i) => {
  const s = slotOf.get(n);
  if (!s) return;
  if (s.index !== i) problem(`plugin.h ledger 1.${minor}`, `${n} is listed as slot ${i}, the struct has it at ${s.index}`);
  if (s.minor !== minor) problem(`plugin.h ledger 1.${minor}`, `${n} is in the struct's "ABI 1.${s.minor}" section`);
});
if (fromLedger.length !== slots.length)
  problem('plugin.h ledger', `lists ${fromLedger.length} wp_host slots, the struct has ${slots.length}`);
const defExpected = fields.filter((f) => !/^reserved/.test(f));
if (ledgerDef.join(',') !== defExpected.join(','))
  problem('plugin.h ledger', `wp_plugin_def fields listed [${ledgerDef}], the struct has [${defExpected}] (reserved ones aside)`);

// ---- WP_ABI_MINOR, the sizes and the asserts -------------------------------------

const abiMinor = Number((/#define WP_ABI_MINOR (\d+)/.exec(header) || [])[1]);
if (abiMinor !== entries.length - 1) problem('plugin.h', `WP_ABI_MINOR is ${abiMinor}, the ledger ends at 1.${entries.length - 1}`);
if (maxMinor !== abiMinor) problem('plugin.h', `the struct's last section is ABI 1.${maxMinor}, WP_ABI_MINOR is ${abiMinor}`);

const pinned = new Map();
for (const m of header.matchAll(/offsetof\(wp_host, (\w+)\) == WP_HOST_SLOT_\((\d+)\)/g)) pinned.set(m[1], Number(m[2]));
for (const s of slots)
  for (const n of s.names) {
    if (!pinned.has(n)) problem('plugin.h asserts', `no _Static_assert pins wp_host.${n}`);
    else if (pinned.get(n) !== s.index) problem('plugin.h asserts', `wp_host.${n} is pinned at slot ${pinned.get(n)}, the struct has it at ${s.index}`);
  }
for (const n of pinned.keys()) if (!slotOf.has(n)) problem('plugin.h asserts', `pins wp_host.${n}, which the struct does not have`);

for (let minor = 0; minor <= abiMinor; minor++) {
  const count = slots.filter((s) => s.minor <= minor).length;
  const def = new RegExp(`#define WP_HOST_SIZE_1_${minor} WP_HOST_SLOT_\\((\\d+)\\)`).exec(header);
  if (!def) problem('plugin.h', `no WP_HOST_SIZE_1_${minor}`);
  else if (Number(def[1]) !== count) problem('plugin.h', `WP_HOST_SIZE_1_${minor} is ${def[1]} slots, the ledger says ${count}`);
  const end = new RegExp(`WP_HOST_SIZE_1_${minor} == offsetof\\(wp_host, (\\w+)\\)`).exec(header);
  const last = slots.filter((s) => s.minor <= minor).pop();
  if (!end) problem('plugin.h asserts', `no _Static_assert says where 1.${minor} ends`);
  else if (!last || !last.names.includes(end[1])) problem('plugin.h asserts', `1.${minor} is asserted to end at ${end[1]}, the ledger ends it at ${last && last.names[0]}`);
}
if (!new RegExp(`sizeof\\(wp_host\\) == WP_HOST_SIZE_1_${abiMinor}\\b`).test(header))
  problem('plugin.h asserts', `no _Static_assert(sizeof(wp_host) == WP_HOST_SIZE_1_${abiMinor})`);

// ---- docs/plugins.md ------------------------------------------------------------

function section(title) {
  const start = docs.indexOf(title);
  if (start < 0) throw new Error(`docs/plugins.md: section "${title}" not found`);
  const end = docs.indexOf('\n## ', start + title.length);
  return docs.slice(start, end < 0 ? docs.length : end);
}
const cells = (row) => row.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
const idents = (cell) => [...cell.matchAll(/`(\w+)/g)].map((m) => m[1]);

// section 4: every slot has a row, and its "since" is its minor
const seen = new Set();
for (const row of section('## 4. The host table').split('\n').filter((l) => l.startsWith('| `'))) {
  const [what, since] = cells(row);
  const minor = /^1\.(\d+)$/.exec(since || '');
  for (const n of idents(what)) {
    const s = slotOf.get(n);
    if (!s) continue;
    seen.add(s);
    if (!minor) problem('docs/plugins.md §4', `the row of ${n} has no "since" 1.N (got "${since}")`);
    else if (Number(minor[1]) !== s.minor) problem('docs/plugins.md §4', `${n} is "since ${since}", the ledger says 1.${s.minor}`);
  }
}
for (const s of slots) if (!seen.has(s)) problem('docs/plugins.md §4', `no row for wp_host.${s.names[0]}`);

// section 9: one row per minor; its slot column lists what the ledger lists
const docRows = new Map();
for (const row of section('## 9. Versioning').split('\n').filter((l) => /^\| 1\.\d+ \|/.test(l))) {
  const c = cells(row);
  const minor = Number(/^1\.(\d+)$/.exec(c[0])[1]);
  const list = c[2].replace(/`/g, '').replace(/—|^-$/g, '').replace(/\s*…\s*/g, ' .. ');
  docRows.set(minor, expandSlots(list, `docs/plugins.md §9 1.${minor}`));
}
for (let minor = 0; minor <= abiMinor; minor++) {
  const want = (ledgerSlots.get(minor) || []).join(', '), got = (docRows.get(minor) || []).join(', ');
  if (!docRows.has(minor)) problem('docs/plugins.md §9', `no row for ABI 1.${minor}`);
  else if (want !== got) problem('docs/plugins.md §9', `1.${minor} appends [${got}] to wp_host, the ledger says [${want}]`);
}
for (const minor of docRows.keys()) if (minor > abiMinor) problem('docs/plugins.md §9', `a row for 1.${minor}, newer than the header`);

if (problems.length) {
  console.error(`the plugin ABI disagrees with itself (${problems.length}):\n  ` + problems.join('\n  '));
  process.exit(1);
}
console.log(`ok: ABI 1.${abiMinor}, ${slots.length} wp_host slots, ${entries.length} ledger entries; header, asserts and docs agree`);
