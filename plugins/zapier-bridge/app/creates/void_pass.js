'use strict';
const { PASS_RESULT_FIELDS, passSample, outputFieldsOf } = require('../lib/flat');

module.exports = {
  key: 'void_pass',
  noun: 'Pass',
  display: { label: 'Void Pass', description: 'Voids a pass: devices show it as no longer valid. Voiding twice is harmless.' },
  operation: {
    inputFields: [{ key: 'pass_id', label: 'Pass', required: true, search: 'find_pass.id', helpText: 'The pass ID (pass_…).' }],
    perform: (z, bundle) =>
      z.request({ url: `/api/v1/zapier/passes/${encodeURIComponent(bundle.inputData.pass_id)}/void`, method: 'POST', body: {} })
        .then((r) => r.data),
    sample: { ...passSample(), status: 'voided', version: 2 },
    outputFields: outputFieldsOf(PASS_RESULT_FIELDS),
  },
};
