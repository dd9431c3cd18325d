// The product's build overhead on each engine, side by side with the engine's own command on the same small
// Dockerfile: build_image over MCP (analysis, build, image inspect, record; no smoke test) against raw
// `docker build` (host engine, legacy builder, as the product runs it there) and raw `docker buildx build` (modern
// engine, as the product drives it there). Cached and --no-cache, alternating runs so both see the same cache and
// machine load, medians of BENCH_RUNS (default 5). Needs the provisioned engines; an engine that does not answer is
// reported and skipped. Run alone: `node scripts/bench/engine-overhead.mjs` (after `npm run build`).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, median } from './mcp-client.mjs';

const BASE = process.env.DIB_TEST_BASE_IMAGE ?? 'dib-test/debian:bookworm';
const PROVISION_DIR = process.env.DIB_PROVISION_DIR ?? '/var/tmp/docker-image-builder-provision';
const MODERN_ENV_FILE = process.env.DIB_MODERN_ENV_FILE ?? path.join(PROVISION_DIR, 'modern', 'env.json');
const TAG = `dib-bench-engine-${process.pid}`;

/** The engines as tests/support/engines.ts finds them: the host's, and the modern one from its env file. */
function engines() {
  const list = [{ name: 'host', env: {}, raw: 'docker build', rawArgs: ['build'], rawEnv: { DOCKER_BUILDKIT: '0' } }];
  if (existsSync(MODERN_ENV_FILE)) {
    const modern = JSON.parse(readFileSync(MODERN_ENV_FILE, 'utf8'));
    list.push({
      name: 'modern',
      env: { DOCKER_HOST: modern.dockerHost, DOCKER_CONFIG: modern.dockerConfig },
      raw: 'docker buildx build',
      rawArgs: ['buildx', 'build'],
      rawEnv: {},
    });
  }
  return list;
}

function docker(engine, args, extraEnv = {}) {
  return execFileSync('docker', args, {
    env: { ...process.env, ...engine.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 64 * 1024 * 1024,
  });
}

function answers(engine) {
  try {
    docker(engine, ['image', 'inspect', BASE]);
    return true;
  } catch (error) {
    console.log(`\n(${engine.name} engine: ${String(error.stderr || error.message).split('\n')[0]}; skipped)`);
    return false;
  }
}

function smallContext() {
  const context = mkdtempSync(path.join(os.tmpdir(), 'dib-bench-engine-'));
  writeFileSync(path.join(context, 'app.txt'), 'bench\n');
  writeFileSync(
    path.join(context, 'Dockerfile'),
    `FROM ${BASE}\nCOPY app.txt /app/app.txt\nRUN cat /app/app.txt > /app/copy.txt\nCMD ["cat", "/app/copy.txt"]\n`,
  );
  return context;
}

async function timed(action) {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

/** Alternating raw and tool builds of one engine, one cache mode; the first pair is a warm-up, not counted. */
async function measure(engine, client, context, noCache, runs) {
  const raw = () =>
    docker(engine, [...engine.rawArgs, ...(noCache ? ['--no-cache'] : []), '-t', `${TAG}:raw`, context], engine.rawEnv);
  const tool = async () => {
    const result = await client.callTool(
      { name: 'build_image', arguments: { context, image_name: TAG, smoke_test: false, no_cache: noCache } },
      undefined,
      { timeout: 300_000 },
    );
    if (result.isError) throw new Error(`build_image failed on ${engine.name}: ${JSON.stringify(result.content)}`);
  };
  await timed(raw);
  await timed(tool);
  const rawTimes = [];
  const toolTimes = [];
  for (let run = 0; run < runs; run++) {
    rawTimes.push(await timed(raw));
    toolTimes.push(await timed(tool));
  }
  return { rawTimes, toolTimes };
}

const ms = (value) => value.toFixed(0);
const spread = (values) => `${ms(Math.min(...values))}–${ms(Math.max(...values))}`;

export async function benchEngineOverhead(runs = Number(process.env.BENCH_RUNS ?? 5)) {
  const rows = [];
  for (const engine of engines()) {
    if (!answers(engine)) continue;
    const context = smallContext();
    const state = mkdtempSync(path.join(os.tmpdir(), 'dib-bench-engine-state-'));
    const client = await connect({ ...engine.env, DIB_STATE_DIR: state });
    try {
      for (const noCache of [false, true]) {
        const { rawTimes, toolTimes } = await measure(engine, client, context, noCache, runs);
        rows.push({ engine, noCache, rawTimes, toolTimes });
      }
    } finally {
      await client.close();
      try {
        docker(engine, ['image', 'rm', '-f', `${TAG}:raw`, `${TAG}:latest`]);
      } catch {
        // already gone
      }
    }
  }
  if (rows.length === 0) return;
  console.log(`\nBuild overhead per engine (small Dockerfile; ${runs} alternating runs each, after one warm-up pair)`);
  console.log(
    '| engine | cache | raw command | raw median ms (min–max) | build_image median ms (min–max) | overhead |',
  );
  console.log('| --- | --- | --- | ---: | ---: | ---: |');
  for (const { engine, noCache, rawTimes, toolTimes } of rows) {
    const overhead = median(toolTimes) - median(rawTimes);
    console.log(
      `| ${engine.name} | ${noCache ? 'no-cache' : 'cached'} | ${engine.raw} | ${ms(median(rawTimes))} (${spread(rawTimes)}) | ` +
        `${ms(median(toolTimes))} (${spread(toolTimes)}) | ${ms(overhead)} ms (${((overhead / median(rawTimes)) * 100).toFixed(0)}%) |`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchEngineOverhead();
