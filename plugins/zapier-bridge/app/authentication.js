'use strict';
// Custom auth: the gateway's URL and an API key (sk_live_… or sk_test_…).
// The test is GET /api/v1/zapier/me, whose label names the account and, for a
// test key, says [test].

module.exports = {
  type: 'custom',
  fields: [
    {
      key: 'base_url', label: 'Gateway URL', type: 'string', required: true,
      helpText: 'The public URL of your WalletPass gateway, such as `https://wallet.example.com`.',
    },
    {
      key: 'api_key', label: 'API key', type: 'password', required: true,
      helpText: 'An API key of your account: `sk_live_…`, or `sk_test_…` to try Zaps on test passes first. ' +
        'Create one with `POST /api/v1/api_keys` or `walletpass key create`.',
    },
  ],
  test: (z) => z.request({ url: '/api/v1/zapier/me' }).then((r) => r.data),
  connectionLabel: '{{bundle.inputData.label}}',
};
