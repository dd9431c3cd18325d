// analyze_dockerfile over MCP (stdio round trip through a running server) against the same analysis in-process,
// on each corpus Dockerfile copied alone into a temporary context.
import { copyFileSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { analyzeDockerfile } from '../../dist/dockerfile/index.js';
import { connect, median, root } from './mcp-client.mjs';

export async function benchAnalyzeOverMcp(runs = Number(process.env.BENCH_RUNS ?? 15)) {
  const corpus = path.resolve(root, '..', 'shared', 'corpus', 'dockerfiles');
  if (!existsSync(corpus)) return console.log('\n(analyze over MCP: corpus not found, skipped)');
  const dockerfiles = readdirSync(corpus).filter((file) => /(Dockerfile|dockerfile)$/.test(file));
  const contexts = dockerfiles.map((file) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dib-bench-'));
    copyFileSync(path.join(corpus, file), path.join(dir, 'Dockerfile'));
    return dir;
  });
  const client = await connect();
  const inProcess = [];
  const overMcp = [];
  for (const context of contexts) {
    await analyzeDockerfile({ context });
    await client.callTool({ name: 'analyze_dockerfile', arguments: { context } });
    const local = [];
    const remote = [];
    for (let run = 0; run < runs; run++) {
      let started = performance.now();
      await analyzeDockerfile({ context });
      local.push(performance.now() - started);
      started = performance.now();
      await client.callTool({ name: 'analyze_dockerfile', arguments: { context } });
      remote.push(performance.now() - started);
    }
    inProcess.push(median(local));
    overMcp.push(median(remote));
  }
  await client.close();
  console.log(
    `\nanalyze_dockerfile on ${contexts.length} corpus Dockerfiles (${runs} alternating runs each; median of per-file medians)`,
  );
  console.log('| path | median ms | slowest file ms |');
  console.log('| --- | ---: | ---: |');
  console.log(
    `| in-process (analyzeDockerfile, reads the file) | ${median(inProcess).toFixed(2)} | ${Math.max(...inProcess).toFixed(2)} |`,
  );
  console.log(
    `| over MCP (tools/call round trip on stdio) | ${median(overMcp).toFixed(2)} | ${Math.max(...overMcp).toFixed(2)} |`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await benchAnalyzeOverMcp();
