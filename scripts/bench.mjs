// `npm run bench`: every performance claim of the project, measured side by side against its baseline.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { benchStartup } from './bench/startup.mjs';

const root = path.resolve(import.meta.dirname, '..');
await benchStartup();
if (existsSync(path.join(root, 'scripts', 'bench-analyze.mjs')) && existsSync(path.join(root, 'dist', 'dockerfile'))) {
  await import('./bench-analyze.mjs');
}
