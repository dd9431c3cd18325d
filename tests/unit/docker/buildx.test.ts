import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BUILDER_NAME,
  CONTEXT_NAME,
  builderPlatforms,
  buildxVersionOf,
  parseBuildxInspect,
  parseBuildxLs,
} from '../../../src/docker/buildx.js';
import { parseContextList } from '../../../src/docker/contexts.js';
import { containerdImageStoreOf } from '../../../src/docker/image-store.js';

const fixture = (name: string) =>
  readFileSync(path.resolve(import.meta.dirname, '../../fixtures/buildx', name), 'utf8');

describe('buildx output as the real engines print it', () => {
  it('lists both contexts as docker-driver builders, the current one starred, with their platforms', () => {
    const builders = parseBuildxLs(fixture('ls-0.13-two-contexts.txt'));
    expect(builders.map(({ name, driver, current }) => ({ name, driver, current }))).toEqual([
      { name: 'default', driver: 'docker', current: true },
      { name: 'dib-modern', driver: 'docker', current: false },
    ]);
    expect(builders[1]!.nodes[0]).toMatchObject({ name: 'dib-modern', status: 'running', buildkit: 'v0.0.0+unknown' });
    expect(builderPlatforms(builders[1]!)).toEqual([
      'linux/amd64',
      'linux/amd64/v2',
      'linux/amd64/v3',
      'linux/amd64/v4',
      'linux/arm64',
      'linux/386',
    ]);
    expect(builderPlatforms(builders[0]!)).toEqual(['linux/amd64', 'linux/386', 'linux/arm64']);
  });

  it('reads the builder, its driver, node status, BuildKit version and platforms from buildx inspect', () => {
    const modern = parseBuildxInspect(fixture('inspect-0.13-docker-26.txt'))!;
    expect(modern).toMatchObject({ name: 'dib-modern', driver: 'docker' });
    expect(modern.nodes).toHaveLength(1);
    expect(modern.nodes[0]).toMatchObject({ name: 'dib-modern', endpoint: 'dib-modern', status: 'running' });
    expect(builderPlatforms(modern)).toContain('linux/arm64');
    const host = parseBuildxInspect(fixture('inspect-0.13-docker-20.10.txt'))!;
    expect(host).toMatchObject({ name: 'default', driver: 'docker' });
    expect(host.nodes[0]!.buildkit).toBe('v0.8+unknown');
  });

  it('reads the plugin version from buildx version', () => {
    expect(buildxVersionOf(fixture('version-0.13.txt'))).toBe('0.13.1+ds1');
    expect(buildxVersionOf('github.com/docker/buildx v0.24.0 d0e5e86c8b88ae4865040bc96917c338f4dd673a')).toBe('0.24.0');
  });

  it('finds nothing in output that is not buildx output', () => {
    expect(parseBuildxLs('docker: unknown command: docker buildx')).toEqual([]);
    expect(parseBuildxInspect('ERROR: no builder "nope" found')).toBeUndefined();
  });
});

describe('docker context ls and docker info', () => {
  it('lists the contexts with the current one and their endpoints', () => {
    const contexts = parseContextList(fixture('context-ls.jsonl'));
    expect(contexts.map(({ name, current }) => ({ name, current }))).toEqual([
      { name: 'default', current: true },
      { name: 'dib-modern', current: false },
    ]);
    expect(contexts[1]!.endpoint).toMatch(/^unix:\/\/.*docker\.sock$/);
  });

  it('tells the containerd image store from the classic one by DriverStatus', () => {
    expect(containerdImageStoreOf(JSON.parse(fixture('info-driver-status-26-containerd.json')))).toBe(true);
    expect(containerdImageStoreOf(JSON.parse(fixture('info-driver-status-26-overlay2.json')))).toBe(false);
    expect(containerdImageStoreOf(undefined)).toBeUndefined();
  });

  it("accepts Docker's context and builder names and refuses anything a flag or shell could misread", () => {
    for (const name of ['dib-modern', 'default', 'ctx+tls', '1a']) expect(CONTEXT_NAME.test(name)).toBe(true);
    for (const name of ['-x', 'a', 'a b', 'a;b', '--help', '']) expect(CONTEXT_NAME.test(name)).toBe(false);
    for (const name of ['gpu-builder', 'b', 'dib-modern', 'ctx+tls']) expect(BUILDER_NAME.test(name)).toBe(true);
    for (const name of ['-b', 'a/b', '$(x)', '']) expect(BUILDER_NAME.test(name)).toBe(false);
  });
});
