/**
 * A local AWS for tests: one HTTP endpoint on 127.0.0.1 serving CodeBuild, CloudWatch Logs and ECR (JSON 1.1,
 * dispatched on `X-Amz-Target`) and STS and IAM (query protocol, dispatched on `Version`), plus an S3 server
 * (s3rver behind a proxy, see ../s3-server.ts). Point the real AWS SDK at it with the standard
 * `AWS_ENDPOINT_URL_<SERVICE>` variables: `handle.env` has them all, with fake static credentials.
 *
 * ```ts
 * const aws = await startAwsEmulator({ projects: [{ name: 'demo', source: { type: 'S3' } }] });
 * Object.assign(process.env, aws.env); // or pass aws.env to a child process
 * aws.faults.add({ service: 'codebuild', operation: 'StartBuild', kind: 'throttle', times: 2 });
 * ...
 * await aws.stop();
 * ```
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startS3Server, type S3ServerHandle, type S3ServerOptions } from '../s3-server.js';
import {
  CodeBuildService,
  type CodeBuildTiming,
  type EmulatedBuild,
  type FailPhaseSpec,
  type ProjectConfig,
  type StoredSecrets,
} from './codebuild.js';
import { EcrState } from './ecr.js';
import {
  FaultRegistry,
  parseCredentialScope,
  sleep,
  type ActiveFault,
  type RequestRecord,
  type ServiceName,
} from './faults.js';
import { LogsStore } from './logs.js';
import { ServiceError, sendJson, sendJsonError, sendQueryError, sendQueryResult } from './protocol.js';
import { IAM_NAMESPACE, IamState, STS_NAMESPACE, handleSts } from './query-services.js';

export type { EmulatedBuild, FailPhaseSpec, ProjectConfig, CodeBuildTiming } from './codebuild.js';
export type { FaultSpec, FaultKind, ActiveFault, RequestRecord, ServiceName } from './faults.js';
export { parseBuildspec, parseYamlSubset } from './buildspec.js';

export const FAKE_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
} as const;

export interface AwsEmulatorOptions {
  /** Account for STS, ARNs and S3 bucket ownership (default 123456789012). */
  account?: string;
  /** Region used when a request carries no signing region (default us-west-2). */
  region?: string;
  /** Caller ARN answered by GetCallerIdentity (default arn:aws:iam::<account>:user/dib-test). */
  callerArn?: string;
  /** Projects that exist before the first request. `failPhase` makes every build of one fail there. */
  projects?: ProjectConfig[];
  /** S3: start one here (default), reuse a running one (its url is used for sources and `env`), or none. */
  s3?: S3ServerHandle | { url: string } | false;
  s3Options?: S3ServerOptions;
  timing?: Partial<CodeBuildTiming>;
  /** Builds without privileged mode get a DOCKER_HOST that does not exist, like CodeBuild (default true). */
  enforcePrivilegedMode?: boolean;
  /** Keep build directories after builds end (default false). */
  keepWorkDirs?: boolean;
  /** CreateProject/UpdateProject require the service role to exist in the emulated IAM (default false). */
  validateServiceRole?: boolean;
  /** With validateServiceRole: a role younger than this is "not yet assumable" (IAM propagation; default 0). */
  iamPropagationDelayMs?: number;
  /** Registry host that ECR answers (default <account>.dkr.ecr.<region>.amazonaws.com). */
  ecrRegistryHost?: string;
  /** Extra environment variables for build commands. */
  commandEnv?: Record<string, string>;
  /** Refuse requests without a SigV4 Authorization header (default true). */
  requireSignature?: boolean;
  /** Values that builds' SECRETS_MANAGER / PARAMETER_STORE variables resolve to. */
  storedSecrets?: StoredSecrets;
}

export class EmulatorFaults extends FaultRegistry {
  constructor(private readonly codebuild: CodeBuildService) {
    super();
  }

  /** The next build (of `project` if given) fails in `phase` with `status` (default FAILED). */
  failNextBuild(spec: FailPhaseSpec & { project?: string }): void {
    this.codebuild.failNextBuild(spec);
  }
}

export interface AwsEmulatorState {
  requests: RequestRecord[];
  codebuild: CodeBuildService;
  projects: CodeBuildService['projects'];
  builds: Map<string, EmulatedBuild>;
  logs: LogsStore;
  iam: IamState;
  ecr: EcrState;
}

export interface AwsEmulatorHandle {
  /** Endpoint for CodeBuild, CloudWatch Logs, ECR, STS and IAM. */
  url: string;
  /** The S3 server's endpoint (undefined with `s3: false`). */
  s3Url: string | undefined;
  /** The S3 server started by the emulator (undefined when given one or none). */
  s3: S3ServerHandle | undefined;
  /** AWS_ENDPOINT_URL_* for every service, fake static credentials, region, AWS_EC2_METADATA_DISABLED. */
  env: Record<string, string>;
  state: AwsEmulatorState;
  faults: EmulatorFaults;
  /** Requests seen for a service (and operation). */
  count(service: ServiceName, operation?: string): number;
  /** Resolves with the build once it has COMPLETED (test helper, not an AWS call). */
  waitForBuild(id: string, timeoutMs?: number): Promise<EmulatedBuild>;
  /** The build's CloudWatch log lines. */
  buildLog(id: string): string[];
  stop(): Promise<void>;
}

const JSON_TARGETS: Record<string, { service: ServiceName; signingName: string }> = {
  CodeBuild_20161006: { service: 'codebuild', signingName: 'codebuild' },
  Logs_20140328: { service: 'logs', signingName: 'logs' },
  AmazonEC2ContainerRegistry_V20150921: { service: 'ecr', signingName: 'ecr' },
};

const QUERY_VERSIONS: Record<string, { service: ServiceName; signingName: string; namespace: string }> = {
  '2011-06-15': { service: 'sts', signingName: 'sts', namespace: STS_NAMESPACE },
  '2010-05-08': { service: 'iam', signingName: 'iam', namespace: IAM_NAMESPACE },
};

function faultError(fault: ActiveFault, protocol: 'json' | 'query'): ServiceError {
  switch (fault.kind) {
    case 'throttle':
      return new ServiceError(
        protocol === 'json' ? 'ThrottlingException' : 'Throttling',
        fault.message ?? 'Rate exceeded',
        400,
      );
    case '5xx': {
      const status = fault.status ?? 500;
      return status === 503
        ? new ServiceError('ServiceUnavailableException', fault.message ?? 'Service Unavailable', 503)
        : new ServiceError('InternalFailure', fault.message ?? 'An internal error occurred', status);
    }
    default:
      return new ServiceError(
        fault.code ?? (protocol === 'json' ? 'ValidationException' : 'ValidationError'),
        fault.message ?? 'Injected error',
        fault.status ?? 400,
      );
  }
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startAwsEmulator(options: AwsEmulatorOptions = {}): Promise<AwsEmulatorHandle> {
  const account = options.account ?? '123456789012';
  const defaultRegion = options.region ?? 'us-west-2';
  const requests: RequestRecord[] = [];
  let s3Url: string | undefined;
  let url = '';
  const logs = new LogsStore(() => defaultRegion, account);
  const iam = new IamState(account);
  const ecr = new EcrState(
    account,
    (region) => options.ecrRegistryHost ?? `${account}.dkr.ecr.${region}.amazonaws.com`,
    'emulated-ecr-password',
  );
  const env = (region: string): Record<string, string> => ({
    ...FAKE_CREDENTIALS,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_CODEBUILD: url,
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: url,
    AWS_ENDPOINT_URL_ECR: url,
    AWS_ENDPOINT_URL_STS: url,
    AWS_ENDPOINT_URL_IAM: url,
    ...(s3Url === undefined ? {} : { AWS_ENDPOINT_URL_S3: s3Url }),
  });
  const codebuild = new CodeBuildService({
    account,
    defaultRegion,
    logs,
    s3Endpoint: () => s3Url,
    timing: { queuedMs: 50, provisioningMs: 50, minuteMs: 60_000, killGraceMs: 2_000, ...options.timing },
    enforcePrivilegedMode: options.enforcePrivilegedMode ?? true,
    keepWorkDirs: options.keepWorkDirs ?? false,
    commandEnv: (region) => ({ ...env(region), ...options.commandEnv }),
    roleExists: options.validateServiceRole
      ? (arn) => {
          const role = [...iam.roles.values()].find((r) => r.arn === arn);
          return { exists: role !== undefined, createdAt: role?.createDate };
        }
      : undefined,
    iamPropagationDelayMs: options.iamPropagationDelayMs ?? 0,
    ...(options.storedSecrets ? { storedSecrets: options.storedSecrets } : {}),
  });
  const faults = new EmulatorFaults(codebuild);
  let ownS3: S3ServerHandle | undefined;
  if (options.s3 === undefined) {
    ownS3 = await startS3Server({ account, ...options.s3Options, faults, requests });
    s3Url = ownS3.url;
  } else if (options.s3 !== false) {
    s3Url = options.s3.url;
  }
  for (const project of options.projects ?? []) codebuild.addProject(project, defaultRegion);

  const identity = {
    account,
    arn: options.callerArn ?? `arn:aws:iam::${account}:user/dib-test`,
    userId: 'AIDAEXAMPLEDIBTEST0001',
  };

  /**
   * What both protocols check before an operation runs: a signature scoped to the right service (each protocol
   * with its own error codes), then any injected fault. False when the request has been answered (or dropped).
   */
  const admit = async (
    req: http.IncomingMessage,
    scope: ReturnType<typeof parseCredentialScope>,
    route: { service: ServiceName; signingName: string },
    operation: string,
    record: RequestRecord,
    fail: (error: ServiceError) => void,
    protocol: 'json' | 'query',
  ): Promise<boolean> => {
    if (options.requireSignature !== false && scope === undefined) {
      fail(
        protocol === 'json'
          ? new ServiceError('MissingAuthenticationTokenException', 'Missing Authentication Token', 400)
          : new ServiceError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403),
      );
      return false;
    }
    if (scope !== undefined && scope.service !== route.signingName) {
      const code = protocol === 'json' ? 'InvalidSignatureException' : 'SignatureDoesNotMatch';
      fail(new ServiceError(code, `Credential should be scoped to correct service: '${route.signingName}'.`, 403));
      return false;
    }
    const fault = faults.take(route.service, operation);
    if (fault === undefined) return true;
    record.fault = fault.kind;
    if (fault.kind === 'reset') {
      req.socket.destroy();
      return false;
    }
    if (fault.kind === 'slow') {
      await sleep(fault.delayMs ?? 2_000);
      return true;
    }
    fail(faultError(fault, protocol));
    return false;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const scope = parseCredentialScope(req.headers.authorization);
    const region = scope?.region ?? defaultRegion;
    const body = await readBody(req);
    const target = req.headers['x-amz-target'];

    if (typeof target === 'string') {
      const [prefix = '', operation = ''] = target.split('.');
      const route = JSON_TARGETS[prefix];
      const record: RequestRecord = {
        service: route?.service ?? 'unknown',
        operation,
        time: new Date(),
        region: scope?.region,
      };
      requests.push(record);
      const fail = (error: ServiceError) => {
        record.status = error.status;
        sendJsonError(res, error);
      };
      if (route === undefined) {
        fail(new ServiceError('UnknownOperationException', `Unknown target ${target}`));
        return;
      }
      if (!(await admit(req, scope, route, operation, record, fail, 'json'))) return;
      let input: Record<string, unknown>;
      try {
        const parsed: unknown = body.trim() === '' ? {} : JSON.parse(body);
        input = (parsed ?? {}) as Record<string, unknown>;
      } catch {
        fail(new ServiceError('SerializationException', 'Could not parse the request body as JSON'));
        return;
      }
      try {
        let output: unknown;
        if (route.service === 'codebuild') output = codebuild.handle(operation, input, region);
        else if (route.service === 'logs') output = logs.handle(operation, input);
        else output = ecr.handle(operation, input, region);
        record.status = 200;
        sendJson(res, 200, output);
      } catch (error) {
        if (error instanceof ServiceError) fail(error);
        else throw error;
      }
      return;
    }

    const contentType = String(req.headers['content-type'] ?? '');
    if (req.method === 'POST' && contentType.includes('application/x-www-form-urlencoded')) {
      const params = new URLSearchParams(body);
      const action = params.get('Action') ?? '';
      const route = QUERY_VERSIONS[params.get('Version') ?? ''];
      const record: RequestRecord = {
        service: route?.service ?? 'unknown',
        operation: action,
        time: new Date(),
        region: scope?.region,
      };
      requests.push(record);
      const namespace = route?.namespace ?? STS_NAMESPACE;
      const fail = (error: ServiceError) => {
        record.status = error.status;
        sendQueryError(res, namespace, error);
      };
      if (route === undefined) {
        fail(new ServiceError('InvalidAction', `Unknown Version ${params.get('Version') ?? '(none)'}`));
        return;
      }
      if (!(await admit(req, scope, route, action, record, fail, 'query'))) return;
      try {
        const result = route.service === 'sts' ? handleSts(action, params, identity) : iam.handle(action, params);
        record.status = 200;
        sendQueryResult(res, action, namespace, result);
      } catch (error) {
        if (error instanceof ServiceError) fail(error);
        else throw error;
      }
      return;
    }

    requests.push({
      service: 'unknown',
      operation: `${req.method ?? '?'} ${req.url ?? ''}`,
      time: new Date(),
      status: 404,
    });
    sendJsonError(
      res,
      new ServiceError(
        'UnknownOperationException',
        'The AWS emulator serves JSON (X-Amz-Target) and query (Action/Version) requests; S3 is at s3Url',
        404,
      ),
    );
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        sendJsonError(
          res,
          new ServiceError(
            'InternalFailure',
            `emulator bug: ${error instanceof Error ? error.stack : String(error)}`,
            500,
          ),
        );
      } else res.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let stopped = false;
  return {
    url,
    s3Url,
    s3: ownS3,
    env: env(defaultRegion),
    state: { requests, codebuild, projects: codebuild.projects, builds: codebuild.builds, logs, iam, ecr },
    faults,
    count: (service, operation) =>
      requests.filter((r) => r.service === service && (operation === undefined || r.operation === operation)).length,
    async waitForBuild(id, timeoutMs = 120_000) {
      const build = codebuild.builds.get(id);
      if (build === undefined) throw new Error(`emulator: no build ${id}`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`emulator: build ${id} not complete after ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      try {
        await Promise.race([build.done, timeout]);
      } finally {
        clearTimeout(timer);
      }
      return build;
    },
    buildLog(id) {
      const build = codebuild.builds.get(id);
      return build === undefined ? [] : logs.messages(build.logGroupName, build.logStreamName);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await codebuild.stopAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ownS3?.stop();
    },
  };
}
