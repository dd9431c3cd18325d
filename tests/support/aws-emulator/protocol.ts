/**
 * Wire helpers for the two AWS protocols the emulator speaks besides S3's REST:
 * - JSON 1.1 (CodeBuild, CloudWatch Logs, ECR): POST with `X-Amz-Target: <Prefix>.<Operation>`, JSON in and out,
 *   errors as `{"__type": "Code", "message": "..."}` with an HTTP 4xx/5xx status, timestamps as epoch seconds.
 * - Query (STS, IAM): form-encoded POST `Action=...&Version=...`, XML `<OpResponse><OpResult>...` out, errors as
 *   `<ErrorResponse><Error><Type>Sender</Type><Code>...</Code><Message>...</Message></Error></ErrorResponse>`.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';

/** An error answered to the client in the protocol of the service (the SDK turns it into a named exception). */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Query protocol `<Type>`: Sender for client faults, Receiver for server faults. */
    readonly type: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender',
  ) {
    super(message);
    this.name = code;
  }
}

export function requestId(): string {
  return randomUUID();
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body ?? {});
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': requestId(),
  });
  res.end(payload);
}

export function sendJsonError(res: http.ServerResponse, error: ServiceError): void {
  const payload = JSON.stringify({ __type: error.code, message: error.message });
  res.writeHead(error.status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': requestId(),
    'x-amzn-errortype': error.code,
  });
  res.end(payload);
}

export function xmlEscape(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export type XmlValue = string | number | boolean | Date | undefined | XmlValue[] | { [key: string]: XmlValue };

/** Serialises a value as query-protocol XML: objects become elements, arrays become `<member>` lists. */
export function toXml(value: XmlValue): string {
  if (value === undefined) return '';
  if (value instanceof Date) return value.toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (Array.isArray(value)) return value.map((v) => `<member>${toXml(v)}</member>`).join('');
  if (typeof value === 'object') {
    return Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `<${k}>${toXml(v)}</${k}>`)
      .join('');
  }
  return xmlEscape(String(value));
}

export function sendQueryResult(
  res: http.ServerResponse,
  action: string,
  namespace: string,
  result: { [key: string]: XmlValue } | undefined,
): void {
  const id = requestId();
  const resultXml = result === undefined ? '' : `<${action}Result>${toXml(result)}</${action}Result>`;
  const payload =
    `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${namespace}">` +
    `${resultXml}<ResponseMetadata><RequestId>${id}</RequestId></ResponseMetadata></${action}Response>`;
  res.writeHead(200, {
    'content-type': 'text/xml',
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': id,
  });
  res.end(payload);
}

export function sendQueryError(res: http.ServerResponse, namespace: string, error: ServiceError): void {
  const id = requestId();
  const payload =
    `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${namespace}"><Error><Type>${error.type}</Type>` +
    `<Code>${xmlEscape(error.code)}</Code><Message>${xmlEscape(error.message)}</Message></Error>` +
    `<RequestId>${id}</RequestId></ErrorResponse>`;
  res.writeHead(error.status, {
    'content-type': 'text/xml',
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': id,
  });
  res.end(payload);
}

/** Epoch seconds with milliseconds, as JSON-protocol timestamps are sent. */
export function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function requireString(input: Record<string, unknown>, field: string, code = 'InvalidInputException'): string {
  const value = input[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw new ServiceError(
      code,
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}
