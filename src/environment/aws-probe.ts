import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { CommandRunner } from '../util/command-runner.js';
import { findExecutable } from '../util/find-executable.js';
import { describeAwsError } from '../util/aws-errors.js';
import { failureText } from '../util/errors.js';

/** The seed's default region when nothing else names one. */
export const DEFAULT_REGION = 'us-west-2';
/** The seed's default CodeBuild project. */
export const DEFAULT_CODEBUILD_PROJECT = 'pytorch-fsdp';

export interface AwsStatus {
  cli: { found: boolean; path?: string; version?: string };
  profile: string;
  credentials: {
    found: boolean;
    /** Which link of the default provider chain supplied them; never the secret itself. */
    source?: string;
    expires_at?: string;
    error?: string;
  };
  region: { name: string; source: 'parameter' | 'AWS_REGION' | 'AWS_DEFAULT_REGION' | 'profile' | 'default' };
  identity: { checked: boolean; account_id?: string; arn?: string; error?: string };
  codebuild_project: { name: string; checked: boolean; exists?: boolean; error?: string };
}

export interface AwsProbeOptions {
  runner: CommandRunner;
  env: NodeJS.ProcessEnv;
  region?: string;
  codebuildProject: string;
  /** Limit for each AWS call (credential resolution, STS, CodeBuild). */
  timeoutMs: number;
}

interface ProfileInfo {
  name: string;
  region?: string;
  kind?: string;
}

async function readProfile(env: NodeJS.ProcessEnv): Promise<ProfileInfo> {
  const name = env.AWS_PROFILE || env.AWS_DEFAULT_PROFILE || 'default';
  try {
    const { loadSharedConfigFiles } = await import('@smithy/shared-ini-file-loader');
    const files = await loadSharedConfigFiles({
      filepath: env.AWS_SHARED_CREDENTIALS_FILE,
      configFilepath: env.AWS_CONFIG_FILE,
    });
    const config = files.configFile?.[name] ?? {};
    const credentials = files.credentialsFile?.[name] ?? {};
    const merged = { ...config, ...credentials };
    let kind: string | undefined;
    if (merged.sso_session || merged.sso_start_url) kind = 'sso';
    else if (merged.credential_process) kind = 'process';
    else if (merged.role_arn) kind = 'assume-role';
    else if (merged.web_identity_token_file) kind = 'web-identity';
    else if (merged.aws_access_key_id) kind = 'static';
    return { name, region: config.region ?? credentials.region, kind };
  } catch {
    return { name };
  }
}

export function resolveRegion(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  profileRegion: string | undefined,
): AwsStatus['region'] {
  if (explicit) return { name: explicit, source: 'parameter' };
  if (env.AWS_REGION) return { name: env.AWS_REGION, source: 'AWS_REGION' };
  if (env.AWS_DEFAULT_REGION) return { name: env.AWS_DEFAULT_REGION, source: 'AWS_DEFAULT_REGION' };
  if (profileRegion) return { name: profileRegion, source: 'profile' };
  return { name: DEFAULT_REGION, source: 'default' };
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Walks the SDK's default provider chain one link at a time, in the SDK's order, so the result can say which
 * source supplied the credentials. Instance metadata is skipped when AWS_EC2_METADATA_DISABLED is set, as the SDK does.
 */
export async function resolveCredentials(
  env: NodeJS.ProcessEnv,
  profile: ProfileInfo,
  timeoutMs: number,
): Promise<{ credentials?: AwsCredentialIdentity; source?: string; error?: string }> {
  const providers = await import('@aws-sdk/credential-providers');
  const chain: [string, () => AwsCredentialIdentityProvider][] = [];
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  if (accessKeyId && secretAccessKey) {
    // Read from the injected environment (what fromEnv does with process.env).
    const fromEnvironment: AwsCredentialIdentity = {
      accessKeyId,
      secretAccessKey,
      sessionToken: env.AWS_SESSION_TOKEN || undefined,
      expiration: env.AWS_CREDENTIAL_EXPIRATION ? new Date(env.AWS_CREDENTIAL_EXPIRATION) : undefined,
    };
    chain.push(['environment', () => async () => fromEnvironment]);
  }
  if (profile.kind) {
    chain.push([
      `shared-config profile "${profile.name}" (${profile.kind})`,
      () =>
        providers.fromIni({
          profile: profile.name,
          filepath: env.AWS_SHARED_CREDENTIALS_FILE,
          configFilepath: env.AWS_CONFIG_FILE,
        }),
    ]);
  }
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) {
    chain.push(['web-identity token file', () => providers.fromTokenFile()]);
  }
  if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) {
    chain.push(['container metadata', () => providers.fromContainerMetadata({ timeout: timeoutMs, maxRetries: 0 })]);
  } else if ((env.AWS_EC2_METADATA_DISABLED ?? '').toLowerCase() !== 'true') {
    chain.push([
      'instance metadata (IMDS)',
      () => providers.fromInstanceMetadata({ timeout: Math.min(timeoutMs, 1_000), maxRetries: 0 }),
    ]);
  }
  const errors: string[] = [];
  for (const [source, provider] of chain) {
    try {
      const credentials = await withTimeout(provider()(), timeoutMs, source);
      return { credentials, source };
    } catch (error) {
      errors.push(`${source}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  return {
    error:
      errors.length > 0
        ? `No usable credentials: ${errors.join('; ')}`
        : 'No credentials found in the environment, the shared config/credentials files, or container metadata.',
  };
}

async function awsCliVersion(runner: CommandRunner, env: NodeJS.ProcessEnv): Promise<AwsStatus['cli']> {
  const cliPath = await findExecutable('aws', env);
  if (!cliPath) return { found: false };
  const result = await runner.run(cliPath, ['--version'], { timeoutMs: 3_000, env });
  const version = `${result.stdout} ${result.stderr}`.match(/aws-cli\/(\S+)/)?.[1];
  return { found: true, path: cliPath, version };
}

/** Options every probe client shares: one attempt, short timeouts, so a hung endpoint costs seconds, not minutes. */
function probeClientConfig(region: string, credentials: AwsCredentialIdentity, timeoutMs: number) {
  return {
    region,
    credentials,
    maxAttempts: 1,
    requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs },
  };
}

export async function probeAws(options: AwsProbeOptions): Promise<AwsStatus> {
  const { env, timeoutMs } = options;
  // The AWS CLI is slow to start (a second or more); its check runs beside everything else.
  const cliCheck = awsCliVersion(options.runner, env);
  const profile = await readProfile(env);
  const region = resolveRegion(options.region, env, profile.region);
  const status: AwsStatus = {
    cli: { found: false },
    profile: profile.name,
    credentials: { found: false },
    region,
    identity: { checked: false },
    codebuild_project: { name: options.codebuildProject, checked: false },
  };
  const resolved = await resolveCredentials(env, profile, timeoutMs);
  if (!resolved.credentials) {
    status.credentials.error = resolved.error;
    status.cli = await cliCheck;
    return status;
  }
  status.credentials = {
    found: true,
    source: resolved.source,
    expires_at: resolved.credentials.expiration?.toISOString(),
  };
  const config = probeClientConfig(region.name, resolved.credentials, timeoutMs);
  const identity = async () => {
    const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
    const client = new STSClient(config);
    try {
      const answer = await client.send(new GetCallerIdentityCommand({}), {
        abortSignal: AbortSignal.timeout(timeoutMs),
      });
      status.identity = { checked: true, account_id: answer.Account, arn: answer.Arn };
    } catch (error) {
      status.identity = {
        checked: true,
        error: failureText(
          describeAwsError(error, { service: 'STS', operation: 'GetCallerIdentity', region: region.name }),
        ),
      };
    } finally {
      client.destroy();
    }
  };
  const project = async () => {
    const { CodeBuildClient, BatchGetProjectsCommand } = await import('@aws-sdk/client-codebuild');
    const client = new CodeBuildClient(config);
    try {
      const answer = await client.send(new BatchGetProjectsCommand({ names: [options.codebuildProject] }), {
        abortSignal: AbortSignal.timeout(timeoutMs),
      });
      const exists = (answer.projects ?? []).some((p) => p.name === options.codebuildProject);
      status.codebuild_project = { name: options.codebuildProject, checked: true, exists };
    } catch (error) {
      status.codebuild_project = {
        name: options.codebuildProject,
        checked: true,
        error: failureText(
          describeAwsError(error, {
            service: 'CodeBuild',
            operation: 'BatchGetProjects',
            resource: `project ${options.codebuildProject}`,
            region: region.name,
          }),
        ),
      };
    } finally {
      client.destroy();
    }
  };
  [status.cli] = await Promise.all([cliCheck, identity(), project()]);
  return status;
}
