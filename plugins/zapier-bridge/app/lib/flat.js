'use strict';
// The flat shapes the gateway's zapier-bridge plugin answers and delivers
// (plugins/zapier-bridge/zb_flat.c): the same keys in every object of a kind,
// each of one type, none null.  The samples and output fields come from here.

const PASS_TEXT = [
  ['organization_name', 'Organization name'], ['description', 'Description'], ['logo_text', 'Logo text'],
  ['background_color', 'Background color'], ['foreground_color', 'Foreground color'], ['label_color', 'Label color'],
  ['barcode_message', 'Barcode message'], ['barcode_format', 'Barcode format'], ['barcode_alt_text', 'Barcode alt text'],
  ['relevant_date', 'Relevant date'], ['expiration_date', 'Expiration date'], ['event_name', 'Event name'],
  ['venue_name', 'Venue name'], ['venue_address', 'Venue address'], ['event_start', 'Event start'],
  ['event_end', 'Event end'], ['seat_section', 'Seat section'], ['seat_row', 'Seat row'], ['seat_number', 'Seat number'],
  ['offer_title', 'Offer title'], ['offer_details', 'Offer details'], ['redemption_channel', 'Redemption channel'],
  ['valid_from', 'Valid from'], ['valid_until', 'Valid until'], ['program_name', 'Program name'],
  ['account_id', 'Member account ID'], ['account_name', 'Member name'], ['points', 'Points'],
];

const SAMPLE_PASS_VALUES = {
  pass_id: 'pass_01m8bwe18c9azhk3fk0za7nfgx', serial_number: 'SN-7QK2M9XA', pass_type: 'loyalty', status: 'active',
  version: 1, template_id: 'tpl_01m8c2f9k4x7qv3n8d5b2w6r0t', livemode: true,
  pass_created_at: '2026-11-26T12:00:00.000Z', pass_updated_at: '2026-11-26T12:00:00.000Z',
  share_url: 'https://wallet.example.com/p/pass_01m8bwe18c9azhk3fk0za7nfgx.q9Xc2LmT8xWc5NaE1uJp7sGd4BYk3hQ0',
  pkpass_url: '', google_save_url: '',
  organization_name: 'Solstice Coffee Co.', logo_text: 'Solstice', background_color: '#1a1a2e',
  foreground_color: '#ffffff', barcode_message: 'MEMBER-00421', account_name: 'Ada L.', points: '2450',
  fields_json: '{"points":"2,450"}', metadata_json: '{}',
};

/** [key, label, type] of a flat pass, in the plugin's order. */
const PASS_FIELDS = [
  ['pass_id', 'Pass ID', 'string'], ['serial_number', 'Serial number', 'string'], ['pass_type', 'Pass type', 'string'],
  ['status', 'Status', 'string'], ['version', 'Version', 'integer'], ['template_id', 'Template ID', 'string'],
  ['livemode', 'Live mode', 'boolean'], ['pass_created_at', 'Pass created at', 'datetime'],
  ['pass_updated_at', 'Pass updated at', 'datetime'], ['share_url', 'Share page URL', 'string'],
  ['pkpass_url', 'Apple Wallet (.pkpass) URL', 'string'], ['google_save_url', 'Google Wallet save URL', 'string'],
  ...PASS_TEXT.map(([k, l]) => [k, l, 'string']),
  ['fields_json', 'Fields (JSON: key to value)', 'string'], ['metadata_json', 'Metadata (JSON)', 'string'],
];

const EVENT_HEAD = [['id', 'Event ID', 'string'], ['event_type', 'Event type', 'string'], ['created_at', 'Event time', 'datetime']];

/** The flat fields of each trigger's event: [key, label, type]. */
const EVENT_FIELDS = {
  'pass.created': [...EVENT_HEAD, ...PASS_FIELDS],
  'pass.updated': [...EVENT_HEAD, ...PASS_FIELDS, ['changed', 'Changed keys (comma-separated)', 'string']],
  'pass.voided': [...EVENT_HEAD, ...PASS_FIELDS],
  'pass.installed': [...EVENT_HEAD, ['pass_id', 'Pass ID', 'string'], ['serial_number', 'Serial number', 'string'],
    ['device_library_identifier', 'Device ID', 'string']],
  'pass.removed': [...EVENT_HEAD, ['pass_id', 'Pass ID', 'string'], ['serial_number', 'Serial number', 'string'],
    ['device_library_identifier', 'Device ID', 'string']],
  'batch.completed': [...EVENT_HEAD, ['batch_id', 'Batch ID', 'string'], ['status', 'Status', 'string'],
    ['total', 'Total', 'integer'], ['succeeded', 'Succeeded', 'integer'], ['failed', 'Failed', 'integer'],
    ['progress', 'Progress (0 to 1)', 'number'], ['template_id', 'Template ID', 'string'],
    ['batch_created_at', 'Batch created at', 'datetime'], ['completed_at', 'Completed at', 'datetime']],
};

const SAMPLE_OTHER = {
  device_library_identifier: '6b1f1b8bd6c9d2b3f5e0c7a4d2e1f0a9', changed: 'points,account_name',
  batch_id: 'batch_01m8c3a1b2c3d4e5f6g7h8j9k0', total: 2, succeeded: 2, failed: 0, progress: 1,
  batch_created_at: '2026-11-26T12:00:00.000Z', completed_at: '2026-11-26T12:00:03.000Z',
};

const EMPTY = { string: '', datetime: '', integer: 0, number: 0, boolean: false };

/** A sample object with every key of fields, of its type. */
function sampleOf(fields, head = {}) {
  const o = {};
  for (const [k, , t] of fields) {
    const v = k in head ? head[k] : k in SAMPLE_PASS_VALUES ? SAMPLE_PASS_VALUES[k] : k in SAMPLE_OTHER ? SAMPLE_OTHER[k] : EMPTY[t];
    o[k] = v;
  }
  return o;
}

/** Zapier outputFields from [key, label, type]: "datetime" and "integer" as Zapier names them. */
function outputFieldsOf(fields) {
  return fields.map(([key, label, type]) => ({ key, label, type }));
}

function eventSample(type) {
  return sampleOf(EVENT_FIELDS[type], {
    id: 'evt_01m8bwe18c9azhk3fk0za7nfgd', event_type: type, created_at: '2026-11-26T12:00:00.000Z',
    status: type === 'batch.completed' ? 'completed' : type === 'pass.voided' ? 'voided' : 'active',
    template_id: type === 'batch.completed' ? 'tpl_01m8c2f9k4x7qv3n8d5b2w6r0t' : SAMPLE_PASS_VALUES.template_id,
  });
}

/** The flat pass an action or a search answers: {id: pass id, ...pass fields}. */
const PASS_RESULT_FIELDS = [['id', 'Pass ID', 'string'], ...PASS_FIELDS];
const passSample = () => sampleOf(PASS_RESULT_FIELDS, { id: SAMPLE_PASS_VALUES.pass_id });

module.exports = { PASS_TEXT, PASS_FIELDS, EVENT_FIELDS, PASS_RESULT_FIELDS, eventSample, passSample, outputFieldsOf };
