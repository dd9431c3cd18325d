import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ZipFile } from 'yazl';

export interface WheelSpec {
  name: string;
  version: string;
  requires?: string[];
}

/** Writes a minimal pure-Python wheel, enough for pip's resolver to read its metadata and install it. */
export async function writeWheel(dir: string, spec: WheelSpec): Promise<string> {
  await mkdir(dir, { recursive: true });
  const distInfo = `${spec.name}-${spec.version}.dist-info`;
  const files: Record<string, string> = {
    [`${spec.name}/__init__.py`]: `__version__ = "${spec.version}"\n`,
    [`${distInfo}/METADATA`]: [
      'Metadata-Version: 2.1',
      `Name: ${spec.name}`,
      `Version: ${spec.version}`,
      ...(spec.requires ?? []).map((requirement) => `Requires-Dist: ${requirement}`),
      '',
    ].join('\n'),
    [`${distInfo}/WHEEL`]: 'Wheel-Version: 1.0\nGenerator: dib-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
  };
  files[`${distInfo}/RECORD`] =
    [...Object.keys(files), `${distInfo}/RECORD`].map((name) => `${name},,`).join('\n') + '\n';
  const file = path.join(dir, `${spec.name}-${spec.version}-py3-none-any.whl`);
  const zip = new ZipFile();
  for (const [name, content] of Object.entries(files)) {
    zip.addBuffer(Buffer.from(content), name, { mtime: new Date(0), mode: 0o644 });
  }
  zip.end();
  await new Promise<void>((resolve, reject) => {
    zip.outputStream.pipe(createWriteStream(file)).on('finish', resolve).on('error', reject);
  });
  return file;
}

/** The seed's conflict: torchvision 0.15.0 wants torch 2.0.0, 0.22.1 wants torch 2.7.1. */
export const TORCH_CONFLICT_WHEELS: WheelSpec[] = [
  { name: 'torch', version: '2.7.1' },
  { name: 'torch', version: '2.0.0' },
  { name: 'torchvision', version: '0.15.0', requires: ['torch==2.0.0'] },
  { name: 'torchvision', version: '0.22.1', requires: ['torch==2.7.1'] },
];

export async function writeWheelhouse(dir: string, specs: WheelSpec[] = TORCH_CONFLICT_WHEELS): Promise<void> {
  for (const spec of specs) await writeWheel(dir, spec);
}
