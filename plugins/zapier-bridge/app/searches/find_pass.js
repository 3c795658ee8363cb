'use strict';
// A miss is an empty list (the gateway answers 200 with []), never an error.
const { PASS_RESULT_FIELDS, passSample, outputFieldsOf } = require('../lib/flat');

module.exports = {
  key: 'find_pass',
  noun: 'Pass',
  display: { label: 'Find Pass', description: 'Finds a pass by its serial number or by its barcode message.' },
  operation: {
    inputFields: [
      { key: 'serial_number', label: 'Serial number', type: 'string', required: false },
      { key: 'barcode_message', label: 'Barcode message', type: 'string', required: false,
        helpText: 'What the barcode says (what a scanner read).' },
    ],
    perform: (z, bundle) => {
      const params = {};
      for (const k of ['serial_number', 'barcode_message']) if (bundle.inputData[k]) params[k] = bundle.inputData[k];
      return z.request({ url: '/api/v1/zapier/passes/find', params }).then((r) => r.data);
    },
    sample: passSample(),
    outputFields: outputFieldsOf(PASS_RESULT_FIELDS),
  },
};
