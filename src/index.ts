#!/usr/bin/env node
// Entry point: no arguments (or `serve`) speaks MCP on stdio; the worker command runs one build in its own process;
// anything else is the CLI. Modules load lazily so each path pays only for what it uses.
// The AWS SDK warns on every run that releases after January 2027 will need Node 22. That concerns whoever upgrades
// this package's SDK, not the user running it (Node 20 is supported, see `engines`), so it stays off stderr unless
// the user set the SDK's own switch.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
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
