'use strict';
// The six REST-hook triggers: the gateway POSTs each event, flat, to the Zap's
// target URL (performSubscribe), and lists recent ones as sample data
// (performList: the same keys and types, [] when there are none).
const { EVENT_FIELDS, eventSample, outputFieldsOf } = require('../lib/flat');

const TRIGGERS = [
  ['pass_created', 'pass.created', 'Pass Created', 'Triggers when a pass is created (alone, from a template or in a batch).'],
  ['pass_updated', 'pass.updated', 'Pass Updated', 'Triggers when a pass changes (its fields, or a template update reaching it).'],
  ['pass_voided', 'pass.voided', 'Pass Voided', 'Triggers when a pass is voided.'],
  ['pass_installed', 'pass.installed', 'Pass Added to a Wallet', 'Triggers when a device adds a pass to its wallet.'],
  ['pass_removed', 'pass.removed', 'Pass Removed from a Wallet', 'Triggers when a device removes a pass from its wallet.'],
  ['batch_completed', 'batch.completed', 'Batch Completed', 'Triggers when a batch of passes has been created.'],
];

function trigger([key, event, label, description]) {
  return {
    key,
    noun: event.startsWith('batch') ? 'Batch' : 'Pass',
    display: { label, description },
    operation: {
      type: 'hook',
      performSubscribe: (z, bundle) =>
        z.request({ url: '/api/v1/zapier/hooks', method: 'POST', body: { target_url: bundle.targetUrl, event } })
          .then((r) => r.data),
      performUnsubscribe: (z, bundle) =>
        z.request({ url: `/api/v1/zapier/hooks/${encodeURIComponent(bundle.subscribeData.id)}`, method: 'DELETE' })
          .then((r) => r.data),
      perform: (z, bundle) => [bundle.cleanedRequest],
      performList: (z) =>
        z.request({ url: '/api/v1/zapier/events', params: { type: event, limit: 10 } }).then((r) => r.data),
      sample: eventSample(event),
      outputFields: outputFieldsOf(EVENT_FIELDS[event]),
    },
  };
}

module.exports = Object.fromEntries(TRIGGERS.map((t) => [t[0], trigger(t)]));
