// Records the BuildKit fixtures of tests/fixtures/build-logs/ from a real engine: the same builds printed as
// `--progress=rawjson` and as `--progress=plain`. Point the docker CLI at the engine first, e.g. the modern engine:
//   DOCKER_HOST=<its socket> DOCKER_CONFIG=<its config dir with buildx> node scripts/capture-buildkit-fixtures.mjs
// The builds use only local base images (dib-test/*) and a local wheelhouse: no registry is reached.
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yazl from 'yazl';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'tests', 'fixtures', 'build-logs');
const docker = process.env.DIB_DOCKER ?? 'docker';

/** A wheel with just enough metadata for pip's resolver (as tests/support/wheels.ts writes them). */
async function writeWheel(dir, name, version, requires = []) {
  const distInfo = `${name}-${version}.dist-info`;
  const files = {
    [`${name}/__init__.py`]: `__version__ = "${version}"\n`,
    [`${distInfo}/METADATA`]: [
      'Metadata-Version: 2.1',
      `Name: ${name}`,
      `Version: ${version}`,
      ...requires.map((requirement) => `Requires-Dist: ${requirement}`),
      '',
    ].join('\n'),
    [`${distInfo}/WHEEL`]: 'Wheel-Version: 1.0\nGenerator: dib-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
  };
  files[`${distInfo}/RECORD`] = [...Object.keys(files), `${distInfo}/RECORD`].map((file) => `${file},,`).join('\n');
  const zip = new yazl.ZipFile();
  for (const [file, text] of Object.entries(files)) zip.addBuffer(Buffer.from(text), file, { mtime: new Date(0) });
  zip.end();
  await new Promise((resolve, reject) => {
    zip.outputStream
      .pipe(createWriteStream(path.join(dir, `${name}-${version}-py3-none-any.whl`)))
      .on('finish', resolve)
      .on('error', reject);
  });
}

async function context(files) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dib-capture-'));
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), text);
  }
  return dir;
}

/** `docker build` as the product runs it with buildx (DOCKER_BUILDKIT=1); returns stderr (stdout stays empty). */
function build(dir, dockerfile, progress, extra = []) {
  const args = ['build', `--progress=${progress}`, '-f', dockerfile, '-t', 'dib-capture:latest', ...extra, dir];
  const result = spawnSync(docker, args, {
    env: { ...process.env, DOCKER_BUILDKIT: '1' },
    encoding: 'utf8',
    timeout: 300_000,
  });
  console.error(`docker ${args.join(' ')} -> exit ${result.status}`);
  return result.stderr;
}

/** The cases to record: all, or those named on the command line (`node ... copyfail`). */
const wanted = process.argv.slice(2);
const wants = (name) => wanted.length === 0 || wanted.includes(name);

async function capture(name, dir, dockerfile, extra = []) {
  for (const [progress, suffix] of [
    ['rawjson', 'rawjson'],
    ['plain', 'buildx-plain'],
  ]) {
    await writeFile(path.join(fixtures, `${name}.${suffix}.log`), build(dir, dockerfile, progress, extra));
  }
}

// 1. The seed's pip conflict: torch 2.7.1 with torchvision 0.15.0 (which wants torch 2.0.0).
if (wants('pipconflict')) {
  const pip = await context({ Dockerfile: await readFile(path.join(fixtures, 'pipconflict.Dockerfile'), 'utf8') });
  await mkdir(path.join(pip, 'wheels'));
  await writeWheel(path.join(pip, 'wheels'), 'torch', '2.7.1');
  await writeWheel(path.join(pip, 'wheels'), 'torch', '2.0.0');
  await writeWheel(path.join(pip, 'wheels'), 'torchvision', '0.15.0', ['torch==2.0.0']);
  await writeWheel(path.join(pip, 'wheels'), 'torchvision', '0.22.1', ['torch==2.7.1']);
  await capture('pipconflict', pip, path.join(pip, 'Dockerfile'), ['--no-cache']);
}

// 2. A failing RUN in a Dockerfile that is not named Dockerfile (the summary then says `gpu.Dockerfile:N`).
if (wants('runfail-gpu')) {
  const gpu = await context({
    'build/gpu.Dockerfile': await readFile(path.join(fixtures, 'runfail-gpu.Dockerfile'), 'utf8'),
  });
  await capture('runfail-gpu', gpu, path.join(gpu, 'build', 'gpu.Dockerfile'), ['--no-cache']);
}

// 3. A rebuild of an unchanged context: every step is a cache hit.
if (wants('ok-cached')) {
  const ok = await context({
    Dockerfile: await readFile(path.join(fixtures, 'ok.Dockerfile'), 'utf8'),
    'hello.txt': 'hello from the build context\n',
  });
  build(ok, path.join(ok, 'Dockerfile'), 'plain');
  await capture('ok-cached', ok, path.join(ok, 'Dockerfile'));
}

// 4. A COPY of a file the context does not have: a failed step with no output of its own.
if (wants('copyfail')) {
  const copy = await context({ Dockerfile: await readFile(path.join(fixtures, 'copyfail.Dockerfile'), 'utf8') });
  await capture('copyfail', copy, path.join(copy, 'Dockerfile'), ['--no-cache']);
}
spawnSync(docker, ['image', 'rm', '-f', 'dib-capture:latest'], { stdio: 'ignore', timeout: 60_000 });
