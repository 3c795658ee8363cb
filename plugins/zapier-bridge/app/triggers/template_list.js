'use strict';
// Hidden: the account's templates, for the Template dropdowns of the actions.
module.exports = {
  key: 'template_list',
  noun: 'Template',
  display: { label: 'List Templates', description: 'The templates of the account, for dropdowns.', hidden: true },
  operation: {
    perform: (z) => z.request({ url: '/api/v1/zapier/templates' }).then((r) => r.data),
    sample: { id: 'tpl_01m8c2f9k4x7qv3n8d5b2w6r0t', name: 'Solstice loyalty', pass_type: 'loyalty' },
    outputFields: [
      { key: 'id', label: 'Template ID', type: 'string' },
      { key: 'name', label: 'Name', type: 'string' },
      { key: 'pass_type', label: 'Pass type', type: 'string' },
    ],
  },
};
