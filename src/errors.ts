// Typed HTTP errors. Handlers and services throw these; the error handler (plugins/error-handler.ts)
// is the only place that turns them into `{"detail": "..."}` responses.
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'AppError';
  }
}

export const badRequest = (detail: string) => new AppError(400, detail);
export const unauthorized = (detail = 'Could not validate credentials') =>
  new AppError(401, detail, { 'www-authenticate': 'Bearer' });
export const forbidden = (detail: string) => new AppError(403, detail);
export const notFound = (detail = 'Not found') => new AppError(404, detail);
export const conflict = (detail: string) => new AppError(409, detail);
/** A dependency (the database) cannot serve the request now; the client may retry shortly. */
export const serviceUnavailable = (detail: string) => new AppError(503, detail, { 'retry-after': '5' });

/** A 422 raised by code (not by schema validation), shaped like a schema validation error. */
export class ValidationFailure extends AppError {
  constructor(
    readonly loc: (string | number)[],
    msg: string,
    readonly type = 'value_error',
  ) {
    super(422, msg);
    this.name = 'ValidationFailure';
  }
}

export const invalid = (loc: (string | number)[], msg: string, type = 'value_error') => new ValidationFailure(loc, msg, type);
