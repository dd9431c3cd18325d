// Validates the Claude Code plugin and its marketplace (.claude-plugin/) with Claude Code's own validator,
// `claude plugin validate --strict`. Claude Code is installed into a temporary prefix for the check (it is large and
// no part of the product needs it).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const prefix = mkdtempSync(path.join(os.tmpdir(), 'dib-claude-code-'));
try {
  execFileSync('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '@anthropic-ai/claude-code@^2'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 300_000,
  });
  const claude = path.join(prefix, 'node_modules', '.bin', 'claude');
  const version = execFileSync(claude, ['--version'], { encoding: 'utf8', timeout: 60_000 }).trim();
  console.log(`validating with ${version}`);
  for (const manifest of ['.claude-plugin/plugin.json', '.claude-plugin/marketplace.json']) {
    execFileSync(claude, ['plugin', 'validate', '--strict', path.join(root, manifest)], {
      stdio: 'inherit',
      timeout: 60_000,
      env: { ...process.env, HOME: prefix, DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
    });
  }
} finally {
  rmSync(prefix, { recursive: true, force: true });
}
