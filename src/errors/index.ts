// One error type with a stable snake_case `code` per failure (the svix anchor). The HTTP edge maps
// it to a status; 4xx messages are shown to the client, 5xx become a generic message and are
// logged once with their `cause`.

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  /** Whether `message` may be shown to the caller (true for 4xx). */
  readonly expose: boolean;
  /** Extra machine-readable detail for the client (e.g. the offending field). */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: string,
    message: string,
    status = 500,
    opts: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = status;
    this.expose = status < 500;
    this.details = opts.details;
  }
}

export const badRequest = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError(code, message, 400, { details });
export const notFound = (message: string, code = 'not_found') => new AppError(code, message, 404);
export const conflict = (code: string, message: string) => new AppError(code, message, 409);

/** A configuration or resource problem, reported with the field (and file) it concerns. */
export class ValidationError extends AppError {
  readonly field: string;
  constructor(field: string, message: string, source?: string) {
    super('invalid_field', `${source ? source + ': ' : ''}${field}: ${message}`, 422, {
      details: { field, ...(source ? { source } : {}) },
    });
    this.name = 'ValidationError';
    this.field = field;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** A short description for logs of anything thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
