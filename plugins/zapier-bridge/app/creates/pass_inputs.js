'use strict';
// The inputs the pass actions share: a template (its fields become inputs of
// their own, field_<key>) and the pass's text fields, flat.
const { PASS_TEXT } = require('../lib/flat');

const templateInput = (helpText) => ({
  key: 'template_id', label: 'Template', dynamic: 'template_list.id.name', altersDynamicFields: true, required: false,
  helpText,
});

/** The template's fields as inputs field_<key> (the gateway describes them: GET /api/v1/zapier/templates/:id/fields). */
const templateFields = (z, bundle) => {
  const id = bundle.inputData.template_id;
  if (!id) return [];
  return z.request({ url: `/api/v1/zapier/templates/${encodeURIComponent(id)}/fields` }).then((r) => r.data);
};

const CHOICES = {
  pass_type: { generic: 'Generic', loyalty: 'Loyalty card', coupon: 'Coupon', event: 'Event ticket' },
  barcode_format: { qr: 'QR', pdf417: 'PDF417', aztec: 'Aztec', code128: 'Code 128' },
  redemption_channel: { online: 'Online', instore: 'In store', both: 'Both' },
};

const textInputs = () => [
  { key: 'pass_type', label: 'Pass type', required: false, choices: CHOICES.pass_type,
    helpText: 'Required without a template that sets it.' },
  ...PASS_TEXT.map(([key, label]) => {
    const o = { key, label, type: 'string', required: false };
    if (CHOICES[key]) o.choices = CHOICES[key];
    if (key === 'account_id') o.helpText = "A loyalty member's own id in your system (not the WalletPass account).";
    return o;
  }),
];

module.exports = { templateInput, templateFields, textInputs };
