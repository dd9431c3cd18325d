// A cached rebuild through build_image (over MCP, no smoke test) against the same `docker build` run directly,
// alternating, so both see the same cache and machine load. Needs Docker and the provisioned base image.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, median, root } from './mcp-client.mjs';

function dockerAnswers() {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

export async function benchBuildOverhead(runs = Number(process.env.BENCH_RUNS ?? 9)) {
  // The FSDP example on the provisioned torch image: a PyTorch training image as users build it.
  const base = process.env.DIB_TEST_TORCH_IMAGE ?? 'dib-test/torch-cpu:trixie';
  if (!dockerAnswers()) return console.log('\n(build overhead: no Docker daemon, skipped)');
  const context = mkdtempSync(path.join(os.tmpdir(), 'dib-bench-build-'));
  cpSync(path.join(root, 'examples', 'fsdp'), context, { recursive: true });
  const dockerfile = readFileSync(path.join(context, 'Dockerfile'), 'utf8').replace(/^FROM .*$/m, `FROM ${base}`);
  writeFileSync(path.join(context, 'Dockerfile'), `${dockerfile}RUN python3 -c "import torch, torchvision"\n`);
  const direct = () => {
    const started = performance.now();
    // Same builder and arguments build_image uses here (DOCKER_BUILDKIT=0 with a CLI that has no buildx).
    execFileSync(
      'docker',
      ['build', '--force-rm', '-f', path.join(context, 'Dockerfile'), '-t', 'dib-bench:direct', context],
      {
        stdio: 'ignore',
        env: { ...process.env, DOCKER_BUILDKIT: '0' },
      },
    );
    return performance.now() - started;
  };
  const client = await connect({ DIB_STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'dib-bench-state-')) });
  const viaTool = async () => {
    const started = performance.now();
    const result = await client.callTool({
      name: 'build_image',
      arguments: { context, image_name: 'dib-bench', smoke_test: false },
    });
    if (result.isError) throw new Error(JSON.stringify(result.content));
    return performance.now() - started;
  };
  direct();
  await viaTool(); // warm the cache for both
  const directTimes = [];
  const toolTimes = [];
  for (let run = 0; run < runs; run++) {
    directTimes.push(direct());
    toolTimes.push(await viaTool());
  }
  await client.close();
  execFileSync('docker', ['image', 'rm', '-f', 'dib-bench:direct', 'dib-bench:latest'], { stdio: 'ignore' });
  const overheadMs = median(toolTimes) - median(directTimes);
  console.log(`\nCached rebuild (${runs} alternating runs each): build_image over MCP vs docker build directly`);
  console.log('| path | median ms | min ms | max ms |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(
    `| docker build (direct) | ${median(directTimes).toFixed(0)} | ${Math.min(...directTimes).toFixed(0)} | ${Math.max(...directTimes).toFixed(0)} |`,
  );
  console.log(
    `| build_image (MCP, analysis + build + record) | ${median(toolTimes).toFixed(0)} | ${Math.min(...toolTimes).toFixed(0)} | ${Math.max(...toolTimes).toFixed(0)} |`,
  );
  console.log(`overhead: ${overheadMs.toFixed(0)} ms (${((overheadMs / median(directTimes)) * 100).toFixed(1)}%)`);
}

if (import.meta.url === `file://${process.argv[1]}`) await benchBuildOverhead();
