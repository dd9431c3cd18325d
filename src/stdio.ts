import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { describeConfigProblem, readConfig } from './config.js';
import { createDefaultDeps } from './deps.js';
import { createServer } from './server.js';

/** Connects the server to stdin/stdout. stdout carries only the protocol; diagnostics go to stderr. */
export async function runStdioServer(): Promise<void> {
  // A bad setting must not stop the server: it is named on stderr (the client's server log) and its default used.
  const { config, problems } = readConfig(process.env);
  for (const problem of problems) process.stderr.write(`docker-image-builder: ${describeConfigProblem(problem)}\n`);
  const deps = createDefaultDeps(config, process.env);
  const server = createServer(deps);
  const transport = new StdioServerTransport();
  // Builds run in worker processes of their own: a client that closes, or a server that stops, leaves them running,
  // and any later server or CLI finds them by id. Only cancel_build (or cancelling the waiting request) stops one.
  const shutdown = async () => {
    await server.close().catch(() => undefined);
    process.exit(0);
  };
  process.stdin.on('end', shutdown);
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  await server.connect(transport);
}
