import { describe, expect, it } from 'vitest';
import {
  addAptGetUpdateEdit,
  breakSystemPackagesEdit,
  insertLineBeforeEdit,
  instructionAtLine,
} from '../../../src/diagnosis/dockerfile-edits.js';
import { applyTextEdits } from '../../../src/util/text-edits.js';

const dockerfile = [
  'FROM ubuntu:24.04',
  '  RUN set -eux; \\',
  '      apt-get install -y --no-install-recommends \\',
  '        python3-pip; \\',
  '      python3 -m pip install torch==2.7.1',
  'CMD ["bash"]',
  '',
].join('\n');

describe('Dockerfile edits', () => {
  it('finds the instruction covering any of its lines', () => {
    expect(instructionAtLine(dockerfile, 4)).toMatchObject({ keyword: 'RUN', line: 2, column: 3 });
    expect(instructionAtLine(dockerfile, 6)?.keyword).toBe('CMD');
    expect(instructionAtLine(dockerfile, 7)).toBeUndefined();
  });

  it('inserts apt-get update on the continuation line that installs', () => {
    const edit = addAptGetUpdateEdit(dockerfile, 4, 'Dockerfile')!;
    expect(edit).toMatchObject({ startLine: 3, startColumn: 7 });
    expect(applyTextEdits(dockerfile, [edit]).split('\n')[2]).toBe(
      '      apt-get update && apt-get install -y --no-install-recommends \\',
    );
  });

  it('does not add apt-get update twice', () => {
    expect(
      addAptGetUpdateEdit('FROM x\nRUN apt-get update && apt-get install -y foo\n', 2, 'Dockerfile'),
    ).toBeUndefined();
    expect(addAptGetUpdateEdit(dockerfile, 6, 'Dockerfile')).toBeUndefined();
  });

  it('adds --break-system-packages after python3 -m pip install', () => {
    const edit = breakSystemPackagesEdit(dockerfile, 2, 'Dockerfile')!;
    expect(applyTextEdits(dockerfile, [edit]).split('\n')[4]).toBe(
      '      python3 -m pip install --break-system-packages torch==2.7.1',
    );
  });

  it('inserts a line before an indented instruction, keeping its indentation', () => {
    const edit = insertLineBeforeEdit(dockerfile, 3, 'ENV MAX_JOBS=2', 'Dockerfile')!;
    expect(applyTextEdits(dockerfile, [edit]).split('\n').slice(1, 3)).toEqual([
      '  ENV MAX_JOBS=2',
      '  RUN set -eux; \\',
    ]);
  });
});
