'use strict';
// Every request goes to the gateway the user connected, with their key; every
// error comes back as the message the gateway wrote (it names the field).

function addAuth(request, z, bundle) {
  const base = String(bundle.authData.base_url || '').replace(/\/+$/, '');
  if (request.url && request.url.startsWith('/')) request.url = base + request.url;
  request.headers = request.headers || {};
  if (bundle.authData.api_key) request.headers.Authorization = `Bearer ${bundle.authData.api_key}`;
  request.headers.Accept = 'application/json';
  return request;
}

function gatewayErrors(response, z) {
  if (response.status < 400) return response;
  let error = {};
  try {
    error = (JSON.parse(response.content) || {}).error || {};
  } catch (e) {
    error = {};
  }
  const message = error.message || `The gateway answered ${response.status}.`;
  // a revoked or rotated key: Zapier marks the connection expired and asks the user to reconnect
  if (response.status === 401) throw new z.errors.ExpiredAuthError(`The API key was refused: ${message}`);
  if (response.status === 429) {
    const after = Number(response.getHeader ? response.getHeader('retry-after') : 0) || 60;
    throw new z.errors.ThrottledError(message, after);
  }
  throw new z.errors.Error(message, error.code || 'GatewayError', response.status);
}

module.exports = { addAuth, gatewayErrors };
