import { defineInputs, type InputOf } from './define.js';
import { MAX_PLATFORMS } from '../util/platforms.js';
import { bool, text, textOrList } from './field.js';
import { patterns } from './patterns.js';
import { sourceFields } from './source-fields.js';

export const analyzeDockerfileInputs = defineInputs('analyze_dockerfile', 'analyze', {
  context: sourceFields.context,
  dockerfile: sourceFields.dockerfile,
  build_args: sourceFields.build_args,
  target_gpu: text({
    min: 1,
    description:
      'GPU the image must run on, as sm_XX (e.g. "sm_120"), a compute capability ("9.0") or a name ("H100", "B200", "RTX 5090").',
    cli: { flag: '--target-gpu', value: '<gpu>', help: 'GPU to check kernels for: sm_120, 9.0, H100, B200 ...' },
  }),
  base_image: sourceFields.base_image,
  platform: textOrList({
    maxItems: MAX_PLATFORMS,
    pattern: patterns.platforms,
    description:
      'The platform(s) the image will be built for, as build_image takes them ("linux/arm64", "linux/amd64,linux/arm64" or a list): flags a FROM --platform or a local base image (docker image inspect) of another platform.',
    cli: {
      flag: '--platform',
      value: '<platforms>',
      help: 'platform(s) the image is for: flags base images of another platform (repeatable)',
    },
  }),
  fix: bool({
    default: false,
    description: 'Also return fixed file texts and unified diffs (nothing is written).',
    cli: { flag: '--fix', help: 'include fixed file texts and diffs' },
  }),
  write: bool({
    default: false,
    description: 'Write the fixes into the files (implies fix), atomically, each after a .bak backup.',
    cli: { flag: '--write', help: 'write the fixes into the files (atomically, with a .bak backup)' },
  }),
  force_write: bool({
    default: false,
    description: 'With write: also write files that are read-only (no write permission); refused otherwise.',
    cli: { flag: '--force-write', help: 'with --write, also write read-only files' },
  }),
});

export type AnalyzeDockerfileInput = InputOf<typeof analyzeDockerfileInputs>;

/** The analyser's options for an analyze_dockerfile input (the tool and `analyze` both call it). */
export function toAnalyzeOptions(input: AnalyzeDockerfileInput) {
  return {
    platforms: input.platform,
    context: input.context,
    dockerfile: input.dockerfile,
    buildArgs: input.build_args,
    targetGpu: input.target_gpu,
    baseImage: input.base_image,
    fix: input.fix,
    write: input.write,
    forceWrite: input.force_write,
  };
}
