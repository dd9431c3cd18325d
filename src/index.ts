#!/usr/bin/env node
// Entry point: no arguments (or `serve`) speaks MCP on stdio; anything else is the CLI.
// Modules load lazily so the server path never pays for the CLI parser and vice versa.
const args = process.argv.slice(2);
const serve = args.length === 0 || args[0] === 'serve';
if (serve) {
  const { runStdioServer } = await import('./stdio.js');
  await runStdioServer();
} else {
  const { runCli } = await import('./cli/program.js');
  process.exitCode = await runCli(process.argv);
}
