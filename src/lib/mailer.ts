// Outgoing e-mail through nodemailer. EMAIL_BACKEND=console writes the message to the application
// log (development: the verification token is then read from the log; in production only the
// recipient and subject, since a body carries a token); EMAIL_BACKEND=smtp sends it to SMTP_HOST.
// Delivery runs in the background so a request never waits on (or reveals anything through the
// timing of) a mail server; failures are logged, and close() waits for pending sends. A message
// can also be composed in the background, after the request has been answered, when even deciding
// whether to send one (a database lookup) must not show in the answer's timing.
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
  /**
   * Starts sending `message` without waiting; or, given `compose`, runs it on a later turn of the
   * event loop (after the current request has been answered) and sends what it returns, if
   * anything. A failure is logged, never thrown.
   */
  deliver(message: MailMessage | Compose): void;
  /** Resolves once every background delivery has finished. */
  idle(): Promise<void>;
  /** Waits for background deliveries, then releases the transport. */
  close(): Promise<void>;
}

/** Background work that decides on a message: undefined when there is nothing to send. */
export type Compose = () => Promise<MailMessage | undefined>;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

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

  const idle = async (): Promise<void> => {
    while (pending.size > 0) await Promise.allSettled([...pending]);
  };

  const send = async (message: MailMessage): Promise<void> => {
    if (!transport) {
      // Console backend: the message itself is the output. It never contains a password.
      const email = logsBody ? { from: config.emailFrom, ...message } : { from: config.emailFrom, to: message.to, subject: message.subject };
      log.info({ email }, `email (console backend) to ${message.to}: ${message.subject}`);
      return;
    }
    await transport.sendMail({ from: config.emailFrom, to: message.to, subject: message.subject, text: message.text });
  };

  const sendLogged = (message: MailMessage): Promise<void> =>
    send(message).catch((error: unknown) => {
      // The recipient is enough to trace the failure; the body carries a token.
      log.error({ err: error, to: message.to, subject: message.subject }, 'email delivery failed');
    });

  return {
    send,
    deliver(message) {
      const work =
        typeof message === 'function'
          ? nextTurn()
              .then(message)
              .then(
                (composed) => composed && sendLogged(composed),
                (error: unknown) => log.error({ err: error }, 'composing an email failed'),
              )
          : sendLogged(message);
      const task = work.finally(() => pending.delete(task));
      pending.add(task);
    },
    idle,
    async close() {
      await idle();
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
