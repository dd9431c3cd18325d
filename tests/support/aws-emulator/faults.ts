/**
 * Fault injection shared by the AWS emulator and the S3 server.
 *
 * A fault is matched against each incoming request (service + operation) and consumed `times` times.
 * The kinds are shaped like the real thing, so the SDK's own retry logic treats them as it would in AWS:
 * - `throttle`: JSON protocol HTTP 400 `ThrottlingException`, query protocol HTTP 400 `Throttling`, S3 HTTP 503
 *   `SlowDown`;
 * - `5xx`: HTTP 500 (or `status`) `InternalFailure` / `InternalError` / `ServiceUnavailable`;
 * - `slow`: the normal answer, delayed by `delayMs`;
 * - `error`: any error code/status (e.g. `AccessDenied` 403) the SDK must not retry;
 * - `reset`: the TCP connection is destroyed without an answer (a network error for the SDK).
 */

export type ServiceName = 'codebuild' | 'logs' | 'sts' | 'iam' | 'ecr' | 's3';
export type FaultKind = 'throttle' | '5xx' | 'slow' | 'error' | 'reset';

export interface FaultSpec {
  service: ServiceName;
  /** Operation name as in the SDK (`StartBuild`, `PutObject`, `UploadPart`...); omitted = every operation. */
  operation?: string;
  kind: FaultKind;
  /** How many matching requests are affected (default 1; `Infinity` for all until cleared). */
  times?: number;
  /** For `slow` (default 2000 ms). */
  delayMs?: number;
  /** HTTP status for `5xx` (default 500) and `error` (default 400). */
  status?: number;
  /** Error code for `error` (default `ValidationException` / `InvalidRequest`). */
  code?: string;
  message?: string;
}

export interface ActiveFault extends FaultSpec {
  readonly id: number;
  /** Requests still to be affected. */
  remaining: number;
  /** Requests affected so far. */
  hits: number;
}

export class FaultRegistry {
  private readonly active: ActiveFault[] = [];
  private nextId = 1;

  /** Adds a fault; the returned object shows `remaining`/`hits` as requests consume it. */
  add(spec: FaultSpec): ActiveFault {
    const fault: ActiveFault = { ...spec, id: this.nextId++, remaining: spec.times ?? 1, hits: 0 };
    this.active.push(fault);
    return fault;
  }

  /** The first fault matching this request, consumed once; undefined when none applies. */
  take(service: ServiceName, operation: string): ActiveFault | undefined {
    const fault = this.active.find(
      (f) => f.remaining > 0 && f.service === service && (f.operation === undefined || f.operation === operation),
    );
    if (fault === undefined) return undefined;
    fault.remaining -= 1;
    fault.hits += 1;
    return fault;
  }

  /** Faults that still have requests left to affect. */
  pending(): ActiveFault[] {
    return this.active.filter((f) => f.remaining > 0);
  }

  clear(): void {
    this.active.length = 0;
  }
}

export interface RequestRecord {
  service: ServiceName | 'unknown';
  operation: string;
  time: Date;
  /** HTTP status of the answer (undefined until answered, or for `reset`). */
  status?: number;
  /** Kind of the fault injected into this request, if any. */
  fault?: FaultKind;
  /** Signing region from the Authorization header's credential scope. */
  region?: string;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Region and service from a SigV4 `Authorization` header (`Credential=AKID/20240101/us-west-2/s3/aws4_request`). */
export function parseCredentialScope(
  authorization: string | undefined,
): { accessKeyId: string; region: string; service: string } | undefined {
  const match = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization ?? '');
  if (match === null) return undefined;
  return { accessKeyId: match[1] ?? '', region: match[2] ?? '', service: match[3] ?? '' };
}
