import { MAX_LOG_CHARS } from '../diagnosis/limits.js';
import { defineInputs } from './define.js';
import { text } from './field.js';
import { patterns } from './patterns.js';

/** The CLI's `diagnose` takes `--log FILE|-` and `--dockerfile PATH` instead (src/cli/diagnose-command.ts). */
const CLI_NOTE = { none: 'the CLI reads `--log FILE|-` and `--dockerfile PATH`' } as const;

export const diagnoseBuildLogInputs = defineInputs('diagnose_build_log', undefined, {
  log: text({
    min: 1,
    max: MAX_LOG_CHARS,
    description: 'The log text: a build log, docker run output or a pasted fragment. Give this or log_file.',
    cli: CLI_NOTE,
  }),
  log_file: text({
    min: 1,
    pattern: patterns.path,
    description:
      'Path of a log file to read instead (e.g. log_file from build_image); large files are read from the end.',
    cli: CLI_NOTE,
  }),
  dockerfile: text({
    min: 1,
    max: 1_000_000,
    description: 'The Dockerfile text, to map the failure to its line and compute edits. Give this or dockerfile_path.',
    cli: CLI_NOTE,
  }),
  dockerfile_path: text({
    min: 1,
    pattern: patterns.path,
    description: 'Path of the Dockerfile to read instead of dockerfile.',
    cli: CLI_NOTE,
  }),
});
