// Startup benchmark: spawn a server, answer initialize + tools/list, exit. Ours against
// @modelcontextprotocol/server-filesystem started the same way (node + its built entry), alternating runs.
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

const servers = [
  { name: 'docker-image-builder', args: [path.join(root, 'dist', 'index.js')] },
  {
    name: '@modelcontextprotocol/server-filesystem',
    args: [
      path.join(root, 'node_modules', '@modelcontextprotocol', 'server-filesystem', 'dist', 'index.js'),
      os.tmpdir(),
    ],
  },
];

function once(args) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'ignore'] });
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no answer from ${args[0]}`));
    }, 20_000);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes('"id":2')) {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        clearTimeout(timer);
        child.kill();
        resolve(ms);
      }
    });
    const send = (message) => child.stdin.write(`${JSON.stringify(message)}\n`);
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
    });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
  });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

export async function benchStartup(runs = Number(process.env.BENCH_RUNS ?? 15)) {
  const samples = new Map(servers.map((server) => [server.name, []]));
  for (const server of servers) await once(server.args); // warm the file cache for both
  for (let run = 0; run < runs; run++) {
    for (const server of servers) samples.get(server.name).push(await once(server.args));
  }
  console.log(`\nStartup: spawn -> initialize -> tools/list answered (${runs} alternating runs each)`);
  console.log('| server | median ms | min ms | max ms |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const [name, values] of samples) {
    console.log(
      `| ${name} | ${median(values).toFixed(1)} | ${Math.min(...values).toFixed(1)} | ${Math.max(...values).toFixed(1)} |`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchStartup();
