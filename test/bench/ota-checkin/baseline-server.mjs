// The bench's baseline, run as its own process (its arguments in the JSON file named first): a bare keep-alive mutual-TLS Node server that checks
// the client certificate against the same chain and answers a check-in as cheaply as it can: 304
// when If-None-Match matches, else 200 with a small JSON body and the ETag. Prints its port.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const { keyPem, certPem, clientCaPem } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const ETAG = '"bench-directive-state"';
const BODY = JSON.stringify({ pollAfterSeconds: 3600, serverTime: new Date().toISOString() });
createServer(
  { key: keyPem, cert: certPem, ca: clientCaPem, requestCert: true, rejectUnauthorized: true },
  (req, res) => {
    // What any server must do: know who is asking before answering.
    const peer = req.socket.getPeerCertificate();
    if (!peer?.subject?.CN) {
      res.writeHead(401).end();
      return;
    }
    const headers = { etag: ETAG, 'cache-control': 'private, max-age=3600' };
    if (req.headers['if-none-match'] === ETAG) res.writeHead(304, headers).end();
    else res.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(BODY);
  },
).listen(0, '127.0.0.1', function () {
  console.log(this.address().port);
});
