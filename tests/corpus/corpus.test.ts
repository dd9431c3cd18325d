import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyzeSources, type AnalysisResult } from '../../src/dockerfile/index.js';

/**
 * Every Dockerfile of ../shared/corpus/dockerfiles is analysed (with the files it copies in as its build context)
 * and checked against what a maintainer of that project should agree with. The table says, per file, which
 * categories must be reported (all others must not) and why.
 *
 * The corpus stores companion files flattened (`NN_owner__repo__dir__file`); a context path is found by suffix.
 * 33 (pytorch/pytorch) COPYs the repo's own build requirements.txt, which exists upstream but is not stored in the
 * corpus: an empty stand-in keeps that fact straight.
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const corpusDir = path.resolve(repoRoot, '..', 'shared', 'corpus', 'dockerfiles');
const haveCorpus = existsSync(corpusDir);

interface Expectation {
  /** Categories that must be reported; anything else must not be. */
  categories: string[];
  /** Lines of the pip-no-cache-dir warnings (Dockerfile unless file:line). */
  cacheLines?: string[];
  /** Extra checks with the reasoning in their name. */
  check?: (result: AnalysisResult) => void;
  why: string;
}

const findings = (result: AnalysisResult, category: string) =>
  result.findings.filter((finding) => finding.category === category);
const at = (result: AnalysisResult, category: string) =>
  findings(result, category).map(
    (finding) => `${finding.severity}@${finding.file === 'Dockerfile' ? '' : `${finding.file}:`}${finding.line}`,
  );

// prettier-ignore
const EXPECTED: Record<string, Expectation> = {
  '01': { categories: ['pip-no-cache-dir'], cacheLines: ['16'], why: 'torch 2.7.0 / vision 0.22.0 / audio 2.7.0 from the cu128 extra index (set inside requirements.txt) all match and cu128 exists for 2.7; the requirements install uses a BuildKit pip cache mount, only the HTPO stage pip install keeps its cache', check: (r) => expect(r.stack.torch).toMatchObject({ version: '2.7.0', cuda_variant: 'cu128', file: 'src/requirements.txt', line: 3 }) },
  '02': { categories: ['pip-no-cache-dir', 'torchaudio-mismatch', 'torchvision-mismatch'], cacheLines: ['6', '7'], why: 'line 6 installs torchvision/torchaudio unpinned (newest release, with the newest torch); line 7 then replaces torch with 2.5.1+cu121, so the companions are built for another torch and CUDA: a real runtime failure. The fix moves them, pinned to 0.20.1/2.5.1+cu121, into the torch command', check: (r) => expect(at(r, 'torchvision-mismatch')).toEqual(['error@6']) },
  '03': { categories: ['pip-no-cache-dir', 'torch-replaced'], cacheLines: ['43', '97', '98', '99', '101'], why: 'NGC 23.08 ships NVIDIA\'s torch build; line 99 force-reinstalls a nightly cu121 torch over it (the file even uninstalls transformer-engine right after). NGC CUDA is not in the tag, so no CUDA comparison', check: (r) => expect(at(r, 'torch-replaced')).toEqual(['warning@99']) },
  '04': { categories: ['pip-no-cache-dir'], cacheLines: ['237', '240', '243'], why: 'requirements.txt asks for unpinned torch on NGC 24.03: pip keeps NVIDIA\'s torch (no -U), so it is not torch-replaced; NGC versions are unknown, so nothing else can be judged' },
  '05': { categories: ['pip-no-cache-dir'], cacheLines: ['47', '90', '91', '92', '94'], why: 'base image is ARG PYTORCH_IMAGE without a default (unknown); torch 2.1.1 / vision 0.16.1 / audio 2.1.1 from cu121 match and cu121 exists for 2.1', check: (r) => expect(r.stack.base_image?.unresolved_args).toEqual(['PYTORCH_IMAGE']) },
  '06': { categories: [], why: 'DLC 2.0.1-gpu-py310-cu118 (AWS_REGION from the global ARG): 2.0 supports 3.10 and cu118; no pip install', check: (r) => expect(r.stack).toMatchObject({ python: { version: '3.10' }, cuda: { version: '11.8' }, torch: { version: '2.0.1' } }) },
  '07': { categories: [], why: 'the DLC stage (2.6.0, py312, cu126) is consistent; the slurmd stage copies Python and CUDA from it and installs with --no-cache-dir', check: (r) => expect(r.stack).toMatchObject({ python: { version: '3.12' }, cuda: { version: '12.6' }, torch: { version: '2.6.0' } }) },
  '08': { categories: ['pip-no-cache-dir'], cacheLines: ['15', '16'], why: 'torch 2.1.0 from PyPI on an nccl-tests image (CUDA not in the tag); Python 3.10 is supported by 2.1' },
  '09': { categories: [], why: 'torch is unpinned (so its CUDA build cannot be known) and every pip install has --no-cache-dir; nvidia/cuda:11.2.2-cudnn8 is a valid spelling' },
  '10': { categories: ['cuda-base-mismatch', 'cuda-variant-unavailable', 'pip-no-cache-dir', 'torch-replaced'], cacheLines: ['29'], why: 'torch==2.6.0.* with --extra-index-url whl/cu121: 2.6 has no cu121 wheels (cu118/cu124/cu126), so pip silently takes the PyPI cu124 build (warning, fixed by ARG CUDA=cu124), which is newer than the base CUDA 12.1 (warning). TORCH_VISION/TORCH_AUDIO are empty, so lines 21/22 run `pip install -U torchvision` / torchaudio: the newest companion pins the newest torch and replaces 2.6.0', check: (r) => { expect(at(r, 'cuda-variant-unavailable')).toEqual(['warning@20']); expect(at(r, 'torch-replaced')).toEqual(['warning@21', 'warning@22']); } },
  '11': { categories: ['base-tag-invalid', 'pip-no-cache-dir'], cacheLines: ['76', '125', '136', '141'], why: 'ARG CUDA_VERSION=11.1 makes nvidia/cuda:11.1-devel-ubuntu20.04, which lacks the patch version of NVIDIA\'s tag format (warning, fix ARG to 11.1.1). `pip config set global.cache-dir false` does not disable the cache, so installs without --no-cache-dir are reported; torch>=1.8.* is rewritten by adjust-versions.py at build time and is not judged', check: (r) => expect(at(r, 'base-tag-invalid')).toEqual(['warning@17']) },
  '12': { categories: ['pip-no-cache-dir'], cacheLines: ['98', '141'], why: 'conda pytorch=1.8 with cudatoolkit=11.3.1 on an 11.3.1 base: 1.8 is older than the data (unknown, no judgement); other pip installs use --no-cache-dir' },
  '13': { categories: ['pip-no-cache-dir'], cacheLines: ['29', '33', '34', '36', '46'], why: 'torch==1.10 with torchvision==0.11.1 from the cu111 find-links page on CUDA 11.1.1 and Python 3.7: 0.11.1 with 1.10.0 is accepted (third-party tables pair them), cu111 exists for 1.10, 3.7 is supported', check: (r) => expect(r.stack).toMatchObject({ torch: { version: '1.10.0', cuda_variant: 'cu111' }, python: { version: '3.7' } }) },
  '14': { categories: ['pip-no-cache-dir'], cacheLines: ['16', '23'], why: 'pytorch/pytorch:1.6.0-cuda10.1-cudnn7-devel (from ARGs) predates the data: no tag judgement; no torch install' },
  '15': { categories: ['pip-no-cache-dir'], cacheLines: ['60', '225'], why: 'torch comes from a script in a git clone (not analysable); two `pip install -U pip setuptools` keep their cache' },
  '16': { categories: ['pip-no-cache-dir', 'torch-replaced'], cacheLines: ['11'], why: 'NGC 21.10 has NVIDIA\'s torch; line 14 installs torch==1.10.1+cu113 over it. `--no-cache` is an unambiguous abbreviation of --no-cache-dir; `torch>=1.7.0` in requirements.txt is satisfied by the NGC torch; cu113 for 1.10 is UNVERIFIED, so no variant finding', check: (r) => expect(at(r, 'torch-replaced')).toEqual(['warning@14']) },
  '17': { categories: [], why: 'BASE_IMAGE, PYTORCH_VERSION, TORCHVISION_VERSION and CUDA_VERSION_TAG have no defaults: nothing can be judged without build_args; all installs use --no-cache-dir' },
  '18': { categories: ['cuda-base-mismatch', 'pip-no-cache-dir'], cacheLines: ['103', '106', '107', '120', '154'], why: 'torch==1.13.0 from plain PyPI is the cu117 build; the base is CUDA 12.2.2 devel and DeepSpeed compiles CUDA ops against it: major mismatch (error). 1.13 has no CUDA 12 build, so the fix keeps torch and moves the base to nvidia/cuda:11.7.1-devel-ubuntu20.04', check: (r) => { expect(at(r, 'cuda-base-mismatch')).toEqual(['error@154']); expect(r.findings.find((f) => f.category === 'cuda-base-mismatch')?.fix?.edits?.[0]?.new_text).toBe('11.7.1'); } },
  '19': { categories: ['pip-no-cache-dir'], cacheLines: ['36', '37', '97', '97', '98', '99', '100', '101'], why: 'torch 1.13.0+cu117 / vision 0.14.0 / audio 0.13.0 on CUDA 11.7.1 with the distro Python 3.8 all agree; line 91 purges the pip cache in the same RUN, the later `RUN pip cache purge` does not shrink earlier layers' },
  '20': { categories: ['pip-no-cache-dir'], cacheLines: ['45', 'scripts/install_requirements.sh:3', 'scripts/install_requirements.sh:11'], why: 'torch 0.3.0.post4 (cp36 wheel) predates the data and matches Python 3.6.3; the COPYed install script is read and its pip installs keep their cache' },
  '21': { categories: ['pip-no-cache-dir'], cacheLines: ['267', '271', '287', '300', '302'], why: 'mamba pytorch=2.1.0 (PYTORCH_VERSION_EC2 re-declared from the global ARG) with pytorch-cuda=12.1 on CUDA 12.1.0 and python=3.10; torchvision/torchaudio are solved together with it', check: (r) => expect(r.stack).toMatchObject({ torch: { version: '2.1.0', cuda_variant: 'cu121' }, python: { version: '3.10' } }) },
  '22': { categories: ['pip-no-cache-dir'], cacheLines: ['178'], why: 'wheel URLs torch 2.1.0+cu118 / vision 0.16.0 / audio 2.1.0 (cp310) match each other, CUDA 11.8.0 and Python 3.10.9', check: (r) => expect(r.stack.torch).toMatchObject({ version: '2.1.0', cuda_variant: 'cu118' }) },
  '23': { categories: ['pip-no-cache-dir', 'requirements-file-missing'], cacheLines: ['5', '9'], why: 'COPY requirements.txt, but the repository has no requirements.txt (INDEX): the build stops at that COPY. `RUN rm -rf /root/.cache` is a later layer and saves nothing' },
  '24': { categories: ['pip-no-cache-dir', 'requirements-file-missing'], cacheLines: ['4'], why: 'src/requirements-docker.txt does not exist at this commit (it moved to docker/requirements.txt): the COPY fails' },
  '25': { categories: ['cuda-base-mismatch', 'pip-no-cache-dir', 'python-missing'], cacheLines: ['2', '3'], why: 'nvidia/cuda:11.6.0-base has no Python and nothing installs it, so pip3 is not found; if it were, the cu113 wheels (1.10.1/0.11.2/0.10.1 match) are older than the base CUDA 11.6 (info only)', check: (r) => expect(at(r, 'cuda-base-mismatch')).toEqual(['info@2']) },
  '26': { categories: ['torch-replaced'], why: 'pytorch/pytorch:1.10.0 already has torch 1.10.0; requirements.txt pins 1.10.1, so pip installs a second torch from PyPI and the base image\'s torchaudio 0.10.0 no longer matches. No 1.10.1 image is known (reported missing upstream), so no automatic fix', check: (r) => expect(at(r, 'torch-replaced')).toEqual(['warning@requirements.txt:1']) },
  '27': { categories: ['pip-no-cache-dir'], cacheLines: ['6', '10'], why: 'CPU wheels on a python image are fine; torch/torchvision are commented out in requirements.txt' },
  '28': { categories: ['pip-no-cache-dir'], cacheLines: ['7'], why: 'torch 1.12.1 / vision 0.13.1 CPU on Python 3.9 match' },
  '29': { categories: ['pip-no-cache-dir'], cacheLines: ['12', '13'], why: 'pytorch/pytorch:2.1.2-cuda11.8-cudnn8-devel exists; unpinned torchvision in requirements.txt is already satisfied by the image. The `\\ ` continuation with a trailing space still continues' },
  '30': { categories: [], why: 'unknown base image; conda installs unpinned pytorch with cudatoolkit=11.1; the one pip install has --no-cache-dir' },
  '31': { categories: [], why: 'torch 1.11.0+cu113 / vision 0.12.0 on CUDA 11.3.1 with Python 3.10 (deadsnakes + get-pip): all consistent, all --no-cache-dir' },
  '32': { categories: ['pip-no-cache-dir'], cacheLines: ['160', '217'], why: 'conda pytorch=2.1.1 python=3.10 (pytorch-cuda comes from $(...) and is not judged); the final stage copies /opt/conda from the builder', check: (r) => expect(r.stack).toMatchObject({ torch: { version: '2.1.1' }, python: { version: '3.10' } }) },
  '33': { categories: ['index-url-invalid', 'pip-no-cache-dir'], cacheLines: ['42', '76', '79'], why: '${CUDA_VERSION#.} leaves "12.1", so the extra index is whl/nightly/12.1/, which is no wheel index: pip ignores it and installs stable PyPI torch instead of nightly. TARGETPLATFORM defaults to linux/amd64, so the arm64 branch does not run', check: (r) => expect(at(r, 'index-url-invalid')).toEqual(['warning@76']) },
  '34': { categories: ['cuda-base-mismatch', 'pip-no-cache-dir'], cacheLines: ['7'], why: 'torch 2.0.0+cu117 (companions match) on a CUDA 12.2.0 base: major mismatch. 2.0 has no CUDA 12 build, so the fix keeps torch and moves the base to 11.7.1', check: (r) => expect(at(r, 'cuda-base-mismatch')).toEqual(['error@7']) },
  '35': { categories: [], why: 'NGC 23.11 with a freeze that has no torch line; --no-cache-dir' },
  '36': { categories: [], why: 'conda env create makes a separate environment (pytorch 1.0.1 cuda9.0, older than the data) on NGC 18.08: nothing to judge' },
  '37': { categories: [], why: 'uv pip install --no-cache-dir torch 2.1.0 / vision 0.16.0 / audio 2.1.0 (ENV) match; Python 3.10 from the deadsnakes venv; the PyPI CUDA build of 2.1 is not in the data, so no CUDA comparison', check: (r) => expect(r.stack.python?.version).toBe('3.10') },
  '38': { categories: [], why: 'unpinned torch/vision/audio from the cu118 index on python:3.9 (no CUDA in the base): nothing pinned to judge' },
  '39': { categories: ['pip-no-cache-dir'], cacheLines: ['3'], why: 'unpinned torch/torchvision without -U on pytorch/pytorch:2.0.1 are already satisfied: not torch-replaced' },
  '40': { categories: ['torch-replaced'], why: 'torch==2.1.0+cu118 is the release the base already has, but the +cu118 label makes pip reinstall it (info)', check: (r) => expect(at(r, 'torch-replaced')).toEqual(['info@7']) },
};

interface CorpusEntry {
  id: string;
  dockerfile: string;
  read: (relPath: string) => string | undefined;
}

function loadCorpus(): CorpusEntry[] {
  const files = readdirSync(corpusDir).filter((file) => /^\d\d_/.test(file));
  const ids = [...new Set(files.map((file) => file.slice(0, 2)))].sort();
  return ids.map((id) => {
    const group = files.filter((file) => file.startsWith(`${id}_`));
    const dockerfile = group.find((file) => /(Dockerfile|dockerfile|Dockerfile\.gpu)$/.test(file))!;
    const companions = group.filter((file) => file !== dockerfile);
    const read = (relPath: string): string | undefined => {
      const hit = companions.find((file) => file.endsWith(`__${relPath.replaceAll('/', '__')}`));
      if (hit) return readFileSync(path.join(corpusDir, hit), 'utf8');
      if (id === '33' && relPath === 'requirements.txt') return '';
      return undefined;
    };
    return { id, dockerfile, read };
  });
}

describe.skipIf(!haveCorpus)('corpus of real Dockerfiles', () => {
  const corpus = haveCorpus ? loadCorpus() : [];

  it('covers all 40 files', () => {
    expect(corpus.map((entry) => entry.id)).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const entry of corpus) {
    const expectation = EXPECTED[entry.id];
    it(`${entry.id} ${entry.dockerfile.slice(3, 60)}: ${expectation?.why.slice(0, 80) ?? ''}`, () => {
      const text = readFileSync(path.join(corpusDir, entry.dockerfile), 'utf8');
      const result = analyzeSources({ dockerfileText: text, readContextFile: entry.read });
      expect(expectation).toBeDefined();
      expect([...new Set(result.findings.map((finding) => finding.category))].sort()).toEqual(
        [...expectation!.categories].sort(),
      );
      const cacheLines = findings(result, 'pip-no-cache-dir').map((finding) =>
        finding.file === 'Dockerfile' ? `${finding.line}` : `${finding.file}:${finding.line}`,
      );
      expect(cacheLines).toEqual(expectation!.cacheLines ?? []);
      expectation!.check?.(result);
    });
  }

  it('fixes every file so that no error of a fixed category remains, and fixing twice changes nothing', () => {
    for (const entry of corpus) {
      const text = readFileSync(path.join(corpusDir, entry.dockerfile), 'utf8');
      const first = analyzeSources({ dockerfileText: text, readContextFile: entry.read, fix: true });
      const fixed = new Set(first.fixed!.applied.map((applied) => applied.category));
      const leftover = first.fixed!.remaining_findings.filter(
        (finding) => finding.severity === 'error' && fixed.has(finding.category),
      );
      expect(leftover, entry.id).toEqual([]);
      const changed = new Map(first.fixed!.files.map((file) => [file.file, file.new_text]));
      const second = analyzeSources({
        dockerfileText: changed.get('Dockerfile') ?? text,
        readContextFile: (relPath) => changed.get(relPath) ?? entry.read(relPath),
        fix: true,
      });
      expect(second.fixed!.files, entry.id).toEqual([]);
    }
  });
});
