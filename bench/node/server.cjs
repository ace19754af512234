// Node smtp-server as a reference for `make bench` (bench/peers.py starts it; never a
// dependency of smtprig). Two listeners, both with AUTH required and accepting any account, and a
// data handler that drains each message like aiosmtpd's Sink:
//   - implicit TLS (`secure: true`), like port 465;
//   - STARTTLS (`secure: false` with a certificate), like port 587; AUTH before TLS is refused
//     (smtp-server's default without `allowInsecureAuth`), as Gmail refuses it.
// Reverse DNS of the client is off: a lookup is not SMTP work, and without a resolver it waits
// 1.5 s. smtp-server's fixed 100 ms pause before the greeting (its early-talker check) stays.
//
// Usage: node server.cjs KEY_PEM CHAIN_PEM CAFILE
// Prints one JSON ready line like bench/servers.py's, then serves until SIGTERM.
'use strict';

const fs = require('node:fs');
const { SMTPServer } = require('smtp-server');

const [keyPath, chainPath, cafile] = process.argv.slice(2);
if (!cafile) {
  console.error('usage: node server.cjs KEY_PEM CHAIN_PEM CAFILE');
  process.exit(2);
}
const key = fs.readFileSync(keyPath);
const cert = fs.readFileSync(chainPath);

function server(secure) {
  return new SMTPServer({
    secure,
    key,
    cert,
    name: 'localhost',
    logger: false,
    disableReverseLookup: true,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, session, callback) {
      callback(null, { user: auth.username });
    },
    onData(stream, session, callback) {
      stream.on('end', () => callback(null, 'OK'));
      stream.resume();
    },
  });
}

function listen(smtp) {
  return new Promise((resolve, reject) => {
    smtp.on('error', reject);
    smtp.listen(0, '127.0.0.1', () => resolve(smtp.server.address().port));
  });
}

async function main() {
  const implicit = server(true);
  const starttls = server(false);
  const ports = await Promise.all([listen(implicit), listen(starttls)]);
  const ready = {
    host: '127.0.0.1',
    smtps_port: ports[0],
    submission_port: ports[1],
    cafile,
  };
  process.stdout.write(JSON.stringify(ready) + '\n');
  process.on('SIGTERM', () => {
    implicit.close(() => {});
    starttls.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
