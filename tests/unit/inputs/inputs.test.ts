import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildProgram, runCli } from '../../../src/cli/program.js';
import { analyzeDockerfileInputs } from '../../../src/inputs/analyze-dockerfile.js';
import { buildImageInputs } from '../../../src/inputs/build-image.js';
import { cancelBuildInputs, getBuildStatusInputs, listBuildsInputs } from '../../../src/inputs/builds.js';
import { addInputs, inputFromCli } from '../../../src/inputs/cli.js';
import type { Fields, ToolInputs } from '../../../src/inputs/define.js';
import { detectEnvironmentInputs } from '../../../src/inputs/detect-environment.js';
import type { Field } from '../../../src/inputs/field.js';
import { smokeTestInputs } from '../../../src/inputs/smoke-test.js';
import { InputError } from '../../../src/util/errors.js';

const ALL: ToolInputs<Fields>[] = [
  buildImageInputs,
  analyzeDockerfileInputs,
  detectEnvironmentInputs,
  getBuildStatusInputs,
  smokeTestInputs,
  cancelBuildInputs,
  listBuildsInputs,
];

/** Fields the CLI deliberately lacks, each with its reason in the description. */
const MCP_ONLY = ['build_image.tail_lines', 'build_image.confirm_charges', 'list_builds.limit'];

/** Required fields a parse needs, so a single field can be tried on its own. */
const REQUIRED: Record<string, Record<string, string>> = {
  get_build_status: { build_id: 'local-20261129T101500-a1b2c3' },
  cancel_build: { build_id: 'local-20261129T101500-a1b2c3' },
  smoke_test: { image: 'fsdp:latest' },
};

/** Parses argv through the derived commander options; returns the input or the InputError. */
function parseCli(inputs: ToolInputs<Fields>, argv: string[]): Record<string, unknown> | InputError {
  let result: Record<string, unknown> | InputError | undefined;
  const command = new Command('t').exitOverride();
  addInputs(command, inputs).action((...args: unknown[]) => {
    try {
      result = inputFromCli(inputs, args.at(-1) as Command);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      result = error;
    }
  });
  const positional = Object.values(REQUIRED[inputs.tool] ?? {});
  command.parse([...positional, ...argv], { from: 'user' });
  return result!;
}

function mcpAccepts(inputs: ToolInputs<Fields>, name: string, value: unknown): boolean {
  return inputs.schema.safeParse({ ...REQUIRED[inputs.tool], [name]: value }).success;
}

function flagged(inputs: ToolInputs<Fields>): [string, Field & { cli: { flag: string } }][] {
  return Object.entries(inputs.fields).filter(
    (entry): entry is [string, Field & { cli: { flag: string } }] => 'flag' in entry[1].cli,
  );
}

describe('the shared input description', () => {
  it('gives every MCP field of a tool with a CLI command a flag or argument, except the listed MCP-only ones', () => {
    const missing = ALL.flatMap((inputs) =>
      Object.entries(inputs.fields)
        .filter(([, spec]) => 'none' in spec.cli)
        .map(([name]) => `${inputs.tool}.${name}`),
    );
    expect(missing.sort()).toEqual(MCP_ONLY.sort());
    const program = buildProgram(() => undefined);
    for (const inputs of ALL.filter((candidate) => candidate.command)) {
      const command = program.commands.find((candidate) => candidate.name() === inputs.command);
      expect(command, inputs.command).toBeDefined();
      const flags = command!.options.map((option) => option.long);
      for (const [name, spec] of flagged(inputs)) expect(flags, `${inputs.tool}.${name}`).toContain(spec.cli.flag);
    }
  });

  it('gives each flag the same default as the MCP field', () => {
    for (const inputs of ALL.filter((candidate) => candidate.command)) {
      const fromCli = parseCli(inputs, []);
      expect(fromCli).not.toBeInstanceOf(InputError);
      expect(fromCli, inputs.tool).toEqual(inputs.schema.parse({ ...REQUIRED[inputs.tool] }));
    }
  });

  it('accepts and refuses exactly the numbers the MCP field does, at and beyond each limit', () => {
    let checked = 0;
    for (const inputs of ALL.filter((candidate) => candidate.command)) {
      for (const [name, spec] of flagged(inputs)) {
        if (spec.kind !== 'int' && spec.kind !== 'number') continue;
        const { min, max, above } = spec.limits;
        const edges = [min, above, max].filter((edge): edge is number => edge !== undefined);
        const values = edges.flatMap((edge) => [edge - 1, edge - 0.5, edge, edge + 0.5, edge + 1]);
        for (const value of values) {
          const fromCli = parseCli(inputs, [spec.cli.flag, String(value)]);
          const label = `${inputs.tool}.${name} = ${value}`;
          expect(!(fromCli instanceof InputError), label).toBe(mcpAccepts(inputs, name, value));
          if (fromCli instanceof InputError) expect(fromCli.field, label).toBe(spec.cli.flag);
          else expect(fromCli[name], label).toBe(value);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(5);
  });

  it('gives --tail-lines the same limits as tail_lines in get_build_status and build_image', () => {
    const status = getBuildStatusInputs.fields.tail_lines;
    expect(status.limits).toEqual({ min: 0, max: 500 });
    expect(buildImageInputs.fields.tail_lines.limits).toEqual(status.limits);
    expect(buildImageInputs.fields.tail_lines.default).toBe(status.default);
    expect(parseCli(getBuildStatusInputs, ['--tail-lines', '0'])).toMatchObject({ tail_lines: 0 });
    expect(parseCli(getBuildStatusInputs, ['--tail-lines', '501'])).toBeInstanceOf(InputError);
  });

  it('maps booleans as today: --no-x for default-true fields, --no-cache to no_cache', () => {
    expect(parseCli(buildImageInputs, ['--no-smoke-test', '--no-cache', '--pull', '--no-wait'])).toMatchObject({
      smoke_test: false,
      no_cache: true,
      pull: true,
      wait: false,
      auto_fix: true,
    });
    expect(parseCli(buildImageInputs, ['--build-arg', 'A=1', '--build-arg', 'B=x=y', '--label', 'k=v'])).toMatchObject({
      build_args: { A: '1', B: 'x=y' },
      labels: { k: 'v' },
    });
    expect(parseCli(smokeTestInputs, ['--command', 'true', '--command', 'echo hi', '--pytorch', 'off'])).toMatchObject({
      image: 'fsdp:latest',
      commands: ['true', 'echo hi'],
      pytorch: 'off',
    });
  });
});

describe('the CLI refuses bad input with exit code 2, naming the option', () => {
  let stderr = '';
  afterEach(() => {
    vi.restoreAllMocks();
    stderr = '';
  });
  const capture = () =>
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += chunk.toString();
      return true;
    });

  it('refuses --timeout 1 with the minimum 30, before anything is built', async () => {
    capture();
    expect(await runCli(['node', 'dib', 'build', '--timeout', '1'])).toBe(2);
    expect(stderr).toContain('--timeout');
    expect(stderr).toContain('minimum 30');
  });

  it('refuses an unknown option, naming it', async () => {
    capture();
    expect(await runCli(['node', 'dib', 'build', '--squash'])).toBe(2);
    expect(stderr).toContain("unknown option '--squash'");
  });
});

describe('layers', () => {
  async function imports(folder: string): Promise<string[]> {
    const root = path.resolve(import.meta.dirname, '../../../src', folder);
    const files = (await readdir(root)).filter((file) => file.endsWith('.ts'));
    const texts = await Promise.all(files.map((file) => readFile(path.join(root, file), 'utf8')));
    return texts.flatMap((text) => [...text.matchAll(/from '([^']+)'/g)].map((match) => match[1]!));
  }

  it('keeps tools/ and cli/ apart, both above inputs/', async () => {
    expect((await imports('cli')).filter((from) => from.includes('/tools/'))).toEqual([]);
    expect((await imports('tools')).filter((from) => from.includes('/cli/'))).toEqual([]);
    const inputs = await imports('inputs');
    expect(inputs.filter((from) => /\/(tools|cli)\/|@modelcontextprotocol/.test(from))).toEqual([]);
  });
});
