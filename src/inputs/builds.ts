import { defineInputs, type InputOf } from './define.js';
import { int, number, text } from './field.js';

/** Long-poll limit for get_build_status: below common 60 s client request timeouts. */
export const MAX_WAIT_SECONDS = 50;

const buildId = text({
  min: 1,
  max: 128,
  pattern: {
    regex: /^[A-Za-z0-9][A-Za-z0-9._:-]*$/,
    looksLike: 'a build id looks like "local-20261129T101500-a1b2c3"',
  },
  required: true,
  description: 'The build_id returned by build_image (or listed by list_builds).',
  cli: { argument: '<build-id>', help: 'build id printed by `build`' },
});

export const getBuildStatusInputs = defineInputs('get_build_status', 'status', {
  build_id: buildId,
  tail_lines: int({
    min: 0,
    max: 500,
    default: 40,
    description: 'How many of the last build-log lines to include (the full log is in record.log_file).',
    cli: { flag: '--tail-lines', value: '<n>', help: 'log lines to include' },
  }),
  wait_seconds: number({
    min: 0,
    max: MAX_WAIT_SECONDS,
    default: 0,
    description: `Wait up to this many seconds for the status or phase to change (0 answers at once; max ${MAX_WAIT_SECONDS}).`,
    cli: { flag: '--wait-seconds', value: '<seconds>', help: 'wait up to this long for the status or phase to change' },
  }),
});

export const cancelBuildInputs = defineInputs('cancel_build', 'cancel', {
  build_id: { ...buildId, cli: { argument: '<build-id>', help: 'build id' } },
});

export const listBuildsInputs = defineInputs('list_builds', undefined, {
  limit: int({
    min: 1,
    max: 100,
    default: 10,
    description: 'How many builds to list.',
    cli: { none: 'the CLI has no list command yet; build prints each build id' },
  }),
});

export type GetBuildStatusInput = InputOf<typeof getBuildStatusInputs>;
export type CancelBuildInput = InputOf<typeof cancelBuildInputs>;
export type ListBuildsInput = InputOf<typeof listBuildsInputs>;
