// A throwaway PKI for suites that need Apple's side: a CA standing in for Apple's WWDR, Pass
// Type ID certificates (uploaded as P12) signed by it, and the TLS certificate of a local APNs
// stand-in for 127.0.0.1 (the apns plugin's ca_file).  openssl CLI, a few seconds.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const TEAM = 'ABCDE12345';
export const P12_PASSWORD = 'p12-Passw0rd';

/**
 * makePki(dir, ptids) writes into dir: wwdr.pem/.key (the CA), <name>.p12 for each
 * {name: ptid}, tls.pem/.key.  Returns { file(name), p12Base64(name), wwdrPem }.
 */
export function makePki(dir, ptids) {
  const f = (name) => path.join(dir, name);
  const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  fs.writeFileSync(f('ca.cnf'), ['[ ca ]', 'default_ca = d', '[ d ]', 'database = index.txt', 'new_certs_dir = .',
    'serial = serial', 'default_md = sha256', 'policy = p', 'unique_subject = no', '[ p ]', 'commonName = optional',
    ''].join('\n'));
  fs.writeFileSync(f('index.txt'), '');
  fs.writeFileSync(f('serial'), '1000\n');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'wwdr.key', '-out', 'wwdr.pem', '-days', '30',
    '-subj', '/C=US/O=Test Apple/OU=G4/CN=Fake Worldwide Developer Relations Certification Authority');
  for (const [name, ptid] of Object.entries(ptids)) {
    ssl('genrsa', '-out', `${name}.key`, '2048');
    fs.writeFileSync(f(`${name}.ext`), ['[ ext ]', 'basicConstraints = CA:FALSE', 'keyUsage = digitalSignature',
      'extendedKeyUsage = clientAuth', 'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid',
      `1.2.840.113635.100.6.1.16 = ASN1:UTF8String:${ptid}`, ''].join('\n'));
    ssl('req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj',
      `/UID=${ptid}/CN=Pass Type ID: ${ptid}/OU=${TEAM}/O=Example Inc./C=US`);
    ssl('ca', '-config', 'ca.cnf', '-batch', '-notext', '-preserveDN', '-cert', 'wwdr.pem', '-keyfile', 'wwdr.key',
      '-in', `${name}.csr`, '-out', `${name}.pem`, '-days', '30', '-extfile', `${name}.ext`, '-extensions', 'ext');
    ssl('pkcs12', '-export', '-inkey', `${name}.key`, '-in', `${name}.pem`, '-passout', `pass:${P12_PASSWORD}`,
      '-out', `${name}.p12`);
  }
  ssl('genrsa', '-out', 'tls.key', '2048');
  fs.writeFileSync(f('tls.ext'), ['[ ext ]', 'basicConstraints = CA:FALSE', 'subjectAltName = IP:127.0.0.1', ''].join('\n'));
  ssl('req', '-new', '-key', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=127.0.0.1');
  ssl('ca', '-config', 'ca.cnf', '-batch', '-notext', '-cert', 'wwdr.pem', '-keyfile', 'wwdr.key', '-in', 'tls.csr',
    '-out', 'tls.pem', '-days', '30', '-extfile', 'tls.ext', '-extensions', 'ext');
  return {
    file: f,
    p12Base64: (name) => fs.readFileSync(f(`${name}.p12`)).toString('base64'),
    wwdrPem: fs.readFileSync(f('wwdr.pem'), 'utf8'),
  };
}
