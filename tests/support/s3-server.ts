/**
 * A local S3 for tests: s3rver (filesystem-backed, temp directory) behind a thin proxy on 127.0.0.1.
 *
 * s3rver 3.7 handles the object path the SDK v3 uses (PutObject with `x-amz-checksum-*` headers, HeadObject,
 * GetObject, multipart upload through `@aws-sdk/lib-storage`, CreateBucket with a LocationConstraint), but answers
 * 501 NotImplemented to PutPublicAccessBlock / PutBucketEncryption (and their Get/Delete), ignores
 * `ExpectedBucketOwner`, answers `BucketAlreadyExists` where AWS says `BucketAlreadyOwnedByYou`, and rejects access
 * keys it does not know. The proxy fills those gaps, records every request (`requests`) and injects faults.
 *
 * Addressing: with an IP endpoint (`http://127.0.0.1:port`) the SDK's S3 endpoint rules choose path-style by
 * themselves, so the product needs no `forcePathStyle` for this server.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  FaultRegistry,
  parseCredentialScope,
  sleep,
  type ActiveFault,
  type RequestRecord,
} from './aws-emulator/faults.js';

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  store: { getBucket(name: string): Promise<unknown> };
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;
interface AwsAccountModel {
  registry: Map<string, unknown>;
  DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void };
}

const require = createRequire(import.meta.url);

export interface BucketConfig {
  /** LocationConstraint sent with CreateBucket ('' when none, i.e. us-east-1). */
  locationConstraint?: string;
  publicAccessBlock?: {
    BlockPublicAcls: boolean;
    IgnorePublicAcls: boolean;
    BlockPublicPolicy: boolean;
    RestrictPublicBuckets: boolean;
  };
  /** SSEAlgorithm of the default encryption rule set by PutBucketEncryption. */
  encryption?: { sseAlgorithm: string; kmsMasterKeyId?: string; bucketKeyEnabled?: boolean };
  /** Raw XML bodies as sent by the SDK, for exact assertions. */
  raw: Record<string, string>;
}

export interface S3ServerOptions {
  /** Account that owns every bucket here; `ExpectedBucketOwner` must match it (default 123456789012). */
  account?: string;
  /** Buckets that "belong to another account": HeadBucket 403, CreateBucket 409 BucketAlreadyExists. */
  foreignBuckets?: string[];
  /** Buckets created before the first request. */
  buckets?: string[];
  /** Share a fault registry / request log (the AWS emulator passes its own so tests see one of each). */
  faults?: FaultRegistry;
  requests?: RequestRecord[];
}

export interface S3ServerHandle {
  url: string;
  /** s3rver's storage directory (removed by stop()). */
  directory: string;
  requests: RequestRecord[];
  faults: FaultRegistry;
  /** Configuration set through the operations s3rver lacks, by bucket. */
  bucketConfig: Map<string, BucketConfig>;
  /** Requests for one operation (e.g. `count('PutObject')`). */
  count(operation: string): number;
  stop(): Promise<void>;
}

/** The S3 API operation a REST request stands for, from method, path and query. */
export function s3Operation(
  method: string,
  pathname: string,
  query: URLSearchParams,
  headers: http.IncomingHttpHeaders,
) {
  const xid = query.get('x-id');
  if (xid) return xid;
  const segments = pathname.split('/').filter((s) => s.length > 0);
  const bucket = segments[0];
  const hasKey = segments.length > 1;
  if (bucket === undefined) return method === 'GET' ? 'ListBuckets' : 'Unknown';
  const m = method.toUpperCase();
  if (!hasKey) {
    const bucketSub: Record<string, [string, string, string]> = {
      // query key: [GET, PUT, DELETE]
      publicAccessBlock: ['GetPublicAccessBlock', 'PutPublicAccessBlock', 'DeletePublicAccessBlock'],
      encryption: ['GetBucketEncryption', 'PutBucketEncryption', 'DeleteBucketEncryption'],
      policy: ['GetBucketPolicy', 'PutBucketPolicy', 'DeleteBucketPolicy'],
      versioning: ['GetBucketVersioning', 'PutBucketVersioning', 'Unknown'],
      tagging: ['GetBucketTagging', 'PutBucketTagging', 'DeleteBucketTagging'],
      lifecycle: ['GetBucketLifecycleConfiguration', 'PutBucketLifecycleConfiguration', 'DeleteBucketLifecycle'],
      cors: ['GetBucketCors', 'PutBucketCors', 'DeleteBucketCors'],
    };
    for (const [sub, ops] of Object.entries(bucketSub)) {
      if (query.has(sub)) return m === 'GET' ? ops[0] : m === 'PUT' ? ops[1] : ops[2];
    }
    if (m === 'HEAD') return 'HeadBucket';
    if (m === 'PUT') return 'CreateBucket';
    if (m === 'DELETE') return 'DeleteBucket';
    if (m === 'POST' && query.has('delete')) return 'DeleteObjects';
    if (m === 'GET') {
      if (query.has('location')) return 'GetBucketLocation';
      if (query.has('uploads')) return 'ListMultipartUploads';
      return query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
    }
    return 'Unknown';
  }
  switch (m) {
    case 'HEAD':
      return 'HeadObject';
    case 'GET':
      return query.has('uploadId') ? 'ListParts' : query.has('tagging') ? 'GetObjectTagging' : 'GetObject';
    case 'PUT':
      if (query.has('uploadId')) return 'x-amz-copy-source' in headers ? 'UploadPartCopy' : 'UploadPart';
      if (query.has('tagging')) return 'PutObjectTagging';
      return 'x-amz-copy-source' in headers ? 'CopyObject' : 'PutObject';
    case 'POST':
      if (query.has('uploads')) return 'CreateMultipartUpload';
      if (query.has('uploadId')) return 'CompleteMultipartUpload';
      return 'Unknown';
    case 'DELETE':
      return query.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
    default:
      return 'Unknown';
  }
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function tag(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return match?.[1];
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sendXml(res: http.ServerResponse, status: number, body: string, method: string): void {
  const requestId = randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase();
  const payload = body === '' ? '' : `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
  res.writeHead(status, {
    'content-type': 'application/xml',
    'x-amz-request-id': requestId,
    'x-amz-id-2': requestId,
    'content-length': method === 'HEAD' ? 0 : Buffer.byteLength(payload),
  });
  res.end(method === 'HEAD' ? undefined : payload);
}

function sendError(res: http.ServerResponse, method: string, status: number, code: string, message: string): void {
  sendXml(
    res,
    status,
    `<Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message><RequestId>${randomUUID()}</RequestId></Error>`,
    method,
  );
}

function faultAnswer(fault: ActiveFault): { status: number; code: string; message: string } {
  switch (fault.kind) {
    case 'throttle':
      return { status: 503, code: 'SlowDown', message: fault.message ?? 'Please reduce your request rate.' };
    case '5xx': {
      const status = fault.status ?? 500;
      return status === 503
        ? { status, code: 'ServiceUnavailable', message: fault.message ?? 'Service is unable to handle request.' }
        : {
            status,
            code: 'InternalError',
            message: fault.message ?? 'We encountered an internal error. Please try again.',
          };
    }
    default:
      return {
        status: fault.status ?? 400,
        code: fault.code ?? 'InvalidRequest',
        message: fault.message ?? 'Injected error',
      };
  }
}

export async function startS3Server(options: S3ServerOptions = {}): Promise<S3ServerHandle> {
  const account = options.account ?? '123456789012';
  const foreign = new Set(options.foreignBuckets ?? []);
  const directory = await mkdtemp(path.join(tmpdir(), 'dib-s3rver-'));
  const S3rver = require('s3rver') as S3rverConstructor;
  const accounts = require('s3rver/lib/models/account') as AwsAccountModel;
  const backend = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name, configs: [] })),
  });
  const backendAddress = await backend.run();
  const requests: RequestRecord[] = options.requests ?? [];
  const faults = options.faults ?? new FaultRegistry();
  const bucketConfig = new Map<string, BucketConfig>();
  const configOf = (bucket: string): BucketConfig => {
    let config = bucketConfig.get(bucket);
    if (config === undefined) {
      config = { raw: {} };
      bucketConfig.set(bucket, config);
    }
    return config;
  };

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, record: RequestRecord, body?: Buffer) => {
    const upstream = http.request(
      {
        host: '127.0.0.1',
        port: backendAddress.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upstreamRes) => {
        record.status = upstreamRes.statusCode;
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (!res.headersSent) sendError(res, req.method ?? 'GET', 502, 'InternalError', `s3rver: ${error.message}`);
      else res.destroy();
    });
    if (body !== undefined) upstream.end(body);
    else req.pipe(upstream);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const operation = s3Operation(method, url.pathname, url.searchParams, req.headers);
    const scope = parseCredentialScope(req.headers.authorization);
    const record: RequestRecord = { service: 's3', operation, time: new Date(), region: scope?.region };
    requests.push(record);
    const answerError = (status: number, code: string, message: string) => {
      record.status = status;
      sendError(res, method, status, code, message);
    };

    // s3rver only accepts access keys it knows: accept whatever fake key the test environment uses.
    if (scope !== undefined && !accounts.registry.has(scope.accessKeyId)) {
      accounts.DUMMY_ACCOUNT.createKeyPair(scope.accessKeyId, 'unused-by-s3rver-for-sigv4');
    }

    const fault = faults.take('s3', operation);
    if (fault !== undefined) {
      record.fault = fault.kind;
      if (fault.kind === 'slow') {
        await sleep(fault.delayMs ?? 2_000);
      } else {
        await readBody(req).catch(() => Buffer.alloc(0));
        if (fault.kind === 'reset') {
          req.socket.destroy();
          return;
        }
        const { status, code, message } = faultAnswer(fault);
        answerError(status, code, message);
        return;
      }
    }

    const segments = url.pathname.split('/').filter((s) => s.length > 0);
    const bucket = segments[0] !== undefined ? decodeURIComponent(segments[0]) : undefined;
    const isBucketLevel = segments.length === 1;

    if (bucket !== undefined && foreign.has(bucket)) {
      await readBody(req);
      if (operation === 'CreateBucket') {
        answerError(409, 'BucketAlreadyExists', 'The requested bucket name is not available.');
      } else {
        answerError(403, 'AccessDenied', 'Access Denied');
      }
      return;
    }
    const expectedOwner = req.headers['x-amz-expected-bucket-owner'];
    if (typeof expectedOwner === 'string' && expectedOwner !== account) {
      await readBody(req);
      answerError(403, 'AccessDenied', 'Access Denied');
      return;
    }

    if (bucket !== undefined && isBucketLevel) {
      const exists = (await backend.store.getBucket(bucket)) != null;
      if (operation === 'CreateBucket') {
        const body = await readBody(req);
        if (exists) {
          answerError(
            409,
            'BucketAlreadyOwnedByYou',
            'Your previous request to create the named bucket succeeded and you already own it.',
          );
          return;
        }
        configOf(bucket).locationConstraint = tag(body.toString('utf8'), 'LocationConstraint') ?? '';
        forward(req, res, record, body);
        return;
      }
      const sub = url.searchParams.has('publicAccessBlock')
        ? 'publicAccessBlock'
        : url.searchParams.has('encryption')
          ? 'encryption'
          : undefined;
      if (sub !== undefined) {
        const body = await readBody(req);
        if (!exists) {
          answerError(404, 'NoSuchBucket', 'The specified bucket does not exist');
          return;
        }
        const config = configOf(bucket);
        if (method === 'PUT') {
          const xml = body.toString('utf8');
          config.raw[sub] = xml;
          if (sub === 'publicAccessBlock') {
            config.publicAccessBlock = {
              BlockPublicAcls: tag(xml, 'BlockPublicAcls') === 'true',
              IgnorePublicAcls: tag(xml, 'IgnorePublicAcls') === 'true',
              BlockPublicPolicy: tag(xml, 'BlockPublicPolicy') === 'true',
              RestrictPublicBuckets: tag(xml, 'RestrictPublicBuckets') === 'true',
            };
          } else {
            const algorithm = tag(xml, 'SSEAlgorithm');
            if (algorithm === undefined) {
              answerError(400, 'MalformedXML', 'The XML you provided was not well-formed.');
              return;
            }
            config.encryption = {
              sseAlgorithm: algorithm,
              kmsMasterKeyId: tag(xml, 'KMSMasterKeyID'),
              bucketKeyEnabled: tag(xml, 'BucketKeyEnabled') === 'true' ? true : undefined,
            };
          }
          record.status = 200;
          sendXml(res, 200, '', method);
          return;
        }
        if (method === 'DELETE') {
          if (sub === 'publicAccessBlock') delete config.publicAccessBlock;
          else delete config.encryption;
          record.status = 204;
          sendXml(res, 204, '', method);
          return;
        }
        // GET: new buckets in AWS have Block Public Access on and SSE-S3 by default (since 2023).
        record.status = 200;
        if (sub === 'publicAccessBlock') {
          const pab = config.publicAccessBlock ?? {
            BlockPublicAcls: true,
            IgnorePublicAcls: true,
            BlockPublicPolicy: true,
            RestrictPublicBuckets: true,
          };
          const inner = Object.entries(pab)
            .map(([k, v]) => `<${k}>${String(v)}</${k}>`)
            .join('');
          sendXml(res, 200, `<PublicAccessBlockConfiguration>${inner}</PublicAccessBlockConfiguration>`, method);
        } else {
          const enc = config.encryption ?? { sseAlgorithm: 'AES256' };
          const kms = enc.kmsMasterKeyId ? `<KMSMasterKeyID>${xmlEscape(enc.kmsMasterKeyId)}</KMSMasterKeyID>` : '';
          sendXml(
            res,
            200,
            `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>${enc.sseAlgorithm}</SSEAlgorithm>${kms}</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>${String(enc.bucketKeyEnabled ?? false)}</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>`,
            method,
          );
        }
        return;
      }
    }
    forward(req, res, record);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        sendError(
          res,
          req.method ?? 'GET',
          500,
          'InternalError',
          error instanceof Error ? error.message : String(error),
        );
      } else {
        res.destroy();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  let stopped = false;
  return {
    url: `http://127.0.0.1:${port}`,
    directory,
    requests,
    faults,
    bucketConfig,
    count: (operation) => requests.filter((r) => r.service === 's3' && r.operation === operation).length,
    async stop() {
      if (stopped) return;
      stopped = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await backend.close().catch(() => undefined);
      await rm(directory, { recursive: true, force: true });
    },
  };
}
