/**
 * The two kinds of expected failure. Anything else that is thrown is a bug.
 *
 * - `InputError`: the caller's input is wrong. It names the input field (`context`, `s3_bucket`, `build_id`, …),
 *   what was wrong with it and what to pass instead.
 * - `ExpectedFailure`: the input was fine but the world was not — an AWS call was denied, throttled, timed out, found
 *   nothing, or answered with something the SDK could not read. It says what failed (for AWS: the service and the
 *   operation) and the next step. AWS failures are made by `describeAwsError` (aws-errors.ts), never by hand.
 *
 * The MCP layer turns both into an `isError: true` result; the CLI prints them to stderr (exit 2 for bad input,
 * 1 for an expected failure).
 */
export class InputError extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly hint: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'InputError';
  }
}

/** What kind of expected failure; the next step follows from it. */
export type FailureKind =
  /** The caller's credentials are missing, expired or invalid. */
  | 'aws-credentials'
  /** The credentials work but lack a permission. */
  | 'aws-permissions'
  /** The named resource does not exist (in this region, for this account). */
  | 'aws-not-found'
  /** The resource exists but belongs to someone else or is in another state (e.g. a bucket name taken). */
  | 'aws-conflict'
  /** A quota or limit (concurrent builds, …). */
  | 'aws-limit'
  /** Still throttled after the SDK's retries. */
  | 'aws-throttled'
  /** The resource lives in another region than the client's. */
  | 'aws-region'
  /** No answer: connection refused, DNS failure, socket reset, or a deadline passed. */
  | 'aws-unreachable'
  /** AWS answered with a server error (5xx) after the SDK's retries. */
  | 'aws-service-error'
  /** An answer the SDK could not read, or one without what the call must return. */
  | 'aws-unexpected-response'
  /** AWS refused the request for another reason (its message says why). */
  | 'aws-rejected'
  /** The state directory (DIB_STATE_DIR) cannot be used: not a directory, read-only, unreadable. */
  | 'state-dir'
  /** The disk holding the state directory is full. */
  | 'no-space'
  /** One build's record file is damaged (not JSON, not a record, unreadable). */
  | 'damaged-record'
  /** A fix could not be written into the user's file (read-only, outside the context, disk full, …). */
  | 'file-not-written'
  /** The caller cancelled. */
  | 'cancelled';

export interface ExpectedFailureInit {
  kind: FailureKind;
  message: string;
  nextStep: string;
  /** For AWS failures: `CodeBuild`, `S3`, `CloudWatch Logs`, `STS`, `IAM`, `ECR`. */
  service?: string;
  /** For AWS failures: the API operation, e.g. `StartBuild`. */
  operation?: string;
  /** The error name AWS or the SDK gave (`AccessDeniedException`, `TimeoutError`, …), for logs and tests. */
  code?: string;
  cause?: unknown;
}

/** A failure the user can act on that is not bad input: what failed and what to do next. */
export class ExpectedFailure extends Error {
  readonly kind: FailureKind;
  readonly nextStep: string;
  readonly service?: string;
  readonly operation?: string;
  readonly code?: string;

  constructor(init: ExpectedFailureInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'ExpectedFailure';
    this.kind = init.kind;
    this.nextStep = init.nextStep;
    if (init.service !== undefined) this.service = init.service;
    if (init.operation !== undefined) this.operation = init.operation;
    if (init.code !== undefined) this.code = init.code;
  }
}

/** `message. next step` for an InputError or an ExpectedFailure (what the MCP result and the build record carry). */
export function failureText(error: InputError | ExpectedFailure): string {
  const hint = error instanceof InputError ? error.hint : error.nextStep;
  // Messages may or may not end in a full stop; never give the reader "..".
  return `${error.message.replace(/[.\s]+$/, '')}. ${hint}`;
}
