'use strict';
const { PASS_RESULT_FIELDS, passSample, outputFieldsOf } = require('../lib/flat');
const { templateInput, templateFields, textInputs } = require('./pass_inputs');

module.exports = {
  key: 'create_pass',
  noun: 'Pass',
  display: { label: 'Create Pass', description: 'Creates a wallet pass, from a template or from the fields given.' },
  operation: {
    inputFields: [
      templateInput("The template to start from. Its fields appear below; what you leave empty keeps the template's value."),
      templateFields,
      { key: 'serial_number', label: 'Serial number', type: 'string', required: false,
        helpText: 'Unique in your account; generated when empty.' },
      ...textInputs(),
    ],
    perform: (z, bundle) =>
      z.request({ url: '/api/v1/zapier/passes', method: 'POST', body: bundle.inputData }).then((r) => r.data),
    sample: passSample(),
    outputFields: outputFieldsOf(PASS_RESULT_FIELDS),
  },
};
