'use strict';
const { PASS_RESULT_FIELDS, passSample, outputFieldsOf } = require('../lib/flat');
const { templateInput, templateFields, textInputs } = require('./pass_inputs');

module.exports = {
  key: 'update_pass',
  noun: 'Pass',
  display: { label: 'Update Pass', description: 'Changes fields of a pass; devices holding it get the update.' },
  operation: {
    inputFields: [
      { key: 'pass_id', label: 'Pass', required: true, search: 'find_pass.id', helpText: 'The pass ID (pass_…).' },
      templateInput("The pass's template, to offer its fields as inputs. It is not changed."),
      templateFields,
      ...textInputs(),
    ],
    perform: (z, bundle) => {
      const { pass_id: id, template_id: ignored, ...patch } = bundle.inputData;
      return z.request({ url: `/api/v1/zapier/passes/${encodeURIComponent(id)}`, method: 'PUT', body: patch })
        .then((r) => r.data);
    },
    sample: passSample(),
    outputFields: outputFieldsOf(PASS_RESULT_FIELDS),
  },
};
