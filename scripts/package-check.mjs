// Packs the npm tarball, installs it into a temporary prefix with its dependencies from the registry (as
// `npx -y docker-image-builder-mcp` would), and checks it: no install-time scripts, the bin starts, and the MCP
// Inspector CLI lists the tools through the installed bin.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const work = mkdtempSync(path.join(os.tmpdir(), 'dib-package-'));
const npm = (args, cwd = root) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'inherit'] });

try {
  const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', work]));
  const tarball = path.join(work, packed.filename);
  console.log(`packed ${packed.filename}: ${packed.entryCount} files, ${Math.round(packed.size / 1024)} KiB`);
  const prefix = path.join(work, 'prefix');
  npm(['install', '--prefix', prefix, '--no-audit', '--no-fund', '--omit=dev', tarball]);
  const installed = path.join(prefix, 'node_modules', 'docker-image-builder-mcp');
  const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8'));
  const installTime = ['preinstall', 'install', 'postinstall', 'prepare'].filter((name) => manifest.scripts?.[name]);
  if (installTime.length > 0) throw new Error(`the tarball has install-time scripts: ${installTime.join(', ')}`);
  const bin = path.join(prefix, 'node_modules', '.bin', 'docker-image-builder');
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 }).trim();
  console.log(`installed bin answers --version: ${version}`);
  execFileSync(process.execPath, [path.join(root, 'scripts', 'inspector-check.mjs'), bin], {
    stdio: 'inherit',
    timeout: 120_000,
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}
