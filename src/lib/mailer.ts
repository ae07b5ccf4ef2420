// Outgoing e-mail through nodemailer. EMAIL_BACKEND=console writes the message to the application
// log (development: the verification token is then read from the log; in production only the
// recipient and subject, since a body carries a token); EMAIL_BACKEND=smtp sends it to SMTP_HOST.
// Delivery runs in the background so a request never waits on (or reveals anything through the
// timing of) a mail server; failures are logged, and close() waits for pending sends.
import type { FastifyBaseLogger } from 'fastify';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../config.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  /** Sends `message`; resolves when the backend accepted it. */
  send(message: MailMessage): Promise<void>;
  /** Starts sending `message` without waiting; a failure is logged, never thrown. */
  deliver(message: MailMessage): void;
  /** Waits for background deliveries, then releases the transport. */
  close(): Promise<void>;
}

export function createMailer(config: Config, log: FastifyBaseLogger): Mailer {
  const transport: Transporter | null = config.emailBackend === 'smtp' ? smtpTransport(config) : null;
  const pending = new Set<Promise<void>>();
  // Production logs are read by more people than the recipient: a verification token must not reach them.
  const logsBody = config.environment !== 'production';
  if (!transport && !logsBody) {
    log.warn(
      'EMAIL_BACKEND=console in production: e-mails are not delivered (only their recipient and subject are logged); ' +
        'set EMAIL_BACKEND=smtp',
    );
  }

  const send = async (message: MailMessage): Promise<void> => {
    if (!transport) {
      // Console backend: the message itself is the output. It never contains a password.
      const email = logsBody ? { from: config.emailFrom, ...message } : { from: config.emailFrom, to: message.to, subject: message.subject };
      log.info({ email }, `email (console backend) to ${message.to}: ${message.subject}`);
      return;
    }
    await transport.sendMail({ from: config.emailFrom, to: message.to, subject: message.subject, text: message.text });
  };

  return {
    send,
    deliver(message) {
      const task = send(message)
        .catch((error: unknown) => {
          // The recipient is enough to trace the failure; the body carries a token.
          log.error({ err: error, to: message.to, subject: message.subject }, 'email delivery failed');
        })
        .finally(() => pending.delete(task));
      pending.add(task);
    },
    async close() {
      await Promise.allSettled([...pending]);
      transport?.close();
    },
  };
}

/**
 * SMTP_TLS=true: implicit TLS on port 465, STARTTLS required on any other port.
 * SMTP_TLS=false: plain SMTP, STARTTLS not attempted (a local relay or a test listener).
 */
function smtpTransport(config: Config): Transporter {
  const implicitTls = config.smtpTls && config.smtpPort === 465;
  return nodemailer.createTransport({
    host: config.smtpHost,
    port: config.smtpPort,
    secure: implicitTls,
    requireTLS: config.smtpTls && !implicitTls,
    ignoreTLS: !config.smtpTls,
    auth: config.smtpUser ? { user: config.smtpUser, pass: config.smtpPassword } : undefined,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
}
