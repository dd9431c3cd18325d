import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeAws, resolveRegion } from '../../../src/environment/aws-probe.js';
import { RecordingRunner } from '../../support/fake-runner.js';

const isolated = async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dib-aws-'));
  return {
    dir,
    env: {
      PATH: '/nonexistent',
      HOME: dir,
      AWS_CONFIG_FILE: path.join(dir, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
    } as NodeJS.ProcessEnv,
  };
};

describe('resolveRegion', () => {
  it('takes the parameter, then AWS_REGION, AWS_DEFAULT_REGION, the profile, then us-west-2', () => {
    const env = { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-central-1' };
    expect(resolveRegion('ap-south-1', env, 'sa-east-1')).toEqual({ name: 'ap-south-1', source: 'parameter' });
    expect(resolveRegion(undefined, env, 'sa-east-1')).toEqual({ name: 'eu-west-1', source: 'AWS_REGION' });
    expect(resolveRegion(undefined, { AWS_DEFAULT_REGION: 'eu-central-1' }, 'sa-east-1')).toEqual({
      name: 'eu-central-1',
      source: 'AWS_DEFAULT_REGION',
    });
    expect(resolveRegion(undefined, {}, 'sa-east-1')).toEqual({ name: 'sa-east-1', source: 'profile' });
    expect(resolveRegion(undefined, {}, undefined)).toEqual({ name: 'us-west-2', source: 'default' });
  });
});

describe('probeAws credentials', () => {
  it('reports no credentials (and no AWS call) when nothing is configured', async () => {
    const { env } = await isolated();
    const status = await probeAws({
      runner: new RecordingRunner(),
      env,
      codebuildProject: 'pytorch-fsdp',
      timeoutMs: 1000,
    });
    expect(status.credentials.found).toBe(false);
    expect(status.identity.checked).toBe(false);
    expect(status.codebuild_project.checked).toBe(false);
    expect(status.region).toEqual({ name: 'us-west-2', source: 'default' });
  });

  it('names a shared-config profile as the source and takes its region, without echoing the secret', async () => {
    const { dir, env } = await isolated();
    await writeFile(path.join(dir, 'config'), '[profile dev]\nregion = eu-north-1\n');
    await writeFile(
      path.join(dir, 'credentials'),
      '[dev]\naws_access_key_id = AKIDPROFILEEXAMPLE\naws_secret_access_key = very-secret-value\n',
    );
    // A closed port answers at once, so STS and CodeBuild fail fast instead of reaching AWS.
    const endpointEnv = { AWS_ENDPOINT_URL: 'http://127.0.0.1:9' };
    const status = await probeAws({
      runner: new RecordingRunner(),
      env: { ...env, ...endpointEnv, AWS_PROFILE: 'dev' },
      codebuildProject: 'pytorch-fsdp',
      timeoutMs: 1500,
    });
    expect(status.credentials).toMatchObject({ found: true, source: 'shared-config profile "dev" (static)' });
    expect(status.region).toEqual({ name: 'eu-north-1', source: 'profile' });
    expect(status.identity.checked).toBe(true);
    expect(status.identity.error).toBeDefined();
    expect(JSON.stringify(status)).not.toContain('very-secret-value');
    expect(JSON.stringify(status)).not.toContain('AKIDPROFILEEXAMPLE');
  });
});
