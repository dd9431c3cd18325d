#!/usr/bin/env node
// Entry point: no arguments (or `serve`) speaks MCP on stdio; the worker command runs one build in its own process;
// anything else is the CLI. Modules load lazily so each path pays only for what it uses.
const args = process.argv.slice(2);
if (args.length === 0 || args[0] === 'serve') {
  const { runStdioServer } = await import('./stdio.js');
  await runStdioServer();
} else if (args[0] === '__build-worker') {
  const { workerMain } = await import('./builds/worker-main.js');
  process.exitCode = await workerMain(args[1]);
} else {
  const { runCli } = await import('./cli/program.js');
  process.exitCode = await runCli(process.argv);
}
