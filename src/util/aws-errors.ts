/**
 * The one translator from a failed AWS SDK call to an `ExpectedFailure`: every AWS call site passes its error here
 * with the service and the operation, and gets back a message that names both, says what went wrong in words, and
 * the next step. Never a stack trace: only the error's name and the first line of its message are quoted.
 *
 * It reads the SDK's error fields by shape (`name`, `$metadata.httpStatusCode`, `$fault`, `$retryable`, `$response`,
 * Node's `code`) rather than by class, so it needs no SDK import and also covers errors raised below the SDK
 * (sockets, DNS, the credential chain) and `AwsCallTimeoutError` from clients.ts.
 */
import { ExpectedFailure, type FailureKind } from './errors.js';

/** The AWS service of a call, as users know it. */
export type AwsService = 'CodeBuild' | 'S3' | 'CloudWatch Logs' | 'STS' | 'IAM' | 'ECR';

export interface AwsCall {
  service: AwsService;
  /** The API operation, e.g. `StartBuild`. */
  operation: string;
  /** What the call was about, e.g. `s3://bucket/key` or `project pytorch-fsdp`; named where it helps. */
  resource?: string;
  /** The client's region, for the network and region hints. */
  region?: string;
  /** Next steps that know more than the translator (the exact permissions, the setup command), by kind. */
  nextSteps?: Partial<Record<FailureKind, string>>;
  /** The caller's cancellation: once it is aborted, any failure of the call is a cancellation. */
  signal?: AbortSignal;
}

const IAM_PREFIX: Record<AwsService, string> = {
  CodeBuild: 'codebuild',
  S3: 's3',
  'CloudWatch Logs': 'logs',
  STS: 'sts',
  IAM: 'iam',
  ECR: 'ecr',
};

const CREDENTIALS =
  /^(CredentialsProviderError|ExpiredToken(Exception)?|InvalidClientTokenId|UnrecognizedClient(Exception)?|InvalidAccessKeyId|SignatureDoesNotMatch|InvalidSignature(Exception)?|IncompleteSignature(Exception)?|AuthFailure|TokenRefreshRequired|InvalidToken|RequestExpired|MissingAuthenticationToken)$/;
const PERMISSIONS = /AccessDenied|NotAuthorized|UnauthorizedOperation|^Unauthorized|^Forbidden$/;
const THROTTLING =
  /^(Throttling(Exception)?|ThrottledException|TooManyRequests(Exception)?|SlowDown|RequestLimitExceeded|RequestThrottled(Exception)?|ProvisionedThroughputExceededException|BandwidthLimitExceeded|PriorRequestNotComplete|EC2ThrottledException|TransactionInProgressException)$/;
const TIMEOUTS = /^(TimeoutError|RequestTimeout(Exception)?|AwsCallTimeoutError)$/;
const NETWORK_CODES =
  /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EPIPE|EHOSTUNREACH|ENETUNREACH|ENETDOWN|UND_ERR_\w+)$/;
const NOT_FOUND = /NotFound|^NoSuch|^NotFound$/;
const LIMITS = /LimitExceeded|QuotaExceeded/;
const REGION = /^(PermanentRedirect|AuthorizationHeaderMalformed|IllegalLocationConstraintException)$/;
const CONFLICT = /AlreadyExists|^Conflict|^OperationAborted$/;

interface Facts {
  name: string;
  detail: string;
  status?: number;
  fault?: string;
  code?: string;
  throttling: boolean;
  unreadable: boolean;
}

/** The first line of a message, without the SDK's "Deserialization error" hint, at most 300 characters. */
function firstLine(message: string): string {
  const line = message.split('\n')[0]!.trim();
  return line.length > 300 ? `${line.slice(0, 297)}…` : line;
}

function facts(error: unknown): Facts {
  const e = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const metadata = e['$metadata'] as { httpStatusCode?: unknown } | undefined;
  const cause = e['cause'] as { code?: unknown } | undefined;
  const rawCode = typeof e['code'] === 'string' ? e['code'] : cause?.code;
  const name = (typeof e['Code'] === 'string' && e['Code']) || (typeof e['name'] === 'string' && e['name']) || 'Error';
  const message = typeof e['message'] === 'string' ? e['message'] : String(error);
  const status = typeof metadata?.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
  const retryable = e['$retryable'] as { throttling?: unknown } | undefined;
  const fault = typeof e['$fault'] === 'string' ? e['$fault'] : undefined;
  return {
    name,
    detail: firstLine(message) || name,
    ...(status === undefined ? {} : { status }),
    ...(fault === undefined ? {} : { fault }),
    ...(typeof rawCode === 'string' ? { code: rawCode } : {}),
    throttling: retryable?.throttling === true,
    // A response the SDK could not parse: the SDK attaches the raw `$response` but no `$fault` (that comes only from
    // a modelled or recognised error answer), and says so in the message.
    unreadable:
      ('$response' in e && fault === undefined && !/^(AbortError|TimeoutError)$/.test(name)) ||
      /Deserialization error/.test(message),
  };
}

/** The kinds an AWS failure can have. */
type AwsFailureKind = Exclude<FailureKind, 'file-not-written' | 'state-dir' | 'no-space' | 'damaged-record'>;

function classify(f: Facts): AwsFailureKind {
  if (f.name === 'AbortError' || f.name === 'RequestAbortedError') return 'cancelled';
  if (CREDENTIALS.test(f.name)) return 'aws-credentials';
  if (PERMISSIONS.test(f.name) || (f.status === 403 && !f.unreadable)) return 'aws-permissions';
  if (THROTTLING.test(f.name) || f.throttling || f.status === 429) return 'aws-throttled';
  if (TIMEOUTS.test(f.name) || (f.code !== undefined && NETWORK_CODES.test(f.code))) return 'aws-unreachable';
  if (f.unreadable) return 'aws-unexpected-response';
  if (REGION.test(f.name) || f.status === 301) return 'aws-region';
  if (NOT_FOUND.test(f.name) || f.status === 404) return 'aws-not-found';
  if (LIMITS.test(f.name)) return 'aws-limit';
  if (CONFLICT.test(f.name) || f.status === 409) return 'aws-conflict';
  if (f.fault === 'server' || (f.status !== undefined && f.status >= 500)) return 'aws-service-error';
  if (f.fault === 'client' || f.status !== undefined) return 'aws-rejected';
  // No answer from AWS at all and nothing network-like: the SDK failed on this side (configuration, a bad value).
  return 'aws-rejected';
}

function describeKind(kind: AwsFailureKind, call: AwsCall, f: Facts): { message: string; nextStep: string } {
  const what = `${call.service} ${call.operation}`;
  const on = call.resource === undefined ? '' : ` on ${call.resource}`;
  const status = f.status === undefined || f.status < 300 ? '' : `, HTTP ${f.status}`;
  const quoted = f.detail === f.name ? `(${f.name}${status})` : `(${f.name}${status}: ${f.detail})`;
  const where = call.region === undefined ? 'the AWS endpoints' : `the AWS endpoints for ${call.region}`;
  switch (kind) {
    case 'cancelled':
      return { message: `${what} was cancelled`, nextStep: 'Start it again when wanted.' };
    case 'aws-credentials':
      return {
        message: `${what}: AWS rejected the credentials ${quoted}`,
        nextStep: 'Refresh them (aws sso login, or aws configure) and retry.',
      };
    case 'aws-permissions':
      return {
        message: `${what}${on} was denied ${quoted}`,
        nextStep: `Give the caller ${IAM_PREFIX[call.service]}:${call.operation}${call.resource === undefined ? '' : ` on ${call.resource}`}, then retry.`,
      };
    case 'aws-throttled':
      return {
        message: `${what} was still throttled after the SDK's retries ${quoted}`,
        nextStep:
          'Wait a minute and retry; if it keeps happening, run fewer builds at once or ask AWS for a higher rate.',
      };
    case 'aws-unreachable': {
      // An endpoint name that does not resolve is, on a working network, most often a region that does not exist.
      const unknownHost =
        call.region !== undefined && f.code === 'ENOTFOUND' && f.detail.includes(`.${call.region}.amazonaws.com`);
      return {
        message: `${what}: the AWS endpoint did not answer ${quoted}`,
        nextStep: unknownHost
          ? `region: ${call.region} may not be an AWS region (its ${call.service} endpoint name does not resolve). Pass region (CLI --region) with a real one such as us-east-1, or, if it is right, check the network path to ${where} (proxy, VPN, AWS_ENDPOINT_URL_*), then retry.`
          : `Check the network path to ${where} (proxy, VPN, AWS_ENDPOINT_URL_*), then retry.`,
      };
    }
    case 'aws-unexpected-response':
      return {
        message: `${what}: AWS answered with something the SDK could not read ${quoted}`,
        nextStep:
          'Check that AWS_ENDPOINT_URL_* and any proxy point at the real AWS endpoint, then retry; if it persists, update docker-image-builder (its AWS SDK).',
      };
    case 'aws-region':
      return {
        message: `${what}${on}: the resource is not in the region the client uses${call.region === undefined ? '' : ` (${call.region})`} ${quoted}`,
        nextStep: 'Pass --region with the region the resource is in, or use a resource in the build region.',
      };
    case 'aws-not-found':
      return {
        message: `${what}${on}: it does not exist ${quoted}`,
        nextStep: `Check the name and the region${call.region === undefined ? '' : ` (${call.region})`}.`,
      };
    case 'aws-limit':
      return {
        message: `${what}${on}: an AWS limit was reached ${quoted}`,
        nextStep: 'Wait for running work to finish, or ask AWS for a higher quota.',
      };
    case 'aws-conflict':
      return {
        message: `${what}${on} conflicts with an existing resource or a change in progress ${quoted}`,
        nextStep: 'Pick another name, or wait for the other change to finish, then retry.',
      };
    case 'aws-service-error':
      return {
        message: `${what}: AWS answered with a server error after the SDK's retries ${quoted}`,
        nextStep:
          'Retry in a few minutes; the AWS Health Dashboard says whether the service has trouble in the region.',
      };
    case 'aws-rejected':
      return {
        message: `${what}${on} failed ${quoted}`,
        nextStep: 'Check the values passed (names, region) and the AWS configuration, then retry.',
      };
  }
}

/** Any failure of an AWS SDK call as an ExpectedFailure naming the service, the operation and the next step. */
export function describeAwsError(error: unknown, call: AwsCall): ExpectedFailure {
  if (error instanceof ExpectedFailure) return error;
  const f = facts(error);
  const kind = call.signal?.aborted === true ? 'cancelled' : classify(f);
  const described = describeKind(kind, call, f);
  return new ExpectedFailure({
    kind,
    message: described.message,
    nextStep: call.nextSteps?.[kind] ?? described.nextStep,
    service: call.service,
    operation: call.operation,
    code: f.code !== undefined && f.name === 'Error' ? f.code : f.name,
    cause: error,
  });
}

/** An answer that parsed but lacks what the call must return (e.g. StartBuild without a build id). */
export function unexpectedAwsAnswer(call: AwsCall, what: string): ExpectedFailure {
  return new ExpectedFailure({
    kind: 'aws-unexpected-response',
    message: `${call.service} ${call.operation}: ${what}`,
    nextStep:
      call.nextSteps?.['aws-unexpected-response'] ??
      'Check that AWS_ENDPOINT_URL_* and any proxy point at the real AWS endpoint, then retry.',
    service: call.service,
    operation: call.operation,
  });
}

/** The same failure with another message (a call site that knows what a denial or a conflict means there). */
export function restate(failure: ExpectedFailure, message: string, nextStep = failure.nextStep): ExpectedFailure {
  return new ExpectedFailure({
    kind: failure.kind,
    message,
    nextStep,
    ...(failure.service === undefined ? {} : { service: failure.service }),
    ...(failure.operation === undefined ? {} : { operation: failure.operation }),
    ...(failure.code === undefined ? {} : { code: failure.code }),
    cause: failure.cause,
  });
}

/** The error name an SDK failure carries (`ResourceNotFoundException`, …), for call sites that expect one. */
export function awsErrorName(error: unknown): string {
  return facts(error).name;
}
