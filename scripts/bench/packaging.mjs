// Context packaging for CodeBuild: the product's streamed zip (hashing the bytes as they go, as an upload would read
// them) against `zip -r` of the same folder, each in its own process so peak resident memory is its own.
// BENCH_CONTEXT_MB sets the context size (default 256; the goal is stated for 1024).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';

async function packageInChild(contextDir) {
  const { packageContext } = await import('../../dist/codebuild/context-package.js');
  const started = performance.now();
  const pack = await packageContext({ contextDir, dockerfile: 'Dockerfile', compressionLevel: 6 });
  const hash = createHash('sha256');
  let bytes = 0;
  await pipeline(
    pack.stream,
    new Writable({
      write(chunk, _encoding, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done();
      },
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(JSON.stringify({ seconds, bytes, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}

function makeContext(megabytes) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dib-bench-ctx-'));
  writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch\nCOPY . /ctx\n');
  // Half random (incompressible, like weights or wheels) and half text-like, in 8 MB files.
  for (let index = 0; index < megabytes / 8; index++) {
    const sub = path.join(dir, `dir${index % 8}`);
    mkdirSync(sub, { recursive: true });
    const body =
      index % 2 === 0 ? randomBytes(8 << 20) : Buffer.from('tensor data line 0123456789\n'.repeat((8 << 20) / 28));
    writeFileSync(path.join(sub, `file${index}.bin`), body);
  }
  return dir;
}

export async function benchPackaging(megabytes = Number(process.env.BENCH_CONTEXT_MB ?? 256)) {
  const dir = makeContext(megabytes);
  try {
    const ours = JSON.parse(
      execFileSync(process.execPath, [import.meta.filename, '--child', dir], { encoding: 'utf8', maxBuffer: 1 << 20 }),
    );
    const zipOut = path.join(os.tmpdir(), `dib-bench-${process.pid}.zip`);
    const zip = spawnSync('/usr/bin/time', ['-f', '%e %M', 'zip', '-q', '-r', '-6', zipOut, '.'], {
      cwd: dir,
      encoding: 'utf8',
    });
    rmSync(zipOut, { force: true });
    console.log(`\nContext packaging of ${megabytes} MB (half random, half text), one process each`);
    console.log('| packager | seconds | MB/s | peak RSS MB |');
    console.log('| --- | ---: | ---: | ---: |');
    console.log(
      `| docker-image-builder (streamed zip + SHA-256) | ${ours.seconds.toFixed(1)} | ${(megabytes / ours.seconds).toFixed(0)} | ${ours.maxRssMb.toFixed(0)} |`,
    );
    if (zip.status === 0) {
      const [seconds, rssKb] = zip.stderr.trim().split(/\s+/).map(Number);
      console.log(
        `| zip -r -6 | ${seconds.toFixed(1)} | ${(megabytes / seconds).toFixed(0)} | ${(rssKb / 1024).toFixed(0)} |`,
      );
    } else {
      console.log('| zip -r -6 | (zip or /usr/bin/time not available) | | |');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await packageInChild(process.argv[3]);
else if (import.meta.url === `file://${process.argv[1]}`) await benchPackaging();
