import { describe, expect, it } from 'vitest';
import { analyze } from './helpers.js';

const secretFindings = (dockerfile: string, buildArgs?: Record<string, string>) =>
  analyze(dockerfile, {}, buildArgs ? { buildArgs } : {}).findings.filter(
    (finding) => finding.category === 'secret-in-arg-or-env',
  );

describe('secret-in-arg-or-env', () => {
  it('warns at an ARG and an ENV named like secrets and suggests a secret mount', () => {
    const findings = secretFindings(
      'FROM python:3.11\nARG HF_TOKEN\nENV AWS_SECRET_ACCESS_KEY=abc DB_HOST=db\nRUN pip install --no-cache-dir requests\n',
      { HF_TOKEN: 'hf_x' },
    );
    expect(findings.map((finding) => [finding.line, finding.column, finding.severity])).toEqual([
      [2, 5, 'warning'],
      [3, 5, 'warning'],
    ]);
    expect(findings[0]!.message).toMatch(
      /ARG HF_TOKEN looks like a secret \(and build_args gives it a value\).*docker history/,
    );
    expect(findings[1]!.message).toMatch(/ENV AWS_SECRET_ACCESS_KEY/);
    expect(findings[0]!.fix?.description).toContain('"id": "hf_token", "env": "HF_TOKEN"');
    expect(findings[0]!.fix?.alternatives?.join('\n')).toContain('RUN --mount=type=secret,id=hf_token');
  });

  it('stays quiet for names BuildKit allows or that only contain a token inside a word', () => {
    expect(
      secretFindings('FROM python:3.11\nARG PUBLIC_KEY\nARG TOKEN_FILE\nARG TOKENIZERS_PARALLELISM\nENV MONKEY=1\n'),
    ).toEqual([]);
  });
});
