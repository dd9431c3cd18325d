/**
 * `docker-image-builder setup-codebuild`: the CodeBuild project, its service role and the source bucket.
 *
 * `planSetup` is pure (the `--dry-run` output): the actions, and the exact trust and permission policies. The role
 * gets least privilege — CloudWatch Logs only for the project's log group, read-only S3 on the context keys of the
 * one bucket (no PutObject: builds upload nothing), and ECR push only when asked, scoped to the named repositories
 * (or the account's repositories in the region when none is named). The trust policy lets only CodeBuild, for this
 * project in this account, assume the role (confused-deputy conditions).
 *
 * `runSetup` is idempotent: each resource is looked up first and created only when missing; the inline policy is
 * compared and rewritten only when it differs, so a second run reports everything as found. IAM is eventually
 * consistent — a role created a moment ago may not yet be assumable by CodeBuild, and CreateProject then fails
 * with "not authorized to perform: sts:AssumeRole" — so that call is retried with backoff.
 */
import type { ComputeType, EnvironmentType, Project } from '@aws-sdk/client-codebuild';
import { createHash } from 'node:crypto';
import { awsErrorName, describeAwsError, unexpectedAwsAnswer, type AwsService } from '../../util/aws-errors.js';
import { ExpectedFailure, InputError } from '../../util/errors.js';
import { shellLine } from '../../util/quoted.js';
import type { AwsClients } from '../clients.js';
import { withDeadline } from '../clients.js';
import { CONTEXT_KEY_PREFIX, defaultBucketName, ensureBucket } from '../s3-upload.js';

export const DEFAULT_COMPUTE_TYPE = 'BUILD_GENERAL1_MEDIUM';
/** CodeBuild's Ubuntu standard image: Docker with BuildKit, the AWS CLI, bash. */
export const DEFAULT_IMAGE = 'aws/codebuild/standard:7.0';
export const DEFAULT_PROJECT_TIMEOUT_MINUTES = 60;
export const ROLE_POLICY_NAME = 'docker-image-builder-codebuild';
export const CREATED_BY_TAG = { key: 'created-by', value: 'docker-image-builder' } as const;

const PROJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9\-_]{1,254}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ACCOUNT = /^\d{12}$/;
const ACCOUNT_PLACEHOLDER = '<account-id>';
const ECR_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** Shown in the console's "Start build" if someone starts the project by hand: it has no source of its own. */
export const PLACEHOLDER_BUILDSPEC = [
  'version: 0.2',
  'phases:',
  '  build:',
  '    commands:',
  '      - echo "This project is driven by docker-image-builder; each build brings its own source and buildspec." && false',
  '',
].join('\n');

export interface SetupOptions {
  project: string;
  region: string;
  /** Default `docker-image-builder-<account>-<region>`. */
  bucket?: string;
  computeType?: string;
  image?: string;
  environmentType?: 'LINUX_CONTAINER' | 'LINUX_GPU_CONTAINER' | 'ARM_CONTAINER';
  /** Let the role push to ECR. */
  ecr?: boolean;
  /** With `ecr`: repositories to push to (created when missing); none = any repository of the account in the region. */
  ecrRepositories?: string[];
  /** Default `docker-image-builder-codebuild-<project>` (shortened with a hash when over IAM's 64 characters). */
  roleName?: string;
  /** Known account; when absent the plan uses `<account-id>` and runSetup asks STS. */
  accountId?: string;
  timeoutMinutes?: number;
}

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow';
  Principal?: { Service: string };
  Action: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string>>;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

export interface SetupAction {
  kind: 'iam-role' | 'iam-role-policy' | 's3-bucket' | 'ecr-repository' | 'codebuild-project';
  name: string;
  /** What runSetup does: look it up, create it when missing (the policy: write it when it differs). */
  description: string;
}

/** CreateProject's input, as sent. */
export interface ProjectDefinition {
  name: string;
  description: string;
  source: { type: 'NO_SOURCE'; buildspec: string };
  artifacts: { type: 'NO_ARTIFACTS' };
  environment: {
    type: string;
    image: string;
    computeType: string;
    privilegedMode: true;
    imagePullCredentialsType: 'CODEBUILD';
  };
  serviceRole: string;
  timeoutInMinutes: number;
  logsConfig: { cloudWatchLogs: { status: 'ENABLED' } };
  tags: { key: string; value: string }[];
}

export interface SetupPlan {
  options: SetupOptions;
  project: string;
  region: string;
  accountId?: string;
  partition: string;
  bucket: string;
  roleName: string;
  roleArn: string;
  policyName: string;
  trustPolicy: PolicyDocument;
  rolePolicy: PolicyDocument;
  ecrRepositories: string[];
  projectDefinition: ProjectDefinition;
  actions: SetupAction[];
}

function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

function defaultRoleName(project: string): string {
  const name = `docker-image-builder-codebuild-${project}`;
  if (name.length <= 64) return name;
  const hash = createHash('sha256').update(project).digest('hex').slice(0, 8);
  return `${name.slice(0, 64 - 9)}-${hash}`;
}

/** The setup command the "project not found" message points at. */
export function setupCommand(project: string, region: string): string {
  return shellLine('docker-image-builder', 'setup-codebuild', '--project-name', project, '--region', region);
}

function validate(options: SetupOptions): void {
  if (!PROJECT_NAME.test(options.project)) {
    throw new InputError(
      'project_name',
      `"${options.project}" is not a valid CodeBuild project name`,
      'Use 2-255 letters, digits, "-" or "_", starting with a letter or digit.',
    );
  }
  if (!REGION.test(options.region)) {
    throw new InputError('region', `"${options.region}" is not an AWS region`, 'Pass a region such as us-west-2.');
  }
  if (options.accountId !== undefined && !ACCOUNT.test(options.accountId)) {
    throw new InputError('account', `"${options.accountId}" is not an AWS account id`, 'Expected 12 digits.');
  }
  const computeType = options.computeType ?? DEFAULT_COMPUTE_TYPE;
  if (!/^BUILD_[A-Z0-9_]+$/.test(computeType)) {
    throw new InputError(
      'compute_type',
      `"${computeType}" is not a CodeBuild compute type`,
      'Use e.g. BUILD_GENERAL1_SMALL, BUILD_GENERAL1_MEDIUM or BUILD_GENERAL1_LARGE.',
    );
  }
  if (computeType.startsWith('BUILD_LAMBDA')) {
    throw new InputError(
      'compute_type',
      `${computeType} runs on AWS Lambda, which cannot run Docker (no privileged mode)`,
      'Use an EC2 compute type such as BUILD_GENERAL1_MEDIUM.',
    );
  }
  const roleName = options.roleName;
  if (roleName !== undefined && !/^[\w+=,.@-]{1,64}$/.test(roleName)) {
    throw new InputError('role_name', `"${roleName}" is not a valid IAM role name`, 'Use 1-64 of [A-Za-z0-9+=,.@_-].');
  }
  if (options.bucket !== undefined && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(options.bucket)) {
    throw new InputError(
      's3_bucket',
      `"${options.bucket}" is not a valid bucket name`,
      'Use 3-63 lowercase letters, digits, "." or "-".',
    );
  }
  for (const repo of options.ecrRepositories ?? []) {
    if (!ECR_NAME.test(repo) || repo.length < 2 || repo.length > 256) {
      throw new InputError(
        'ecr_repository',
        `"${repo}" is not a valid ECR repository name`,
        'Use lowercase names such as "fsdp" or "team/fsdp".',
      );
    }
  }
  if (options.ecrRepositories !== undefined && options.ecrRepositories.length > 0 && options.ecr !== true) {
    throw new InputError('ecr', 'ECR repositories were given without ecr', 'Pass --ecr to let the role push to them.');
  }
}

/** The plan for `setup-codebuild` (pure: no AWS call). */
export function planSetup(options: SetupOptions): SetupPlan {
  validate(options);
  const { project, region } = options;
  const account = options.accountId ?? ACCOUNT_PLACEHOLDER;
  const partition = partitionOf(region);
  const bucket =
    options.bucket ??
    (options.accountId === undefined
      ? `docker-image-builder-${ACCOUNT_PLACEHOLDER}-${region}`
      : defaultBucketName(options.accountId, region));
  const roleName = options.roleName ?? defaultRoleName(project);
  const roleArn = `arn:${partition}:iam::${account}:role/${roleName}`;
  const projectArn = `arn:${partition}:codebuild:${region}:${account}:project/${project}`;
  const logGroup = `arn:${partition}:logs:${region}:${account}:log-group:/aws/codebuild/${project}`;
  const ecrRepositories = options.ecr === true ? [...new Set(options.ecrRepositories ?? [])] : [];

  const trustPolicy: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: 'codebuild.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: { 'aws:SourceAccount': account },
          ArnLike: { 'aws:SourceArn': projectArn },
        },
      },
    ],
  };
  const statements: PolicyStatement[] = [
    {
      Sid: 'BuildLogs',
      Effect: 'Allow',
      Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: [logGroup, `${logGroup}:*`],
    },
    {
      Sid: 'ReadBuildContexts',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: `arn:${partition}:s3:::${bucket}/${CONTEXT_KEY_PREFIX}*`,
    },
    {
      Sid: 'LocateSourceBucket',
      Effect: 'Allow',
      Action: 's3:GetBucketLocation',
      Resource: `arn:${partition}:s3:::${bucket}`,
    },
  ];
  if (options.ecr === true) {
    const repoArn = (name: string) => `arn:${partition}:ecr:${region}:${account}:repository/${name}`;
    statements.push(
      { Sid: 'EcrLogin', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      {
        Sid: 'EcrPush',
        Effect: 'Allow',
        Action: [
          'ecr:BatchCheckLayerAvailability',
          'ecr:InitiateLayerUpload',
          'ecr:UploadLayerPart',
          'ecr:CompleteLayerUpload',
          'ecr:PutImage',
          'ecr:BatchGetImage',
          'ecr:GetDownloadUrlForLayer',
        ],
        Resource: ecrRepositories.length > 0 ? ecrRepositories.map(repoArn) : repoArn('*'),
      },
    );
  }
  const rolePolicy: PolicyDocument = { Version: '2012-10-17', Statement: statements };
  const computeType = options.computeType ?? DEFAULT_COMPUTE_TYPE;
  const projectDefinition: ProjectDefinition = {
    name: project,
    description: 'Builds container images for docker-image-builder; each build brings its own S3 source and buildspec.',
    source: { type: 'NO_SOURCE', buildspec: PLACEHOLDER_BUILDSPEC },
    artifacts: { type: 'NO_ARTIFACTS' },
    environment: {
      type: options.environmentType ?? 'LINUX_CONTAINER',
      image: options.image ?? DEFAULT_IMAGE,
      computeType,
      privilegedMode: true,
      imagePullCredentialsType: 'CODEBUILD',
    },
    serviceRole: roleArn,
    timeoutInMinutes: options.timeoutMinutes ?? DEFAULT_PROJECT_TIMEOUT_MINUTES,
    logsConfig: { cloudWatchLogs: { status: 'ENABLED' } },
    tags: [{ ...CREATED_BY_TAG }],
  };
  const actions: SetupAction[] = [
    {
      kind: 'iam-role',
      name: roleName,
      description: `IAM role ${roleName} that only CodeBuild (project ${project}, account ${account}) may assume: create when missing`,
    },
    {
      kind: 'iam-role-policy',
      name: `${roleName}/${ROLE_POLICY_NAME}`,
      description:
        `inline policy ${ROLE_POLICY_NAME}: logs to /aws/codebuild/${project}, read s3://${bucket}/${CONTEXT_KEY_PREFIX}*` +
        (options.ecr === true
          ? `, push to ECR (${ecrRepositories.length > 0 ? ecrRepositories.join(', ') : 'any repository'})`
          : '') +
        ': write when missing or different',
    },
    {
      kind: 's3-bucket',
      name: bucket,
      description: `S3 bucket ${bucket} in ${region} for build contexts (public access blocked, SSE-S3): create when missing`,
    },
    ...ecrRepositories.map((name): SetupAction => ({
      kind: 'ecr-repository',
      name,
      description: `ECR repository ${name} in ${region} (scan on push): create when missing`,
    })),
    {
      kind: 'codebuild-project',
      name: project,
      description:
        `CodeBuild project ${project} in ${region}: ${projectDefinition.environment.type}, ${projectDefinition.environment.image}, ` +
        `${computeType}, privileged mode (Docker), no source of its own, CloudWatch Logs on: create when missing`,
    },
  ];
  return {
    options,
    project,
    region,
    ...(options.accountId === undefined ? {} : { accountId: options.accountId }),
    partition,
    bucket,
    roleName,
    roleArn,
    policyName: ROLE_POLICY_NAME,
    trustPolicy,
    rolePolicy,
    ecrRepositories,
    projectDefinition,
    actions,
  };
}

/** The plan as text, for `--dry-run`. */
export function formatSetupPlan(plan: SetupPlan): string {
  const out = [
    `Plan for CodeBuild project ${plan.project} in ${plan.region}${plan.accountId === undefined ? ' (account: resolved at run time)' : ` (account ${plan.accountId})`}:`,
    ...plan.actions.map((action, i) => `  ${i + 1}. ${action.description}`),
    '',
    `Trust policy of ${plan.roleName}:`,
    JSON.stringify(plan.trustPolicy, null, 2),
    '',
    `Inline policy ${plan.policyName}:`,
    JSON.stringify(plan.rolePolicy, null, 2),
    '',
    'Project definition:',
    JSON.stringify(plan.projectDefinition, null, 2),
    '',
    'Dry run: nothing was called or changed.',
  ];
  return out.join('\n');
}

export interface SetupResult {
  accountId: string;
  region: string;
  project: string;
  projectArn?: string;
  roleArn: string;
  bucket: string;
  /** Resources made by this run, as `<kind> <name>`. */
  created: string[];
  /** Resources that were there already. */
  found: string[];
  /** Resources changed to match the plan (the inline policy). */
  updated: string[];
  /** Differences left alone, e.g. an existing project with another compute type. */
  notes: string[];
  plan: SetupPlan;
}

export interface RunSetupOptions {
  /** Backoff between CreateProject attempts while the new role propagates (default 2 s doubling to 10 s, ~90 s total). */
  propagation?: { attempts?: number; initialDelayMs?: number; maxDelayMs?: number };
  sleep?: (ms: number) => Promise<void>;
  /** Called with a line per step, for the CLI. */
  onProgress?: (line: string) => void;
  callTimeoutMs?: number;
}

function isPropagationError(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return (
    awsErrorName(error) === 'InvalidInputException' &&
    /not authorized to perform: ?sts:AssumeRole|service role|cannot be assumed/i.test(message)
  );
}

const SETUP_PERMISSIONS =
  'Run setup-codebuild with credentials allowed to manage IAM roles, S3 buckets, CodeBuild projects (and ECR repositories).';

/** A failed setup call, described by the one AWS translator with setup's next steps. */
function setupFailure(error: unknown, service: AwsService, operation: string, resource: string): ExpectedFailure {
  return describeAwsError(error, {
    service,
    operation,
    resource,
    nextSteps: {
      'aws-permissions': SETUP_PERMISSIONS,
      'aws-rejected': isPropagationError(error)
        ? 'IAM has not made the new role usable yet: run setup-codebuild again in a minute.'
        : 'Check the credentials and region, then run setup again.',
    },
  });
}

function sameDocument(a: string, b: PolicyDocument): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(b);
  } catch {
    return false;
  }
}

/** What the steps of runSetup share: the clients, the call deadline, and what they created, found and changed. */
interface SetupRun {
  clients: AwsClients;
  call: { timeoutMs?: number };
  progress: (line: string) => void;
  created: string[];
  found: string[];
  updated: string[];
  notes: string[];
}

const isNoSuchEntity = (error: unknown) =>
  awsErrorName(error) === 'NoSuchEntity' || awsErrorName(error) === 'NoSuchEntityException';

/** The plan with the account filled in (STS GetCallerIdentity) when it was not known. */
async function withAccount(plan: SetupPlan, run: SetupRun): Promise<SetupPlan> {
  if (plan.accountId !== undefined) return plan;
  const sts = await run.clients.sts();
  const { GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const identity = await withDeadline(
    (abortSignal) => sts.send(new GetCallerIdentityCommand({}), { abortSignal }),
    run.call,
  ).catch((error: unknown) => {
    throw setupFailure(error, 'STS', 'GetCallerIdentity', 'the caller');
  });
  if (identity.Account === undefined) {
    throw unexpectedAwsAnswer({ service: 'STS', operation: 'GetCallerIdentity' }, 'the answer has no account');
  }
  return planSetup({ ...plan.options, accountId: identity.Account });
}

/** 1. The role: looked up, created when missing. Returns its ARN. */
async function ensureRole(plan: SetupPlan, run: SetupRun): Promise<string> {
  const iam = await run.clients.iam();
  const iamSdk = await import('@aws-sdk/client-iam');
  try {
    const role = await withDeadline(
      (abortSignal) => iam.send(new iamSdk.GetRoleCommand({ RoleName: plan.roleName }), { abortSignal }),
      run.call,
    );
    run.found.push(`iam-role ${plan.roleName}`);
    const trust = decodeURIComponent(role.Role?.AssumeRolePolicyDocument ?? '');
    if (!trust.includes('codebuild.amazonaws.com')) {
      run.notes.push(
        `role ${plan.roleName} exists but its trust policy does not name codebuild.amazonaws.com; left as is`,
      );
    }
    return role.Role?.Arn ?? plan.roleArn;
  } catch (error) {
    if (!isNoSuchEntity(error)) throw setupFailure(error, 'IAM', 'GetRole', `role ${plan.roleName}`);
  }
  const answer = await withDeadline(
    (abortSignal) =>
      iam.send(
        new iamSdk.CreateRoleCommand({
          RoleName: plan.roleName,
          AssumeRolePolicyDocument: JSON.stringify(plan.trustPolicy),
          Description: `CodeBuild service role for docker-image-builder project ${plan.project}`,
          Tags: [{ Key: CREATED_BY_TAG.key, Value: CREATED_BY_TAG.value }],
        }),
        { abortSignal },
      ),
    run.call,
  ).catch((e: unknown) => {
    throw setupFailure(e, 'IAM', 'CreateRole', `role ${plan.roleName}`);
  });
  run.created.push(`iam-role ${plan.roleName}`);
  return answer.Role?.Arn ?? plan.roleArn;
}

/** 2. Its inline policy: compared, written only when missing or different. */
async function ensureRolePolicy(plan: SetupPlan, run: SetupRun): Promise<void> {
  const iam = await run.clients.iam();
  const iamSdk = await import('@aws-sdk/client-iam');
  let current: string | undefined;
  try {
    const answer = await withDeadline(
      (abortSignal) =>
        iam.send(new iamSdk.GetRolePolicyCommand({ RoleName: plan.roleName, PolicyName: plan.policyName }), {
          abortSignal,
        }),
      run.call,
    );
    current = decodeURIComponent(answer.PolicyDocument ?? '');
  } catch (error) {
    if (!isNoSuchEntity(error)) throw setupFailure(error, 'IAM', 'GetRolePolicy', `policy ${plan.policyName}`);
  }
  const label = `iam-role-policy ${plan.roleName}/${plan.policyName}`;
  if (current !== undefined && sameDocument(current, plan.rolePolicy)) {
    run.found.push(label);
    return;
  }
  await withDeadline(
    (abortSignal) =>
      iam.send(
        new iamSdk.PutRolePolicyCommand({
          RoleName: plan.roleName,
          PolicyName: plan.policyName,
          PolicyDocument: JSON.stringify(plan.rolePolicy),
        }),
        { abortSignal },
      ),
    run.call,
  ).catch((e: unknown) => {
    throw setupFailure(e, 'IAM', 'PutRolePolicy', `policy ${plan.policyName}`);
  });
  (current === undefined ? run.created : run.updated).push(label);
}

/** 4. The ECR repositories named in the plan: looked up, created when missing. */
async function ensureEcrRepositories(plan: SetupPlan, run: SetupRun): Promise<void> {
  if (plan.ecrRepositories.length === 0) return;
  const ecr = await run.clients.ecr();
  const ecrSdk = await import('@aws-sdk/client-ecr');
  for (const name of plan.ecrRepositories) {
    try {
      await withDeadline(
        (abortSignal) => ecr.send(new ecrSdk.DescribeRepositoriesCommand({ repositoryNames: [name] }), { abortSignal }),
        run.call,
      );
      run.found.push(`ecr-repository ${name}`);
    } catch (error) {
      if (awsErrorName(error) !== 'RepositoryNotFoundException') {
        throw setupFailure(error, 'ECR', 'DescribeRepositories', `repository ${name}`);
      }
      await withDeadline(
        (abortSignal) =>
          ecr.send(
            new ecrSdk.CreateRepositoryCommand({
              repositoryName: name,
              imageTagMutability: 'MUTABLE',
              imageScanningConfiguration: { scanOnPush: true },
              tags: [{ Key: CREATED_BY_TAG.key, Value: CREATED_BY_TAG.value }],
            }),
            { abortSignal },
          ),
        run.call,
      ).catch((e: unknown) => {
        if (awsErrorName(e) === 'RepositoryAlreadyExistsException') return;
        throw setupFailure(e, 'ECR', 'CreateRepository', `repository ${name}`);
      });
      run.created.push(`ecr-repository ${name}`);
    }
    run.progress(`ECR repository ${name}`);
  }
}

/** Differences of an existing project from the plan, left alone and reported. */
function projectNotes(plan: SetupPlan, project: Project, roleArn: string): string[] {
  const notes: string[] = [];
  const env = project.environment;
  const want = plan.projectDefinition.environment;
  if (env?.computeType !== want.computeType) {
    notes.push(
      `project ${plan.project} uses ${env?.computeType ?? 'an unknown compute type'}, not ${want.computeType}; left as is`,
    );
  }
  if (env?.privilegedMode !== true) {
    notes.push(
      `project ${plan.project} has privileged mode off; docker-image-builder turns it on for each build it starts`,
    );
  }
  if (project.serviceRole !== undefined && project.serviceRole !== roleArn) {
    notes.push(`project ${plan.project} uses service role ${project.serviceRole}, not ${roleArn}; left as is`);
  }
  return notes;
}

/** CreateProject, retried with backoff while IAM has not yet made the new role assumable. Returns the project ARN. */
async function createProject(
  plan: SetupPlan,
  run: SetupRun,
  roleArn: string,
  options: RunSetupOptions,
): Promise<string | undefined> {
  const codebuild = await run.clients.codebuild();
  const cbSdk = await import('@aws-sdk/client-codebuild');
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const definition = { ...plan.projectDefinition, serviceRole: roleArn };
  const attempts = options.propagation?.attempts ?? 10;
  let delay = options.propagation?.initialDelayMs ?? 2_000;
  const maxDelay = options.propagation?.maxDelayMs ?? 10_000;
  for (let attempt = 1; ; attempt++) {
    try {
      const answer = await withDeadline(
        (abortSignal) =>
          codebuild.send(
            new cbSdk.CreateProjectCommand({
              ...definition,
              environment: {
                ...definition.environment,
                type: definition.environment.type as EnvironmentType,
                computeType: definition.environment.computeType as ComputeType,
              },
            }),
            { abortSignal },
          ),
        run.call,
      );
      run.created.push(`codebuild-project ${plan.project}`);
      return answer.project?.arn;
    } catch (error) {
      if (awsErrorName(error) === 'ResourceAlreadyExistsException') {
        run.found.push(`codebuild-project ${plan.project}`);
        return undefined;
      }
      if (!isPropagationError(error) || attempt >= attempts) {
        throw setupFailure(error, 'CodeBuild', 'CreateProject', `project ${plan.project}`);
      }
      run.progress(`waiting for the new role to propagate in IAM (attempt ${attempt}/${attempts})`);
      await sleep(delay);
      delay = Math.min(maxDelay, delay * 2);
    }
  }
}

/** 5. The project: looked up, created when missing; an existing one is left alone, its differences noted. */
async function ensureProject(
  plan: SetupPlan,
  run: SetupRun,
  roleArn: string,
  options: RunSetupOptions,
): Promise<string | undefined> {
  const codebuild = await run.clients.codebuild();
  const cbSdk = await import('@aws-sdk/client-codebuild');
  const existing = await withDeadline(
    (abortSignal) => codebuild.send(new cbSdk.BatchGetProjectsCommand({ names: [plan.project] }), { abortSignal }),
    run.call,
  ).catch((error: unknown) => {
    throw setupFailure(error, 'CodeBuild', 'BatchGetProjects', `project ${plan.project}`);
  });
  const project = (Array.isArray(existing.projects) ? existing.projects : []).find((p) => p.name === plan.project);
  if (project === undefined) return createProject(plan, run, roleArn, options);
  run.found.push(`codebuild-project ${plan.project}`);
  run.notes.push(...projectNotes(plan, project, roleArn));
  return project.arn;
}

/** Creates what is missing; reports what it created and what it found. Safe to run again. */
export async function runSetup(
  planned: SetupPlan,
  clients: AwsClients,
  options: RunSetupOptions = {},
): Promise<SetupResult> {
  const run: SetupRun = {
    clients,
    call: { ...(options.callTimeoutMs === undefined ? {} : { timeoutMs: options.callTimeoutMs }) },
    progress: options.onProgress ?? (() => undefined),
    created: [],
    found: [],
    updated: [],
    notes: [],
  };
  const plan = await withAccount(planned, run);
  const accountId = plan.accountId as string;
  const roleArn = await ensureRole(plan, run);
  run.progress(`role ${roleArn}`);
  await ensureRolePolicy(plan, run);
  run.progress(`policy ${plan.policyName}`);
  // 3. The bucket.
  const bucket = await ensureBucket({
    s3: await clients.s3(),
    bucket: plan.bucket,
    region: plan.region,
    expectedOwner: accountId,
  });
  (bucket.created ? run.created : run.found).push(`s3-bucket ${plan.bucket}`);
  run.progress(`bucket s3://${plan.bucket}`);
  await ensureEcrRepositories(plan, run);
  const projectArn = await ensureProject(plan, run, roleArn, options);
  run.progress(`project ${plan.project}`);
  const { created, found, updated, notes } = run;
  return {
    accountId,
    region: plan.region,
    project: plan.project,
    ...(projectArn === undefined ? {} : { projectArn }),
    roleArn,
    bucket: plan.bucket,
    created,
    found,
    updated,
    notes,
    plan,
  };
}

/** The result as text, for the CLI. */
export function formatSetupResult(result: SetupResult): string {
  const out = [`CodeBuild setup for ${result.project} in ${result.region} (account ${result.accountId}):`];
  for (const item of result.created) out.push(`  created  ${item}`);
  for (const item of result.updated) out.push(`  updated  ${item}`);
  for (const item of result.found) out.push(`  found    ${item}`);
  for (const note of result.notes) out.push(`  note: ${note}`);
  out.push(
    `Builds use --codebuild-project ${result.project} --region ${result.region}` +
      (result.bucket === defaultBucketNameOrUndefined(result) ? '' : ` --s3-bucket ${result.bucket}`),
  );
  return out.join('\n');
}

function defaultBucketNameOrUndefined(result: SetupResult): string | undefined {
  try {
    return defaultBucketName(result.accountId, result.region);
  } catch {
    return undefined;
  }
}

export interface SetupCommandOptions extends SetupOptions {
  /** Print the plan and the policies; call nothing. */
  dryRun?: boolean;
}

export interface SetupCommandDeps {
  /** e.g. `(region) => createAwsClients({ region })`; not called with `dryRun`. */
  clients: (region: string) => AwsClients;
  /** The report (plan or result), for stdout. */
  out: (text: string) => void;
  /** Step lines while it runs, for stderr. */
  progress?: (line: string) => void;
  run?: RunSetupOptions;
}

/** What `docker-image-builder setup-codebuild [--dry-run]` does: the plan, or the setup and what it created/found. */
export async function setupCodebuildCommand(
  options: SetupCommandOptions,
  deps: SetupCommandDeps,
): Promise<{ plan: SetupPlan; result?: SetupResult }> {
  const { dryRun, ...setup } = options;
  const plan = planSetup(setup);
  if (dryRun === true) {
    deps.out(formatSetupPlan(plan));
    return { plan };
  }
  const clients = deps.clients(plan.region);
  try {
    const result = await runSetup(plan, clients, {
      ...deps.run,
      ...(deps.progress === undefined ? {} : { onProgress: deps.progress }),
    });
    deps.out(formatSetupResult(result));
    return { plan: result.plan, result };
  } finally {
    clients.destroy();
  }
}
