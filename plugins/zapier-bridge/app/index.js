'use strict';
// The WalletPass Zapier app: six REST-hook triggers, four actions, one search
// (with search-or-create), against the gateway's zapier-bridge plugin
// (/api/v1/zapier/…).  docs/zapier.md says how to publish it and connect it.
const { version } = require('./package.json');
const { version: platformVersion } = require('zapier-platform-core');

const authentication = require('./authentication');
const { addAuth, gatewayErrors } = require('./lib/http');
const passEvents = require('./triggers/pass_events');
const templateList = require('./triggers/template_list');
const createPass = require('./creates/create_pass');
const updatePass = require('./creates/update_pass');
const voidPass = require('./creates/void_pass');
const notifyPass = require('./creates/notify_pass');
const findPass = require('./searches/find_pass');

module.exports = {
  version,
  platformVersion,
  authentication,
  beforeRequest: [addAuth],
  afterResponse: [gatewayErrors],
  triggers: { ...passEvents, [templateList.key]: templateList },
  creates: {
    [createPass.key]: createPass,
    [updatePass.key]: updatePass,
    [voidPass.key]: voidPass,
    [notifyPass.key]: notifyPass,
  },
  searches: { [findPass.key]: findPass },
  searchOrCreates: {
    [findPass.key]: {
      key: findPass.key,
      display: { label: 'Find or Create Pass', description: 'Finds a pass by serial number or barcode, or creates it.' },
      search: findPass.key,
      create: createPass.key,
    },
  },
};
