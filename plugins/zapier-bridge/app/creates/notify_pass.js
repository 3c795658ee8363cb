'use strict';

module.exports = {
  key: 'notify_pass',
  noun: 'Notification',
  display: { label: 'Send Pass Notification', description: 'Shows a message on the lock screen of every device holding the pass.' },
  operation: {
    inputFields: [
      { key: 'pass_id', label: 'Pass', required: true, search: 'find_pass.id', helpText: 'The pass ID (pass_…).' },
      { key: 'message', label: 'Message', type: 'text', required: true, helpText: '1 to 4,096 characters.' },
    ],
    perform: (z, bundle) =>
      z.request({
        url: `/api/v1/zapier/passes/${encodeURIComponent(bundle.inputData.pass_id)}/notify`,
        method: 'POST',
        body: { message: bundle.inputData.message },
      }).then((r) => r.data),
    sample: {
      id: 'ntf_01m8bx2v3c0qv4ef6bgd8t9h2k', notification_id: 'ntf_01m8bx2v3c0qv4ef6bgd8t9h2k',
      pass_id: 'pass_01m8bwe18c9azhk3fk0za7nfgx', message: 'Double points until Sunday!', status: 'queued',
      created_at: '2026-11-26T12:05:00.000Z',
    },
    outputFields: [
      { key: 'id', label: 'Notification ID', type: 'string' },
      { key: 'notification_id', label: 'Notification ID', type: 'string' },
      { key: 'pass_id', label: 'Pass ID', type: 'string' },
      { key: 'message', label: 'Message', type: 'string' },
      { key: 'status', label: 'Status', type: 'string' },
      { key: 'created_at', label: 'Created at', type: 'datetime' },
    ],
  },
};
