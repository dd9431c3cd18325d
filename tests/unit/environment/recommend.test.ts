import { describe, expect, it } from 'vitest';
import type { AwsStatus } from '../../../src/environment/aws-probe.js';
import type { DaemonState, DockerStatus } from '../../../src/environment/docker-probe.js';
import {
  CODEBUILD_CHARGES_WARNING,
  FALLBACK_MESSAGE,
  NEITHER_AVAILABLE_MESSAGE,
  recommendMode,
} from '../../../src/environment/recommend.js';

function docker(state: DaemonState, useSudo = false): DockerStatus {
  return {
    use_sudo: useSudo,
    cli: { found: state !== 'no-cli' },
    daemon: { state, hint: state === 'reachable' ? undefined : `hint for ${state}` },
    builder: { default: 'legacy', selected: 'legacy', buildkit_available: false },
    context: { source: 'default' },
    gpu: { available: false, runtimes: [], cdi_devices: [] },
    buildx: { available: false },
    containerd_image_store: {},
    qemu: { emulators: [] },
    warnings: [],
  };
}

function aws(credentials: boolean, options: { cli?: boolean; projectExists?: boolean } = {}): AwsStatus {
  return {
    cli: { found: options.cli ?? false },
    profile: 'default',
    credentials: credentials ? { found: true, source: 'environment' } : { found: false, error: 'none' },
    region: { name: 'us-west-2', source: 'default' },
    identity: { checked: credentials, account_id: credentials ? '123456789012' : undefined },
    codebuild_project: {
      name: 'pytorch-fsdp',
      checked: options.projectExists !== undefined,
      exists: options.projectExists,
    },
  };
}

const none = { forceLocal: false, forceCodebuild: false };

describe('recommendMode follows the seed detection order', () => {
  it('1. force_local with Docker -> local, ready', () => {
    const r = recommendMode({ docker: docker('reachable'), aws: aws(true), forceLocal: true, forceCodebuild: false });
    expect(r).toMatchObject({ mode: 'local', ready: true });
  });
  it('1. force_local without Docker -> local, not ready (fail instead of falling back)', () => {
    const r = recommendMode({ docker: docker('unreachable'), aws: aws(true), forceLocal: true, forceCodebuild: false });
    expect(r).toMatchObject({ mode: 'local', ready: false });
    expect(r.reason).toMatch(/force_local/);
    expect(r.next_steps).toEqual(['hint for unreachable']);
  });
  it('2. force_codebuild even with Docker -> codebuild with the charges warning', () => {
    const r = recommendMode({
      docker: docker('reachable'),
      aws: aws(true, { projectExists: true }),
      forceLocal: false,
      forceCodebuild: true,
    });
    expect(r).toMatchObject({ mode: 'codebuild', ready: true });
    expect(r.warnings).toContain(CODEBUILD_CHARGES_WARNING);
  });
  it('2. force_codebuild with a missing project is not ready and names the setup command', () => {
    const r = recommendMode({
      docker: docker('reachable'),
      aws: aws(true, { projectExists: false }),
      forceLocal: false,
      forceCodebuild: true,
    });
    expect(r.ready).toBe(false);
    expect(r.next_steps.join(' ')).toMatch(
      /CodeBuild project not found: pytorch-fsdp.*setup-codebuild --project-name pytorch-fsdp --region us-west-2/,
    );
  });
  it('3. Docker available -> local', () => {
    expect(recommendMode({ docker: docker('reachable'), aws: aws(true), ...none })).toMatchObject({
      mode: 'local',
      ready: true,
    });
  });
  it('4. no Docker, credentials -> codebuild with the fallback message and the charges warning', () => {
    const r = recommendMode({ docker: docker('unreachable'), aws: aws(true), ...none });
    expect(r.mode).toBe('codebuild');
    expect(r.reason).toContain(FALLBACK_MESSAGE);
    expect(r.warnings).toContain(CODEBUILD_CHARGES_WARNING);
  });
  it('4. permission denied on the socket is not silently sent to a paid build: the sudo hint comes first', () => {
    const r = recommendMode({ docker: docker('permission-denied'), aws: aws(true), ...none });
    expect(r.mode).toBe('codebuild');
    expect(r.next_steps[0]).toMatch(/use_sudo: true/);
  });
  it('5. neither -> none with the seed message and what to install or configure', () => {
    const r = recommendMode({ docker: docker('no-cli'), aws: aws(false), ...none });
    expect(r).toMatchObject({ mode: 'none', ready: false });
    expect(r.reason).toContain(NEITHER_AVAILABLE_MESSAGE);
    expect(r.next_steps.join(' ')).toMatch(/install Docker/);
    expect(r.next_steps.join(' ')).toMatch(/aws configure/);
  });
  it('5. an AWS CLI without credentials still gives none, and says the credentials are missing', () => {
    const r = recommendMode({ docker: docker('unreachable'), aws: aws(false, { cli: true }), ...none });
    expect(r.mode).toBe('none');
    expect(r.reason).toMatch(/AWS CLI is installed but no credentials resolve/);
  });
  it('a hung daemon is "not responding" with its hint first, not a call to install Docker', () => {
    const r = recommendMode({ docker: docker('unresponsive'), aws: aws(false), ...none });
    expect(r.reason).toContain(`${NEITHER_AVAILABLE_MESSAGE}. Docker is not responding.`);
    expect(r.next_steps[0]).toBe('hint for unresponsive');
  });
});
