// `npm run bench`: every performance claim of the project, measured side by side against its baseline.
import { benchAnalyzeOverMcp } from './bench/analyze-mcp.mjs';
import { benchBuildOverhead } from './bench/build-overhead.mjs';
import { benchEngineOverhead } from './bench/engine-overhead.mjs';
import { benchPackaging } from './bench/packaging.mjs';
import { benchStartup } from './bench/startup.mjs';

await benchStartup();
await import('./bench-analyze.mjs');
await benchAnalyzeOverMcp();
await benchBuildOverhead();
await benchEngineOverhead();
await benchPackaging();
