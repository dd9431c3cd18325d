import {
  cudaToVariant,
  isNewerThanKnown,
  latestCudaPatch,
  nvidiaCudnnSpelling,
  NVIDIA_CUDA_FLAVORS,
  NVIDIA_CUDA_OS_RULES,
  parseVersion,
  torchRelease,
  variantToCuda,
} from '../../compat/index.js';
import { NVIDIA_CUDA_TAG, PYTORCH_TAG, type ImageFacts } from '../images.js';
import type { Stage } from '../model.js';
import { spanOf, type Position } from '../text.js';
import { compareTuple, pickClosest } from './support.js';
import type { DockerfileRule, Edit, RawFinding, RuleRun, Severity } from './types.js';

/** base-tag-invalid: base image tags that do not exist (nvidia/cuda, pytorch/pytorch); notes FROMs without values. */
export const baseTagsRule: DockerfileRule = {
  name: 'base-tag-invalid',
  checkModel: (run) => {
    const { model } = run;

    for (const stage of model.stages) {
      if (stage.facts) checkBaseTag(run, stage, stage.facts);
      if (!stage.parent && stage.unresolvedArgs.length > 0) {
        model.notes.push(
          `FROM on line ${stage.line} uses ${stage.unresolvedArgs.map((name) => `$${name}`).join(', ')} without a value; pass build_args to analyse the base image`,
        );
      }
    }
  },
};

type Invalid = (severity: Severity, message: string, evidence: string[], fix?: RawFinding['fix']) => void;

interface NvidiaTagParts {
  major: string;
  minor: string;
  patch: string;
  cudnn: string;
  flavor: string;
  os: string;
  version: [number, number, number];
}

function checkBaseTag(run: RuleRun, stage: Stage, facts: ImageFacts): void {
  const position: Position = { file: run.dockerfile, line: stage.line, column: 1 };
  const invalid: Invalid = (severity, message, evidence, fix) =>
    run.add({ category: 'base-tag-invalid', severity, position, message, evidence, fix });
  if (facts.family === 'nvidia-cuda') checkNvidiaTag(stage, facts, invalid);
  else if (facts.family === 'pytorch' && facts.tag && /^\d+\.\d+(\.\d+)?-cuda/.test(facts.tag))
    checkPytorchTag(stage, facts.tag, invalid);
}

/** nvidia/cuda:{X.Y.Z}-[cudnn-]{base|runtime|devel}-{os}: format, flavors, cuDNN spelling, OS ranges. */
function checkNvidiaTag(stage: Stage, facts: ImageFacts, invalid: Invalid): void {
  const tag = facts.tag;
  if (!tag || tag === 'latest') {
    invalid(
      'error',
      `nvidia/cuda has no "latest" tag: pulling ${facts.ref} fails with "manifest unknown". Name a version, e.g. nvidia/cuda:12.8.1-runtime-ubuntu24.04.`,
      ['S-NV-README: the "latest" tag is deprecated'],
    );
    return;
  }
  const match = NVIDIA_CUDA_TAG.exec(tag);
  if (!match) {
    invalid(
      'error',
      `nvidia/cuda:${tag} does not follow NVIDIA's tag format {X.Y.Z}-[cudnn-]{base|runtime|devel}-{os}; the pull fails with "not found".`,
      ['S-NV-TAGS tag format'],
    );
    return;
  }
  const [, major, minor, patch, cudnn, flavor, os] = match as unknown as [
    string,
    string,
    string,
    string | undefined,
    string | undefined,
    string,
    string,
  ];
  if (!NVIDIA_CUDA_FLAVORS.includes(flavor as (typeof NVIDIA_CUDA_FLAVORS)[number])) {
    invalid(
      'error',
      `"${flavor}" is not an nvidia/cuda flavor (base, runtime or devel): nvidia/cuda:${tag} does not exist.`,
      ['S-NV-TAGS / container-wiki flavors'],
    );
    return;
  }
  if (patch === undefined) {
    nvidiaWithoutPatch(stage, tag, major, minor, cudnn, invalid);
    return;
  }
  const version: [number, number, number] = [Number(major), Number(minor), Number(patch)];
  if (cudnn && nvidiaCudnnInvalid(stage, tag, { major, minor, patch, cudnn, flavor, os, version }, invalid)) return;
  if (os.startsWith('ubuntu24') && compareTuple(version, NVIDIA_CUDA_OS_RULES.ubuntu2404From) < 0) {
    invalid(
      'error',
      `Ubuntu 24.04 nvidia/cuda images start with CUDA 12.5.1; nvidia/cuda:${tag} does not exist. Use ubuntu22.04 with CUDA ${version.join('.')}, or CUDA 12.5.1+.`,
      ['S-NV-README: "CUDA 12.5.1 brings support for Ubuntu 24.04 images"'],
    );
    return;
  }
  if (
    (os.startsWith('centos7') || os.startsWith('ubi7')) &&
    compareTuple(version, NVIDIA_CUDA_OS_RULES.centos7Until) > 0
  ) {
    invalid('error', `CentOS 7 / UBI 7 nvidia/cuda images stop at CUDA 12.4.0; nvidia/cuda:${tag} does not exist.`, [
      'S-NV-README',
    ]);
  }
  return;
}

/** nvidia/cuda:X.Y-...: NVIDIA tags carry the patch version. */
function nvidiaWithoutPatch(
  stage: Stage,
  tag: string,
  major: string,
  minor: string,
  cudnn: string | undefined,
  invalid: Invalid,
): void {
  const full = latestCudaPatch(`${major}.${minor}`);
  const versionSpan = spanOf(
    stage.image,
    stage.image.text.lastIndexOf(':') + 1,
    stage.image.text.lastIndexOf(':') + 1 + `${major}.${minor}`.length,
  );
  invalid(
    'warning',
    `nvidia/cuda:${tag} has no patch version. NVIDIA's supported tags are {X.Y.Z}-...; a ${major}.${minor}-... tag is not in that list, so the pull most likely fails with "not found".`,
    ['S-NV-TAGS tag format {X.Y.Z}-{base|runtime|devel}-{os}'],
    full && versionSpan && !cudnn
      ? {
          description: `Use the full version ${full}.`,
          edits: [{ span: versionSpan, text: full }],
          alternatives: [],
        }
      : full
        ? { description: `Use the full version, e.g. ${full}.`, edits: [], alternatives: [] }
        : undefined,
  );
}

/** The cuDNN part of an nvidia/cuda tag; true when it reported the tag. */
function nvidiaCudnnInvalid(stage: Stage, tag: string, parts: NvidiaTagParts, invalid: Invalid): boolean {
  const { major, minor, patch, cudnn, flavor, os, version } = parts;
  if (flavor === 'base') {
    invalid('error', `nvidia/cuda has cuDNN images only for runtime and devel; nvidia/cuda:${tag} does not exist.`, [
      'S-NV-TAGS',
    ]);
    return true;
  }
  const spelling = nvidiaCudnnSpelling(version);
  const knownBad = version.join('.') === '12.4.0' && cudnn === 'cudnn8';
  if ((spelling && spelling !== cudnn) || knownBad) {
    const fixVersion = knownBad ? '12.4.1' : null;
    const fixSpelling = knownBad ? 'cudnn' : spelling!;
    const colon = stage.image.text.lastIndexOf(':');
    const cudnnAt = stage.image.text.indexOf(`-${cudnn}-`, colon);
    const edits: Edit[] = [];
    const cudnnSpan = cudnnAt === -1 ? null : spanOf(stage.image, cudnnAt + 1, cudnnAt + 1 + cudnn.length);
    const versionSpan = spanOf(stage.image, colon + 1, colon + 1 + `${major}.${minor}.${patch}`.length);
    if (cudnnSpan) edits.push({ span: cudnnSpan, text: fixSpelling });
    if (fixVersion && versionSpan) edits.push({ span: versionSpan, text: fixVersion });
    const ok = edits.length === (fixVersion ? 2 : 1);
    invalid(
      'error',
      `nvidia/cuda ${major}.${minor}.${patch} images spell cuDNN as "-${spelling ?? 'cudnn'}-"${knownBad ? ' (12.4.0-cudnn8 was never published)' : ''}, so nvidia/cuda:${tag} does not exist and the build stops at FROM with "not found".`,
      [
        'S-NV-TAGS: "-cudnn-" from 12.4.1, "-cudnn9-" for 12.3.2, "-cudnn8-" for 12.2.2 and earlier',
        ...(knownBad ? ['S-PR-125632'] : []),
      ],
      {
        description: `Use nvidia/cuda:${fixVersion ?? `${major}.${minor}.${patch}`}-${fixSpelling}-${flavor}-${os}.`,
        edits: ok ? edits : [],
        alternatives: [],
      },
    );
    return true;
  }
  if (os.startsWith('ubuntu24') && NVIDIA_CUDA_OS_RULES.noCudnnOnUbuntu2404.includes(version.join('.'))) {
    invalid(
      'error',
      `CUDA ${version.join('.')} on Ubuntu 24.04 has only base, runtime and devel images, no cuDNN: nvidia/cuda:${tag} does not exist.`,
      ['S-NV-TAGS'],
    );
    return true;
  }
  return false;
}

/** pytorch/pytorch:{torch}-cuda{X.Y}-cudnn{N}-{flavor}: the CUDA and cuDNN each torch release was published with. */
function checkPytorchTag(stage: Stage, tag: string, invalid: Invalid): void {
  const match = PYTORCH_TAG.exec(tag);
  if (!match) {
    invalid(
      'error',
      `pytorch/pytorch:${tag} does not follow the tag format {torch}-cuda{X.Y}-cudnn{N}-{runtime|devel}; the pull fails with "not found".`,
      ['S-TI-DK: f"{version}-cuda{cuda}-cudnn{cudnn}-{image}"'],
    );
    return;
  }
  const [, torchVersion, cuda, cudnnMajor, flavor] = match as unknown as [string, string, string, string, string];
  const parsed = parseVersion(torchVersion);
  if (!parsed || isNewerThanKnown('torch', parsed.minor)) return;
  const release = torchRelease(parsed.minor);
  if (!release) return;
  const colon = stage.image.text.lastIndexOf(':');
  if (release.dockerCuda && !release.dockerCuda.includes(cuda)) {
    const target = pickClosest(
      release.dockerCuda.map((value) => cudaToVariant(value)!),
      cuda,
    );
    const targetCuda = target ? variantToCuda(target) : null;
    const at = stage.image.text.indexOf(`-cuda${cuda}-`, colon);
    const span = at === -1 ? null : spanOf(stage.image, at + 5, at + 5 + cuda.length);
    invalid(
      'error',
      `torch ${parsed.minor} was never released with CUDA ${cuda}: there is no pytorch/pytorch:${tag} (torch ${parsed.minor} images: CUDA ${release.dockerCuda.join(', ')}).`,
      [`${release.dockerSource ?? 'S-TI-DK'}: expected tags per release CUDA list (S-TI-BM)`],
      targetCuda
        ? {
            description: `Use CUDA ${targetCuda}: pytorch/pytorch:${torchVersion}-cuda${targetCuda}-cudnn${release.dockerCudnn ?? cudnnMajor}-${flavor}.`,
            edits: span ? [{ span, text: targetCuda }] : [],
            alternatives: [],
          }
        : undefined,
    );
    return;
  }
  if (release.dockerCudnn && release.dockerCudnn !== cudnnMajor) {
    const at = stage.image.text.indexOf(`-cudnn${cudnnMajor}-`, colon);
    const span = at === -1 ? null : spanOf(stage.image, at + 6, at + 6 + cudnnMajor.length);
    invalid(
      'error',
      `pytorch/pytorch images for torch ${parsed.minor} use cuDNN ${release.dockerCudnn} (cudnn8 up to 2.3, cudnn9 from 2.4); pytorch/pytorch:${tag} does not exist.`,
      ['S-TI-BM CUDA_CUDNN_VERSIONS: "cudnn" "8" -> "9" at 2.4.0 (ac9a718ca)'],
      {
        description: `Use cudnn${release.dockerCudnn}.`,
        edits: span ? [{ span, text: release.dockerCudnn }] : [],
        alternatives: [],
      },
    );
  }
}
