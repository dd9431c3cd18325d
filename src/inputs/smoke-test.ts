import type { SmokeTestInput } from '../build-model/smoke-schema.js';
import { defineInputs, type InputOf } from './define.js';
import { bool, list, number, oneOf, text } from './field.js';
import { patterns } from './patterns.js';

export const smokeTestInputs = defineInputs('smoke_test', 'smoke-test', {
  image: text({
    min: 1,
    pattern: patterns.imageReference,
    required: true,
    description:
      'Image to test, as a local reference (e.g. "fsdp:latest", the image_name returned by build_image) or an ' +
      'image ID. It must already exist locally: the smoke test does not pull.',
    cli: { argument: '<image>', help: 'local image reference' },
  }),
  commands: list({
    maxItems: 20,
    pattern: patterns.command,
    description:
      'Extra shell commands to run inside the image, each in its own container with `sh -c`; each must exit 0. ' +
      'Example: ["python3 -c \\"import transformers\\"", "test -f /opt/app/train.py"].',
    cli: { flag: '--command', value: '<command>', help: 'command to run in the image (repeatable)' },
  }),
  gpu: oneOf(['auto', 'on', 'off'], {
    description:
      'auto (default): attach GPUs and run the CUDA checks only when Docker has an NVIDIA runtime; ' +
      'on: always attach GPUs (fails when Docker has none); off: never, CUDA checks are skipped.',
    cli: { flag: '--gpu', value: '<mode>', help: 'attach GPUs (default: auto, when Docker has a GPU runtime)' },
  }),
  pytorch: oneOf(['auto', 'on', 'off'], {
    description:
      'auto (default): run the PyTorch checks, reporting them as skipped when the image has no torch; ' +
      'on: a missing torch is a failure; off: only the start check and `commands`.',
    cli: { flag: '--pytorch', value: '<mode>', help: 'PyTorch checks (default: auto, skipped without torch)' },
  }),
  timeout_seconds: number({
    above: 0,
    max: 3_600,
    description:
      'Limit for each container (the start check, the PyTorch probe, each command); default 180. A container ' +
      'that runs longer is removed and its check fails.',
    cli: { flag: '--timeout', value: '<seconds>', help: 'limit per container in seconds (default 180)' },
  }),
  use_sudo: bool({
    default: false,
    description: 'Run docker through `sudo -n`.',
    cli: { flag: '--use-sudo', help: 'run docker through sudo -n' },
  }),
});

export type SmokeTestToolInput = InputOf<typeof smokeTestInputs>;

/** The smoke tester's input for a smoke_test input. */
export function toSmokeTestInput(input: SmokeTestToolInput): SmokeTestInput & { useSudo: boolean } {
  const { use_sudo, ...rest } = input;
  return { ...rest, useSudo: use_sudo };
}
