/** The cost estimate shown before a CodeBuild build, and the (pure) setup plan with its least-privilege policies. */
import { describe, expect, it } from 'vitest';
import { timeoutMinutesFor } from '../../../src/codebuild/codebuild-runner.js';
import { CODEBUILD_PRICE_PER_MINUTE_USD, estimateCost } from '../../../src/codebuild/cost.js';
import {
  formatSetupPlan,
  planSetup,
  setupCodebuildCommand,
  setupCommand,
  type PolicyStatement,
} from '../../../src/codebuild/setup/setup.js';
import { InputError } from '../../../src/util/errors.js';

describe('estimateCost', () => {
  it('prices BUILD_GENERAL1_MEDIUM per minute, typically and at the timeout, citing the seed', () => {
    const estimate = estimateCost('BUILD_GENERAL1_MEDIUM', 60);
    expect(estimate).toMatchObject({
      compute_type: 'BUILD_GENERAL1_MEDIUM',
      environment_type: 'LINUX_CONTAINER',
      per_minute_usd: 0.01,
      typical_minutes: 22,
      typical_usd: 0.22,
      max_minutes: 60,
      max_usd: 0.6,
    });
    expect(estimate.note).toContain('~$0.10');
    expect(estimate.note).toContain('$0.22');
    expect(estimate.note).toContain('$0.60');
    expect(estimate.source).toMatch(/pricing page.*may be out of date/);
  });

  it('scales with the compute type and rounds partial minutes up', () => {
    expect(estimateCost('BUILD_GENERAL1_SMALL', 10).max_usd).toBe(0.05);
    expect(estimateCost('BUILD_GENERAL1_LARGE', 59.2).max_minutes).toBe(60);
    expect(estimateCost('BUILD_GENERAL1_LARGE', 60).max_usd).toBe(1.2);
    expect(estimateCost('BUILD_GENERAL1_LARGE', 60, 'LINUX_GPU_CONTAINER').per_minute_usd).toBe(0.65);
    for (const price of Object.values(CODEBUILD_PRICE_PER_MINUTE_USD)) expect(price).toBeGreaterThan(0);
  });

  it('gives no dollar figure for a compute type it does not know', () => {
    const estimate = estimateCost('BUILD_GENERAL1_XLARGE', 60);
    expect(estimate.per_minute_usd).toBeUndefined();
    expect(estimate.max_usd).toBeUndefined();
    expect(estimate.note).toContain('aws.amazon.com/codebuild/pricing');
  });

  it('maps the timeout to CodeBuild minutes (5-2160)', () => {
    expect(estimateCost('BUILD_GENERAL1_MEDIUM', 30).max_usd).toBe(0.3);
    expect(timeoutMinutesFor(3600)).toBe(60);
    expect(timeoutMinutesFor(61)).toBe(5);
    expect(timeoutMinutesFor(3601)).toBe(61);
    expect(timeoutMinutesFor(10 ** 7)).toBe(2160);
  });
});

function statements(plan: ReturnType<typeof planSetup>): PolicyStatement[] {
  return plan.rolePolicy.Statement;
}

function actions(plan: ReturnType<typeof planSetup>): string[] {
  return statements(plan).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
}

describe('planSetup', () => {
  const plan = planSetup({ project: 'pytorch-fsdp', region: 'us-west-2', accountId: '123456789012' });

  it('names the role, bucket and project, with the defaults the seed implies', () => {
    expect(plan.roleName).toBe('docker-image-builder-codebuild-pytorch-fsdp');
    expect(plan.roleArn).toBe('arn:aws:iam::123456789012:role/docker-image-builder-codebuild-pytorch-fsdp');
    expect(plan.bucket).toBe('docker-image-builder-123456789012-us-west-2');
    expect(plan.projectDefinition.environment).toEqual({
      type: 'LINUX_CONTAINER',
      image: 'aws/codebuild/standard:7.0',
      computeType: 'BUILD_GENERAL1_MEDIUM',
      privilegedMode: true,
      imagePullCredentialsType: 'CODEBUILD',
    });
    expect(plan.projectDefinition.source.type).toBe('NO_SOURCE');
    expect(plan.projectDefinition.serviceRole).toBe(plan.roleArn);
    expect(plan.actions.map((a) => a.kind)).toEqual(['iam-role', 'iam-role-policy', 's3-bucket', 'codebuild-project']);
  });

  it('lets only CodeBuild, for this project and account, assume the role', () => {
    expect(plan.trustPolicy.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'codebuild.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: { 'aws:SourceAccount': '123456789012' },
          ArnLike: { 'aws:SourceArn': 'arn:aws:codebuild:us-west-2:123456789012:project/pytorch-fsdp' },
        },
      },
    ]);
  });

  it('grants least privilege: the project log group, read-only on the context keys, no ECR', () => {
    const byId = Object.fromEntries(statements(plan).map((s) => [s.Sid, s]));
    expect(byId['BuildLogs']?.Resource).toEqual([
      'arn:aws:logs:us-west-2:123456789012:log-group:/aws/codebuild/pytorch-fsdp',
      'arn:aws:logs:us-west-2:123456789012:log-group:/aws/codebuild/pytorch-fsdp:*',
    ]);
    expect(byId['ReadBuildContexts']).toMatchObject({
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: 'arn:aws:s3:::docker-image-builder-123456789012-us-west-2/docker-image-builder/contexts/*',
    });
    expect(byId['LocateSourceBucket']).toMatchObject({
      Action: 's3:GetBucketLocation',
      Resource: 'arn:aws:s3:::docker-image-builder-123456789012-us-west-2',
    });
    expect(actions(plan)).not.toContain('s3:PutObject');
    expect(actions(plan).some((a) => a.startsWith('ecr:'))).toBe(false);
    expect(actions(plan).some((a) => a.includes('*'))).toBe(false);
    for (const s of statements(plan)) {
      expect(s.Resource).not.toBe('*');
      expect(s.Effect).toBe('Allow');
    }
  });

  it('adds ECR push only when asked, scoped to the named repositories', () => {
    const ecr = planSetup({
      project: 'p1',
      region: 'eu-central-1',
      accountId: '111122223333',
      ecr: true,
      ecrRepositories: ['fsdp', 'team/train'],
    });
    const push = statements(ecr).find((s) => s.Sid === 'EcrPush');
    expect(push?.Resource).toEqual([
      'arn:aws:ecr:eu-central-1:111122223333:repository/fsdp',
      'arn:aws:ecr:eu-central-1:111122223333:repository/team/train',
    ]);
    expect(push?.Action).toContain('ecr:PutImage');
    expect(statements(ecr).find((s) => s.Sid === 'EcrLogin')).toMatchObject({
      Action: 'ecr:GetAuthorizationToken',
      Resource: '*', // GetAuthorizationToken has no resource-level permissions
    });
    expect(ecr.actions.filter((a) => a.kind === 'ecr-repository').map((a) => a.name)).toEqual(['fsdp', 'team/train']);
    const anyRepo = planSetup({ project: 'p1', region: 'eu-central-1', accountId: '111122223333', ecr: true });
    expect(statements(anyRepo).find((s) => s.Sid === 'EcrPush')?.Resource).toBe(
      'arn:aws:ecr:eu-central-1:111122223333:repository/*',
    );
  });

  it('plans without an account (dry run) using a placeholder', () => {
    const dry = planSetup({ project: 'pytorch-fsdp', region: 'us-west-2' });
    expect(dry.accountId).toBeUndefined();
    expect(dry.bucket).toBe('docker-image-builder-<account-id>-us-west-2');
    expect(dry.roleArn).toContain('<account-id>');
    const text = formatSetupPlan(dry);
    expect(text).toContain('Dry run: nothing was called or changed.');
    expect(text).toContain('"codebuild.amazonaws.com"');
    expect(text).toContain('s3:GetObject');
  });

  it('honours options and refuses bad values', () => {
    const custom = planSetup({
      project: 'x'.repeat(60),
      region: 'us-east-1',
      accountId: '123456789012',
      bucket: 'my-bucket',
      computeType: 'BUILD_GENERAL1_LARGE',
      image: 'aws/codebuild/standard:7.0',
    });
    expect(custom.roleName.length).toBeLessThanOrEqual(64);
    expect(custom.bucket).toBe('my-bucket');
    expect(custom.projectDefinition.environment.computeType).toBe('BUILD_GENERAL1_LARGE');
    expect(planSetup({ project: 'p1', region: 'cn-north-1', accountId: '123456789012' }).roleArn).toMatch(
      /^arn:aws-cn:iam::/,
    );
    expect(() => planSetup({ project: 'bad name', region: 'us-west-2' })).toThrow(InputError);
    expect(() => planSetup({ project: 'p1', region: 'mars' })).toThrow(InputError);
    expect(() => planSetup({ project: 'p1', region: 'us-west-2', computeType: 'BUILD_LAMBDA_1GB' })).toThrow(/Lambda/);
    expect(() => planSetup({ project: 'p1', region: 'us-west-2', ecrRepositories: ['fsdp'] })).toThrow(InputError);
    expect(() => planSetup({ project: 'p1', region: 'us-west-2', bucket: 'Bad_Bucket' })).toThrow(InputError);
  });

  it('--dry-run prints the plan and calls nothing', async () => {
    const out: string[] = [];
    const result = await setupCodebuildCommand(
      { project: 'pytorch-fsdp', region: 'us-west-2', dryRun: true },
      {
        clients: () => {
          throw new Error('no AWS client may be made for a dry run');
        },
        out: (text) => out.push(text),
      },
    );
    expect(result.result).toBeUndefined();
    expect(out.join('\n')).toContain('Plan for CodeBuild project pytorch-fsdp in us-west-2');
  });

  it('gives the setup command the "project not found" message points at', () => {
    expect(setupCommand('pytorch-fsdp', 'us-west-2')).toBe(
      'docker-image-builder setup-codebuild --project-name pytorch-fsdp --region us-west-2',
    );
  });
});
