/**
 * describeAwsError against real SDK failures: the real CodeBuild and S3 clients talk to a local HTTP server that
 * answers with each class of failure (or does not answer), plus the SDK's own exception classes constructed directly.
 * Nothing here stubs an SDK client.
 */
import {
  AccountLimitExceededException,
  BatchGetBuildsCommand,
  CodeBuildClient,
  CodeBuildServiceException,
  ResourceNotFoundException,
  StartBuildCommand,
} from '@aws-sdk/client-codebuild';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { fromIni } from '@aws-sdk/credential-providers';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDeadline } from '../../../src/codebuild/clients.js';
import { describeAwsError, unexpectedAwsAnswer, type AwsCall } from '../../../src/util/aws-errors.js';
import { ExpectedFailure, InputError } from '../../../src/util/errors.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let endpoint: string;
let handler: Handler = (_req, res) => res.end();
let requests = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests++;
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const START: AwsCall = { service: 'CodeBuild', operation: 'StartBuild', region: 'us-west-2' };
const GET: AwsCall = { service: 'CodeBuild', operation: 'BatchGetBuilds', region: 'us-west-2' };

function codebuild(options: { maxAttempts?: number; requestTimeout?: number; url?: string } = {}) {
  return new CodeBuildClient({
    region: 'us-west-2',
    endpoint: options.url ?? endpoint,
    credentials: CREDENTIALS,
    maxAttempts: options.maxAttempts ?? 1,
    requestHandler: { requestTimeout: options.requestTimeout ?? 5_000, throwOnRequestTimeout: true },
  });
}

/** A JSON-protocol error answer, as CodeBuild sends it. */
function jsonError(status: number, type: string, message: string): Handler {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'req-1' });
    res.end(JSON.stringify({ __type: `com.amazonaws.codebuild#${type}`, message }));
  };
}

function json200(body: string): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(body);
  };
}

/** Runs the call and returns what the translator makes of its failure. */
async function failureOf(run: () => Promise<unknown>, call: AwsCall): Promise<ExpectedFailure> {
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the call was expected to fail').toBeDefined();
  const failure = describeAwsError(error, call);
  expect(failure).toBeInstanceOf(ExpectedFailure);
  expect(failure).not.toBeInstanceOf(InputError);
  // A clear one-line message naming service and operation; never a stack trace.
  expect(failure.message).toContain(`${call.service} ${call.operation}`);
  expect(failure.message).not.toMatch(/\n|\bat .+:\d+:\d+/);
  expect(failure.message).not.toContain('Deserialization error: to see the raw response');
  expect(failure.nextStep.length).toBeGreaterThan(10);
  expect(failure.service).toBe(call.service);
  expect(failure.operation).toBe(call.operation);
  return failure;
}

const start = (client: CodeBuildClient, signal?: AbortSignal) =>
  client.send(new StartBuildCommand({ projectName: 'p1' }), signal === undefined ? {} : { abortSignal: signal });

describe('describeAwsError: answers AWS sends', () => {
  it('AccessDenied: names the permission to grant', async () => {
    handler = jsonError(400, 'AccessDeniedException', 'User: arn:aws:iam::1:user/x is not authorized');
    const failure = await failureOf(() => start(codebuild()), START);
    expect(failure.kind).toBe('aws-permissions');
    expect(failure.message).toContain('CodeBuild StartBuild was denied (AccessDeniedException');
    expect(failure.nextStep).toContain('codebuild:StartBuild');
    expect(failure.code).toBe('AccessDeniedException');
  });

  it('a call site can give its own next step for a kind', async () => {
    handler = jsonError(400, 'AccessDeniedException', 'denied');
    const failure = await failureOf(() => start(codebuild()), {
      ...START,
      nextSteps: { 'aws-permissions': 'Grant codebuild:StartBuild on project p1.' },
    });
    expect(failure.nextStep).toBe('Grant codebuild:StartBuild on project p1.');
  });

  it('ResourceNotFound (modelled exception, through the client and constructed)', async () => {
    handler = jsonError(400, 'ResourceNotFoundException', 'Project cannot be found: p1');
    const failure = await failureOf(() => start(codebuild()), { ...START, resource: 'project p1' });
    expect(failure.kind).toBe('aws-not-found');
    expect(failure.message).toContain('on project p1: it does not exist (ResourceNotFoundException');
    expect(failure.cause).toBeInstanceOf(ResourceNotFoundException);

    const direct = describeAwsError(new ResourceNotFoundException({ message: 'gone', $metadata: {} }), START);
    expect(direct.kind).toBe('aws-not-found');
  });

  it('throttling after the SDK retries', async () => {
    handler = jsonError(400, 'ThrottlingException', 'Rate exceeded');
    requests = 0;
    const failure = await failureOf(() => start(codebuild({ maxAttempts: 2 })), START);
    expect(requests).toBe(2);
    expect(failure.kind).toBe('aws-throttled');
    expect(failure.message).toContain("still throttled after the SDK's retries (ThrottlingException");
  });

  it.each(['ExpiredTokenException', 'UnrecognizedClientException', 'InvalidSignatureException'])(
    'rejected credentials: %s',
    async (type) => {
      handler = jsonError(400, type, 'The security token included in the request is expired');
      const failure = await failureOf(() => start(codebuild()), START);
      expect(failure.kind).toBe('aws-credentials');
      expect(failure.nextStep).toContain('aws sso login');
    },
  );

  it('a quota (modelled exception, constructed)', () => {
    const failure = describeAwsError(
      new AccountLimitExceededException({ message: 'Cannot have more than 1 builds in queue', $metadata: {} }),
      START,
    );
    expect(failure.kind).toBe('aws-limit');
    expect(failure.message).toContain('Cannot have more than 1 builds in queue');
  });

  it('a server error after retries', async () => {
    handler = jsonError(500, 'InternalFailure', 'We encountered an internal error');
    const failure = await failureOf(() => start(codebuild({ maxAttempts: 2 })), START);
    expect(failure.kind).toBe('aws-service-error');
    expect(failure.message).toContain('HTTP 500');
  });

  it('an error name the SDK does not model', () => {
    const error = new CodeBuildServiceException({
      name: 'BrandNewException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: 'something new',
    });
    const failure = describeAwsError(error, START);
    expect(failure.kind).toBe('aws-rejected');
    expect(failure.message).toBe('CodeBuild StartBuild failed (BrandNewException, HTTP 400: something new)');
  });
});

describe('describeAwsError: answers the SDK cannot read', () => {
  it('"Expected real number, got implicit NaN" (a timestamp that is not one)', async () => {
    handler = json200('{"builds":[{"id":"p:1","startTime":"yesterday"}]}');
    const failure = await failureOf(() => codebuild().send(new BatchGetBuildsCommand({ ids: ['p:1'] })), GET);
    expect(failure.kind).toBe('aws-unexpected-response');
    expect(failure.message).toBe(
      'CodeBuild BatchGetBuilds: AWS answered with something the SDK could not read (TypeError: Expected real number, got implicit NaN)',
    );
    expect(failure.nextStep).toContain('AWS_ENDPOINT_URL_');
  });

  it('a body that is not JSON (a proxy page)', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>captive portal</html>');
    };
    const failure = await failureOf(() => codebuild().send(new BatchGetBuildsCommand({ ids: ['p:1'] })), GET);
    expect(failure.kind).toBe('aws-unexpected-response');
    expect(failure.code).toBe('SyntaxError');
  });

  it('an answer that parses but lacks what the call returns', () => {
    const failure = unexpectedAwsAnswer(START, 'the answer has no build id');
    expect(failure).toMatchObject({
      kind: 'aws-unexpected-response',
      service: 'CodeBuild',
      operation: 'StartBuild',
      message: 'CodeBuild StartBuild: the answer has no build id',
    });
  });
});

describe('describeAwsError: no answer', () => {
  it('an endpoint that does not answer in time', async () => {
    handler = () => undefined; // never answers
    const failure = await failureOf(() => start(codebuild({ requestTimeout: 200 })), START);
    expect(failure.kind).toBe('aws-unreachable');
    expect(failure.message).toContain('StartBuild: the AWS endpoint did not answer (TimeoutError');
    expect(failure.nextStep).toContain('us-west-2');
  });

  it('the whole-call deadline of clients.ts (AwsCallTimeoutError)', async () => {
    handler = () => undefined;
    const client = codebuild({ requestTimeout: 10_000 });
    const failure = await failureOf(
      () => withDeadline((abortSignal) => start(client, abortSignal), { timeoutMs: 200, operation: 'StartBuild' }),
      START,
    );
    expect(failure.kind).toBe('aws-unreachable');
    expect(failure.message).toContain('StartBuild did not complete within 0.2 s');
  });

  it('connection refused', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const failure = await failureOf(() => start(codebuild({ url: `http://127.0.0.1:${port}` })), START);
    expect(failure.kind).toBe('aws-unreachable');
    expect(failure.code).toBe('ECONNREFUSED');
  });

  it('a region that does not exist: its endpoint name does not resolve, and the next step names region', async () => {
    // No endpoint override: the SDK builds codebuild.xx-nowhere-9.amazonaws.com, which no DNS knows.
    const client = new CodeBuildClient({ region: 'xx-nowhere-9', credentials: CREDENTIALS, maxAttempts: 1 });
    const failure = await failureOf(() => start(client), { ...START, region: 'xx-nowhere-9' });
    expect(failure.kind).toBe('aws-unreachable');
    expect(failure.code).toBe('ENOTFOUND');
    expect(failure.nextStep).toMatch(/^region: xx-nowhere-9 may not be an AWS region/);
  });

  it('a cancelled call', async () => {
    handler = () => undefined;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const failure = await failureOf(() => start(codebuild(), controller.signal), START);
    expect(failure.kind).toBe('cancelled');
  });

  it('credentials that do not resolve (the SDK credential chain)', async () => {
    const client = new CodeBuildClient({
      region: 'us-west-2',
      endpoint,
      maxAttempts: 1,
      credentials: fromIni({
        profile: 'dib-no-such-profile',
        filepath: '/nonexistent/credentials',
        configFilepath: '/nonexistent/config',
      }),
    });
    const failure = await failureOf(() => start(client), START);
    expect(failure.kind).toBe('aws-credentials');
    expect(failure.code).toBe('CredentialsProviderError');
  });
});

describe('describeAwsError: S3 (XML answers)', () => {
  const s3 = () =>
    new S3Client({ region: 'us-west-2', endpoint, forcePathStyle: true, credentials: CREDENTIALS, maxAttempts: 1 });
  const xmlError = (status: number, code: string, message: string): Handler => {
    return (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
    };
  };
  const put = () => s3().send(new PutObjectCommand({ Bucket: 'b1', Key: 'k', Body: 'x' }));
  const PUT: AwsCall = { service: 'S3', operation: 'PutObject', resource: 's3://b1/k' };

  it.each([
    [403, 'AccessDenied', 'aws-permissions'],
    [404, 'NoSuchBucket', 'aws-not-found'],
    [301, 'PermanentRedirect', 'aws-region'],
    [403, 'InvalidAccessKeyId', 'aws-credentials'],
    [503, 'SlowDown', 'aws-throttled'],
    [409, 'BucketAlreadyExists', 'aws-conflict'],
  ])('%s %s', async (status, code, kind) => {
    handler = xmlError(status, code, `${code} happened`);
    const failure = await failureOf(put, PUT);
    expect(failure.kind).toBe(kind);
    expect(failure.code).toBe(code);
  });

  it('a HEAD 403 without a body', async () => {
    handler = (_req, res) => {
      res.writeHead(403);
      res.end();
    };
    const failure = await failureOf(() => s3().send(new HeadObjectCommand({ Bucket: 'b1', Key: 'k' })), {
      service: 'S3',
      operation: 'HeadObject',
    });
    expect(failure.kind).toBe('aws-permissions');
  });
});
