// The CLI side of the input descriptions: commander options derived from the same fields the MCP tools register,
// and the parse from those options to the same input object a tool handler receives. Only the CLI imports this
// module (it loads commander), so the server never pays for it.
import { type Command, Option } from 'commander';
import { InputError } from '../util/errors.js';
import type { Fields, InputOf, ToolInputs } from './define.js';
import { describeIssue, type Field, type FieldIssue } from './field.js';

/** Parser for repeatable KEY=VALUE options (--build-arg, --label). */
export function parseKeyValue(flag: string) {
  return (value: string, previous: Record<string, string> = {}) => {
    const index = value.indexOf('=');
    if (index <= 0) throw new InputError(flag, `"${value}" is not KEY=VALUE`, `Write it as ${flag} KEY=VALUE.`);
    return { ...previous, [value.slice(0, index)]: value.slice(index + 1) };
  };
}

/** Numbers stay strings when they are not numbers, so the schema's message can quote what was given. */
function toNumber(value: string): number | string {
  const number = Number(value);
  return value.trim() !== '' && Number.isFinite(number) ? number : value;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The commander options for one field: one, or for a default-true boolean `--x` and `--no-x`. */
function optionsFor(name: string, spec: Field): Option[] {
  const cli = spec.cli;
  if (!('flag' in cli)) return [];
  if (spec.kind === 'boolean') {
    if (cli.flag.startsWith('--no-') || spec.default !== true) return [new Option(cli.flag, cli.help)];
    if (!cli.negated)
      throw new Error(`${name}: a default-true boolean needs the help text for --no-${cli.flag.slice(2)}`);
    return [new Option(cli.flag, cli.help), new Option(`--no-${cli.flag.slice(2)}`, cli.negated)];
  }
  const option = new Option(`${cli.flag} ${cli.value ?? '<value>'}`, cli.help);
  if (spec.kind === 'int' || spec.kind === 'number') option.argParser(toNumber);
  else if (spec.kind === 'list') option.argParser(collect);
  else if (spec.kind === 'record') option.argParser(parseKeyValue(cli.flag));
  else if (spec.kind === 'objects' && spec.parseCli) {
    const parse = spec.parseCli;
    option.argParser((value: string, previous: unknown[] = []) => [...previous, parse(value)]);
  } else if (spec.kind === 'enum' && spec.limits.values) option.choices(spec.limits.values);
  // Shown in --help; the schema would apply the same default anyway.
  if (spec.default !== undefined && !['list', 'record', 'objects'].includes(spec.kind)) option.default(spec.default);
  return [option];
}

/** How the CLI names a field in messages: its flag, or its argument without the brackets. */
export function cliLabel(name: string, spec: Field): string {
  const cli = spec.cli;
  if ('flag' in cli) return cli.flag;
  if ('argument' in cli) return cli.argument.replace(/[<>[\].]/g, '');
  return name;
}

/** Adds a tool's fields to a command: positional arguments and options, with the tool's limits and defaults. */
export function addInputs(command: Command, inputs: ToolInputs<Fields>): Command {
  const byField = new Map<string, Option[]>();
  for (const [name, spec] of Object.entries(inputs.fields)) {
    if ('argument' in spec.cli) command.argument(spec.cli.argument, spec.cli.help);
    const options = optionsFor(name, spec);
    byField.set(name, options);
  }
  for (const [name, spec] of Object.entries(inputs.fields)) {
    const cli = spec.cli;
    const other = 'flag' in cli && cli.conflicts ? byField.get(cli.conflicts)?.[0] : undefined;
    for (const option of byField.get(name) ?? []) {
      if (other) option.conflicts(other.attributeName());
      command.addOption(option);
    }
  }
  return command;
}

/** What commander parsed for one field, in the field's own terms (undefined: not given, the default applies). */
function readField(name: string, spec: Field, options: Record<string, unknown>): unknown {
  const [option] = optionsFor(name, spec);
  if (!option) return undefined;
  const value = options[option.attributeName()];
  // `--no-cache` alone is commander's negation of "cache" (default true); the field is no_cache.
  if (option.negate) return value === false ? true : undefined;
  return value;
}

/**
 * The input object a tool handler would receive, from the command's arguments and options, validated by the same
 * strict schema. A bad value throws an InputError naming the flag (the CLI prints it and exits 2).
 */
export function inputFromCli<T extends ToolInputs<Fields>>(inputs: T, command: Command): InputOf<T> {
  const options = command.opts();
  const args = [...command.processedArgs];
  const raw: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(inputs.fields)) {
    const value = 'argument' in spec.cli ? args.shift() : readField(name, spec, options);
    if (value !== undefined) raw[name] = value;
  }
  const parsed = inputs.schema.safeParse(raw);
  if (parsed.success) return parsed.data as InputOf<T>;
  const issue = parsed.error.issues[0]!;
  const name = String(issue.path[0]);
  const spec = inputs.fields[name];
  if (!spec) throw new InputError(inputs.command ?? inputs.tool, issue.message, 'See --help.');
  const label = cliLabel(name, spec);
  const value = issue.path.reduce<unknown>((current, key) => (current as Record<PropertyKey, unknown>)?.[key], raw);
  const { problem, hint } = describeIssue(spec, issue as unknown as FieldIssue, value, label);
  throw new InputError(label, problem, hint);
}
