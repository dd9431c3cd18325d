import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeDockerfile } from '../../../src/dockerfile/analyze.js';
import { analyze } from './helpers.js';

const mismatches = (result: ReturnType<typeof analyze>) =>
  result.findings.filter((finding) => finding.category === 'platform-mismatch');

describe('platform-mismatch: the platform guard', () => {
  it('flags FROM --platform of another platform than the build, as an error on the final stage', () => {
    const result = analyze(
      'FROM --platform=linux/amd64 debian:bookworm\nRUN true\n',
      {},
      { platforms: ['linux/arm64'] },
    );
    const [finding] = mismatches(result);
    expect(finding).toMatchObject({ severity: 'error', line: 1 });
    expect(finding!.message).toContain('makes the image linux/amd64, but the build targets linux/arm64');
    expect(finding!.fix?.description).toMatch(/Drop --platform/);
  });

  it('leaves FROM --platform=$BUILDPLATFORM (the cross-compile pattern) and a matching platform alone', () => {
    const dockerfile =
      'FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nRUN go version\n' +
      'FROM --platform=linux/arm64/v8 debian:bookworm\nCOPY --from=build /go /go\n';
    expect(mismatches(analyze(dockerfile, {}, { platforms: ['linux/arm64'] }))).toEqual([]);
  });

  it('warns about a build stage forced to another platform: its RUN steps run under emulation', () => {
    const dockerfile = 'FROM --platform=linux/amd64 debian:bookworm AS tools\nRUN true\nFROM debian:bookworm\n';
    const [finding] = mismatches(analyze(dockerfile, {}, { platforms: ['linux/arm64'] }));
    expect(finding).toMatchObject({ severity: 'warning', line: 1 });
    expect(finding!.message).toMatch(/runs as linux\/amd64 .* under emulation/);
  });

  it('flags a local base image whose platform (docker image inspect) is not the build platform', () => {
    const result = analyze(
      'FROM dib-test/debian:bookworm-arm64\nRUN true\n',
      {},
      { platforms: ['linux/amd64'], localImagePlatforms: { 'dib-test/debian:bookworm-arm64': 'linux/arm64' } },
    );
    const [finding] = mismatches(result);
    expect(finding).toMatchObject({ severity: 'error', line: 1 });
    expect(finding!.message).toContain('dib-test/debian:bookworm-arm64 is linux/arm64 (docker image inspect)');
    expect(finding!.message).toContain('exec format error');
  });

  it('checks each platform of a multi-platform build against the image its FROM names for it', () => {
    const local = { 'base:amd64': 'linux/amd64', 'base:arm64': 'linux/amd64' };
    const result = analyze(
      'FROM base:${TARGETARCH}\n',
      {},
      {
        platforms: ['linux/amd64', 'linux/arm64'],
        localImagePlatforms: local,
      },
    );
    const found = mismatches(result);
    // base:amd64 is right for amd64; base:arm64 is in fact an amd64 image, wrong for arm64.
    expect(found).toHaveLength(1);
    expect(found[0]!.message).toContain('base:arm64 is linux/amd64');
    expect(result.stack.platform).toBe('linux/amd64');
  });

  it('without a platform, a local base of another platform than the default is a warning', () => {
    const result = analyze('FROM base:arm\n', {}, { localImagePlatforms: { 'base:arm': 'linux/arm64' } });
    expect(mismatches(result)[0]).toMatchObject({ severity: 'warning' });
    expect(mismatches(result)[0]!.message).toContain('no platform given');
  });

  it('analyze_dockerfile asks for local image platforms only when a platform is given, for the FROM images', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dib-platform-rule-'));
    try {
      await writeFile(path.join(dir, 'Dockerfile'), 'FROM base:${TARGETARCH} AS b\nFROM scratch\nCOPY --from=b / /\n');
      const asked: string[][] = [];
      const inspect = async (refs: string[]) => {
        asked.push(refs);
        return { 'base:arm64': 'linux/amd64' };
      };
      const without = await analyzeDockerfile({ context: dir, inspectImagePlatforms: inspect });
      expect(asked).toEqual([]);
      expect(mismatches(without)).toEqual([]);
      const result = await analyzeDockerfile({
        context: dir,
        platforms: 'linux/amd64,linux/arm64',
        inspectImagePlatforms: inspect,
      });
      expect(asked).toEqual([['base:amd64', 'base:arm64']]);
      expect(mismatches(result)).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
