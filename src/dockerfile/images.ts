import { normaliseDistro } from '../compat/distro.js';

/** What a base image reference tells us, from its name and tag alone (the registry is never queried). */
export type ImageFamily =
  'nvidia-cuda' | 'pytorch' | 'ngc-pytorch' | 'aws-dlc' | 'python' | 'ubuntu' | 'debian' | 'conda' | 'other';

export interface ImageFacts {
  ref: string;
  registry: string | null;
  repository: string;
  tag: string | null;
  digest: string | null;
  family: ImageFamily;
  /** CUDA toolkit in the image: 'X.Y.Z' or 'X.Y'; null when unknown or none. */
  cuda: string | null;
  /** False when the image is known to have no CUDA (python:, ubuntu:, a CPU DLC); null when unknown. */
  hasCuda: boolean | null;
  cudnn: string | null;
  /** Distribution key for DISTRO_PYTHON ('ubuntu22.04'). */
  distro: string | null;
  python: string | null;
  /** torch in the image: true / false / null (unknown). */
  hasTorch: boolean | null;
  torchVersion: string | null;
  /** Whether torchvision/torchaudio ship with torch in this image family. */
  hasCompanions: boolean;
  /** nvidia/cuda flavor (base|runtime|devel) or pytorch/pytorch flavor. */
  flavor: string | null;
  /** Where the facts come from, for the `stack`. */
  notes: string[];
}

export function splitImageRef(ref: string): {
  registry: string | null;
  repository: string;
  tag: string | null;
  digest: string | null;
} {
  let rest = ref;
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let registry: string | null = null;
  const slash = rest.indexOf('/');
  if (slash !== -1) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first;
      rest = rest.slice(slash + 1);
    }
  }
  let tag: string | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon !== -1 && !rest.slice(colon).includes('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const repository = registry === null || registry === 'docker.io' ? rest.replace(/^library\//, '') : rest;
  return { registry, repository, tag, digest };
}

export const NVIDIA_CUDA_TAG = /^(\d+)\.(\d+)(?:\.(\d+))?-(?:(cudnn\d*)-)?([a-z]+)-([a-z0-9.]+)$/;
export const PYTORCH_TAG = /^(\d+\.\d+(?:\.\d+)?)-cuda(\d+\.\d+)-cudnn(\d+)-(runtime|devel)$/;
const PYTORCH_CPU_TAG = /^(\d+\.\d+\.\d+)-runtime$/;
const DLC_TAG = /^(\d+\.\d+(?:\.\d+)?)-(gpu|cpu)-py(\d)(\d+)(?:-cu(\d+))?(?:-(ubuntu\d+\.\d+))?/;
const NGC_TAG = /^(\d\d)\.(\d\d)-py3/;

export function imageFacts(ref: string): ImageFacts {
  const { registry, repository, tag, digest } = splitImageRef(ref);
  const facts: ImageFacts = {
    ref,
    registry,
    repository,
    tag,
    digest,
    family: 'other',
    cuda: null,
    hasCuda: null,
    cudnn: null,
    distro: null,
    python: null,
    hasTorch: null,
    torchVersion: null,
    hasCompanions: false,
    flavor: null,
    notes: [],
  };
  const repo = repository.toLowerCase();
  const tagText = tag ?? 'latest';
  const dockerHub = registry === null || registry === 'docker.io';

  if (repo === 'nvidia/cuda' && (dockerHub || registry === 'nvcr.io')) {
    facts.family = 'nvidia-cuda';
    facts.hasCuda = true;
    facts.hasTorch = false;
    const match = NVIDIA_CUDA_TAG.exec(tagText);
    if (match) {
      const [, major, minor, patch, cudnn, flavor, os] = match as unknown as [
        string,
        string,
        string,
        string | undefined,
        string | undefined,
        string,
        string,
      ];
      facts.cuda = patch === undefined ? `${major}.${minor}` : `${major}.${minor}.${patch}`;
      facts.cudnn = cudnn ? (cudnn === 'cudnn' ? 'cudnn (unversioned)' : cudnn.replace('cudnn', '')) : null;
      facts.flavor = flavor;
      facts.distro = normaliseDistro(os);
    }
    facts.notes.push('nvidia/cuda images ship no Python');
    return facts;
  }
  if ((repo === 'pytorch/pytorch' && dockerHub) || /^pytorch\/pytorch(-nightly|-test)?$/.test(repo)) {
    facts.family = 'pytorch';
    facts.hasTorch = true;
    facts.hasCompanions = true;
    const match = PYTORCH_TAG.exec(tagText);
    if (match) {
      facts.torchVersion = match[1]!;
      facts.cuda = match[2]!;
      facts.hasCuda = true;
      facts.cudnn = match[3]!;
      facts.flavor = match[4]!;
    } else {
      const cpu = PYTORCH_CPU_TAG.exec(tagText);
      if (cpu) {
        facts.torchVersion = cpu[1]!;
        facts.flavor = 'runtime';
        facts.hasCuda = false;
      }
    }
    facts.notes.push(
      'pytorch/pytorch images include torch, torchvision and torchaudio; their Python is not documented',
    );
    return facts;
  }
  if (registry === 'nvcr.io' && repo === 'nvidia/pytorch') {
    facts.family = 'ngc-pytorch';
    facts.hasTorch = true;
    facts.hasCompanions = true;
    facts.hasCuda = true;
    if (NGC_TAG.exec(tagText))
      facts.notes.push('NGC tags do not state the CUDA or torch version (NVIDIA builds its own torch)');
    return facts;
  }
  if (
    /(^|\/)pytorch-(training|inference)(-[a-z]+)?$/.test(repo) &&
    (registry?.includes('.ecr.') || registry === 'public.ecr.aws')
  ) {
    facts.family = 'aws-dlc';
    facts.hasTorch = true;
    facts.hasCompanions = true;
    const match = DLC_TAG.exec(tagText);
    if (match) {
      facts.torchVersion = match[1]!;
      facts.hasCuda = match[2] === 'gpu';
      facts.python = `${match[3]}.${match[4]}`;
      if (match[5]) facts.cuda = `${match[5].slice(0, -1)}.${match[5].slice(-1)}`;
      if (match[6]) facts.distro = normaliseDistro(match[6]);
    }
    return facts;
  }
  if (repo === 'python' && dockerHub) {
    facts.family = 'python';
    facts.hasTorch = false;
    facts.hasCuda = false;
    const match = /^(\d+\.\d+)(?:\.(\d+))?/.exec(tagText);
    if (match) facts.python = match[2] === undefined ? match[1]! : `${match[1]}.${match[2]}`;
    facts.distro = normaliseDistro(tagText);
    return facts;
  }
  if ((repo === 'ubuntu' || repo === 'debian') && dockerHub) {
    facts.family = repo;
    facts.hasTorch = false;
    facts.hasCuda = false;
    facts.distro = normaliseDistro(`${repo}:${tagText}`);
    return facts;
  }
  if (/^(continuumio\/(mini|ana)conda3?|condaforge\/(miniforge3|mambaforge)|mambaorg\/micromamba)$/.test(repo)) {
    facts.family = 'conda';
    facts.hasTorch = false;
    facts.hasCuda = false;
    return facts;
  }
  return facts;
}
