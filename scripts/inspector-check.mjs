// Runs the MCP Inspector CLI against the server and checks what an agent would see in tools/list. The server is the
// built dist/index.js, or the command given as arguments (e.g. the bin of the installed tarball).
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const inspector = path.join(root, 'node_modules', '.bin', 'mcp-inspector');
const command =
  process.argv.length > 2 ? process.argv.slice(2) : [process.execPath, path.join(root, 'dist', 'index.js')];

const output = execFileSync(inspector, ['--cli', ...command, '--method', 'tools/list'], {
  encoding: 'utf8',
  timeout: 60_000,
});
const { tools } = JSON.parse(output);
const problems = [];
const detect = tools.find((tool) => tool.name === 'detect_environment');
if (!detect) problems.push('detect_environment is not listed');
else {
  if (detect.annotations?.readOnlyHint !== true) problems.push('detect_environment lacks readOnlyHint: true');
  if (!detect.inputSchema?.properties) problems.push('detect_environment has no input schema');
  if (!detect.outputSchema?.properties) problems.push('detect_environment has no output schema');
}
for (const tool of tools) {
  console.log(`${tool.name.padEnd(22)} ${tool.title ?? ''}  annotations=${JSON.stringify(tool.annotations ?? {})}`);
}
if (problems.length > 0) {
  console.error(`Inspector check failed:\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log(`Inspector CLI listed ${tools.length} tool(s) with schemas and annotations.`);
