// Sends one message with nodemailer, as an application would: STARTTLS required, the server's
// certificate checked against the CA file, AUTH as nodemailer chooses. Everything comes from the
// JSON in argv[2] (see tests/recordreplay/real_clients.py); exits 1 with the error otherwise.
import { readFileSync } from "node:fs";
import nodemailer from "nodemailer";

const mail = JSON.parse(process.argv[2]);
const transport = nodemailer.createTransport({
  host: mail.host,
  port: mail.port,
  secure: false,
  requireTLS: true,
  auth: { user: mail.user, pass: mail.password },
  tls: { ca: readFileSync(mail.cafile), servername: "localhost" },
  connectionTimeout: 5000,
  greetingTimeout: 5000,
  socketTimeout: 5000,
});
const message = {
  from: mail.sender,
  to: mail.recipient,
  subject: mail.subject,
  text: mail.text,
  html: mail.html,
  attachments: mail.attachment
    ? [{ filename: mail.attachment.name, content: Buffer.from(mail.attachment.base64, "base64") }]
    : [],
};
try {
  await transport.sendMail(message);
} catch (error) {
  console.error(`nodemailer: ${error.message}`);
  process.exitCode = 1;
}
