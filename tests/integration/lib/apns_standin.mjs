// The HTTP/2 + TLS server under the APNs stand-ins of tests/integration/apns.test.mjs and
// tests/bench/apns_push.mjs.  TLS with client certificates of the given CA (as APNs
// requires), ALPN h2, Node's http2 on top, and the counts the tests assert on.
//
// Why not http2.createSecureServer: libcurl 7.88 sends RST_STREAM(STREAM_CLOSED) for
// every stream after it has been closed cleanly on both sides (an interposer on
// nghttp2_submit_rst_stream shows one per finished transfer, the curl CLI included).
// Node's nghttp2 counts every received RST_STREAM in its rapid-reset limiter (1000 burst,
// 33/s, not configurable in Node 20) and answers with GOAWAY(INTERNAL_ERROR) after about
// 1,100 pushes on a connection; APNs is documented to allow a long-lived connection with
// many streams, and RFC 9113 §5.1 tells an endpoint to tolerate a RST_STREAM that
// crosses the end of a stream.  So such late resets (the stream already ended by both
// sides) are counted here and not passed to nghttp2; every other frame, including a
// reset of a stream still open (the rapid-reset attack), reaches nghttp2 unchanged.
import http2 from 'node:http2';
import tls from 'node:tls';
import { Duplex } from 'node:stream';

// Splits a byte stream into HTTP/2 frames (after `preface` bytes); onFrame(type, flags, id)
// returns false to drop the frame.  Returns the buffers to forward.
function frameScanner(preface, onFrame) {
  let pending = Buffer.alloc(0);
  let skip = preface;
  return (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    const out = [];
    let pos = 0;
    if (skip > 0) {
      const n = Math.min(skip, pending.length);
      out.push(pending.subarray(0, n));
      pos = n;
      skip -= n;
    }
    while (skip === 0 && pending.length - pos >= 9) {
      const len = pending.readUIntBE(pos, 3);
      if (pending.length - pos < 9 + len) break;
      const type = pending[pos + 3], flags = pending[pos + 4], id = pending.readUInt32BE(pos + 5) & 0x7fffffff;
      const frame = pending.subarray(pos, pos + 9 + len);
      if (onFrame(type, flags, id) !== false) out.push(frame);
      pos += 9 + len;
    }
    pending = Buffer.from(pending.subarray(pos));
    return out;
  };
}

const DATA = 0, HEADERS = 1, RST_STREAM = 3, END_STREAM = 1;

/**
 * createStandIn({key, cert, ca, settings}) -> tls.Server with .h2 (the http2 server: 'stream'
 * events as usual; stream.session.tls is the TLS socket, for the client certificate) and
 * .stats {connections (TLS handshakes completed), lateResets (see above), resets (client
 * resets of open streams), goaways (sent by the server)}.
 */
export function createStandIn({ key, cert, ca, settings = {} }) {
  const h2 = http2.createServer({ settings });
  const stats = { connections: 0, lateResets: 0, resets: 0, goaways: 0 };
  let current = null;
  h2.on('session', (session) => {
    session.tls = current;
    session.on('error', () => {});
  });
  const srv = tls.createServer({ key, cert, ca, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] }, (sock) => {
    stats.connections++;
    const ended = new Map(); // stream id -> 1 client ended | 2 server ended
    const mark = (id, bit) => ended.set(id, (ended.get(id) || 0) | bit);
    const fromServer = frameScanner(0, (type, flags, id) => {
      if (id && ((type === DATA || type === HEADERS) && flags & END_STREAM)) mark(id, 2);
      else if (id && type === RST_STREAM) mark(id, 2);
      else if (type === 7) stats.goaways++;
    });
    const fromClient = frameScanner(24, (type, flags, id) => {
      if (id && (type === DATA || type === HEADERS) && flags & END_STREAM) mark(id, 1);
      if (type !== RST_STREAM || !id) return true;
      if (ended.get(id) === 3) {
        ended.delete(id);
        stats.lateResets++;
        return false;
      }
      stats.resets++;
      return true;
    });
    const d = new Duplex({
      read() {},
      write(chunk, enc, cb) {
        fromServer(chunk);
        sock.write(chunk, cb);
      },
      final(cb) {
        sock.end();
        cb();
      },
      destroy(err, cb) {
        sock.destroy();
        cb(err);
      },
    });
    sock.on('data', (b) => { for (const fr of fromClient(b)) d.push(fr); });
    sock.on('end', () => d.push(null));
    sock.on('error', () => d.destroy());
    sock.on('close', () => d.destroy());
    current = sock;
    h2.emit('connection', d); // the session is created (and 'session' emitted) synchronously
    current = null;
  });
  srv.h2 = h2;
  srv.stats = stats;
  return srv;
}
