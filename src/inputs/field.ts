import { z } from 'zod';
import { quoted } from '../util/quoted.js';

/**
 * One input field, described once for both surfaces: its type and limits as data, its default, the text an agent
 * reads, and how the CLI passes it. The zod schema the MCP tool registers is derived from this (see `schema`), and
 * so are the commander options (src/inputs/cli.ts), so the two cannot disagree on a limit or a default.
 */
export interface Field<S = z.ZodType> {
  readonly kind: FieldKind;
  readonly limits: Limits;
  /** Applied when the field is missing; undefined means the field is optional (or, with `required`, must be given). */
  readonly default: unknown;
  readonly required: boolean;
  /** The agent-facing `.describe()` text. */
  readonly description: string;
  readonly cli: CliSpec;
  /** Lists of objects: turns one CLI flag value into an entry (the schema checks it). */
  readonly parseCli?: (value: string) => unknown;
  /** The zod schema; `error` words every issue it raises (the SDK puts that text in the tool result). */
  schema(error: (issue: FieldIssue) => string): S;
}

export type FieldKind = 'string' | 'int' | 'number' | 'boolean' | 'enum' | 'list' | 'record' | 'objects';

export interface Limits {
  /** Numbers: smallest value; strings: fewest characters. */
  min?: number;
  /** Numbers: largest value; strings: most characters. */
  max?: number;
  /** Numbers: the value must be greater than this. */
  above?: number;
  /** Lists: most entries. */
  maxItems?: number;
  /** Strings: a pattern, with how to say what it expects. */
  pattern?: { regex: RegExp; looksLike: string };
  /** Enums: the accepted values. */
  values?: readonly string[];
  /** Lists of objects: what one entry looks like. */
  entry?: string;
}

/**
 * How the CLI passes a field: a flag (`--timeout <seconds>`; booleans have no value, and a default-true boolean also
 * gets `--no-x`, worded by `negated`), a positional argument (`<build-id>`), or nothing, with the reason.
 */
export type CliSpec =
  | { flag: string; value?: string; help: string; negated?: string; conflicts?: string }
  | { argument: string; help: string }
  | { none: string };

/** What zod hands an error function: the code and the limits involved. */
export interface FieldIssue {
  code: string;
  input?: unknown;
  origin?: string;
  expected?: string;
  minimum?: number | bigint;
  maximum?: number | bigint;
  inclusive?: boolean;
  values?: readonly unknown[];
  keys?: readonly string[];
  message?: string;
}

interface Common {
  description: string;
  cli: CliSpec;
}

function field<S>(
  kind: FieldKind,
  limits: Limits,
  options: { default?: unknown; required?: boolean } & Common,
  schema: (error: (issue: FieldIssue) => string) => S,
): Field<S> {
  return {
    kind,
    limits,
    default: options.default,
    required: options.required ?? false,
    description: options.description,
    cli: options.cli,
    schema,
  };
}

type Presence<T> = { default: T; required?: never } | { required: true; default?: never } | object;

/** zod's wrapper for each presence: a default, required, or optional. */
type Wrap<S extends z.ZodType, P> = P extends { default: unknown }
  ? z.ZodDefault<S>
  : P extends { required: true }
    ? S
    : z.ZodOptional<S>;

function presence<S extends z.ZodType>(
  base: S,
  options: { default?: unknown; required?: boolean; description: string },
): z.ZodType {
  const wrapped =
    options.default !== undefined
      ? (base as unknown as z.ZodType<unknown>).default(options.default as never)
      : options.required
        ? base
        : base.optional();
  return wrapped.describe(options.description);
}

type TextLimits = Pick<Limits, 'min' | 'max' | 'pattern'>;

export function text<P extends Presence<string>>(options: TextLimits & Common & P): Field<Wrap<z.ZodString, P>> {
  const { min, max, pattern } = options;
  return field<Wrap<z.ZodString, P>>('string', { min, max, pattern }, options, (error) => {
    let base = z.string({ error });
    if (min !== undefined) base = base.min(min);
    if (max !== undefined) base = base.max(max);
    if (pattern) base = base.regex(pattern.regex);
    return presence(base, options) as Wrap<z.ZodString, P>;
  });
}

/** A whole number (`int`) or any number (`number`) within the limits. */
export function int<P extends Presence<number>>(
  options: Pick<Limits, 'min' | 'max'> & Common & P,
): Field<Wrap<z.ZodNumber, P>> {
  const { min, max } = options;
  return field<Wrap<z.ZodNumber, P>>('int', { min, max }, options, (error) => {
    let base = z.number({ error }).int();
    if (min !== undefined) base = base.min(min);
    if (max !== undefined) base = base.max(max);
    return presence(base, options) as Wrap<z.ZodNumber, P>;
  });
}

export function number<P extends Presence<number>>(
  options: Pick<Limits, 'min' | 'max' | 'above'> & Common & P,
): Field<Wrap<z.ZodNumber, P>> {
  const { min, max, above } = options;
  return field<Wrap<z.ZodNumber, P>>('number', { min, max, above }, options, (error) => {
    let base = z.number({ error });
    if (above !== undefined) base = base.gt(above);
    if (min !== undefined) base = base.min(min);
    if (max !== undefined) base = base.max(max);
    return presence(base, options) as Wrap<z.ZodNumber, P>;
  });
}

export function bool(options: Common & { default: boolean }): Field<z.ZodDefault<z.ZodBoolean>> {
  return field(
    'boolean',
    {},
    options,
    (error) => presence(z.boolean({ error }), options) as z.ZodDefault<z.ZodBoolean>,
  );
}

export function oneOf<const V extends readonly [string, ...string[]], P extends Presence<V[number]>>(
  values: V,
  options: Common & P,
): Field<Wrap<z.ZodEnum<{ [K in V[number]]: K }>, P>> {
  return field('enum', { values }, options, (error) => presence(z.enum(values, { error }), options) as never);
}

/** A list of non-empty strings (each matching `pattern`, if given); the CLI takes it as a repeatable flag. */
export function list<P extends Presence<string[]>>(
  options: Pick<Limits, 'maxItems' | 'pattern'> & Common & P,
): Field<Wrap<z.ZodArray<z.ZodString>, P>> {
  const { maxItems, pattern } = options;
  return field<Wrap<z.ZodArray<z.ZodString>, P>>('list', { maxItems, min: 1, pattern }, options, (error) => {
    let entry = z.string({ error }).min(1);
    if (pattern) entry = entry.regex(pattern.regex);
    let base = z.array(entry, { error });
    if (maxItems !== undefined) base = base.max(maxItems);
    return presence(base, options) as Wrap<z.ZodArray<z.ZodString>, P>;
  });
}

/**
 * One string or a list of them (each non-empty, matching `pattern`), for inputs where docker takes either (e.g.
 * `platform`: "linux/amd64" or ["linux/amd64", "linux/arm64"]); the CLI takes it as a repeatable flag.
 */
export function textOrList<P extends Presence<string | string[]>>(
  options: Pick<Limits, 'maxItems' | 'pattern'> & Common & P,
): Field<Wrap<z.ZodUnion<[z.ZodString, z.ZodArray<z.ZodString>]>, P>> {
  const { maxItems, pattern } = options;
  return field('list', { maxItems, min: 1, pattern }, options, (error) => {
    let entry = z.string({ error }).min(1);
    if (pattern) entry = entry.regex(pattern.regex);
    let many = z.array(entry, { error });
    if (maxItems !== undefined) many = many.max(maxItems);
    return presence(z.union([entry, many], { error }), options) as never;
  });
}

/** String keys to string values; the CLI takes it as a repeatable KEY=VALUE flag. */
export function record<P extends Presence<Record<string, string>>>(
  options: Common & P,
): Field<Wrap<z.ZodRecord<z.ZodString, z.ZodString>, P>> {
  return field(
    'record',
    {},
    options,
    (error) => presence(z.record(z.string(), z.string({ error }), { error }), options) as never,
  );
}

/**
 * A list of objects, each checked by `entry` (a strict zod object or a union of them); the CLI takes each as a
 * repeatable flag that `parseCli` turns into one entry.
 */
export function objects<E extends z.ZodType>(
  options: Pick<Limits, 'maxItems'> &
    Common & {
      default: unknown[];
      entry: (error: (issue: FieldIssue) => string) => E;
      looksLike: string;
      parseCli: (value: string) => unknown;
    },
): Field<z.ZodDefault<z.ZodArray<E>>> {
  const { maxItems, looksLike } = options;
  return {
    ...field<z.ZodDefault<z.ZodArray<E>>>('objects', { maxItems, entry: looksLike }, options, (error) => {
      let base = z.array(options.entry(error), { error });
      if (maxItems !== undefined) base = base.max(maxItems);
      return presence(base, options) as z.ZodDefault<z.ZodArray<E>>;
    }),
    parseCli: options.parseCli,
  };
}

function show(value: unknown): string {
  if (typeof value === 'string') return quoted(value);
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value === null || typeof value !== 'object') return String(value);
  return 'an object';
}

/** What a valid value looks like, e.g. "a whole number from 30 to 28800 (default 3600)". */
export function expectation(spec: Field): string {
  const { min, max, above, maxItems, values } = spec.limits;
  const range =
    above !== undefined
      ? ` above ${above}${max !== undefined ? ` and at most ${max}` : ''}`
      : min !== undefined && max !== undefined
        ? ` from ${min} to ${max}`
        : min !== undefined
          ? ` of at least ${min}`
          : max !== undefined
            ? ` of at most ${max}`
            : '';
  const fallback = spec.default !== undefined ? ` (default ${JSON.stringify(spec.default)})` : '';
  switch (spec.kind) {
    case 'int':
      return `a whole number${range}${fallback}`;
    case 'number':
      return `a number${range}${fallback}`;
    case 'boolean':
      return `true or false${fallback}`;
    case 'enum':
      return `one of ${values?.join(', ')}${fallback}`;
    case 'list':
      return `a list of non-empty strings${maxItems !== undefined ? ` (at most ${maxItems})` : ''}`;
    case 'record':
      return 'an object of string values (KEY: VALUE)';
    case 'objects':
      return `a list of ${spec.limits.entry ?? 'objects'}${maxItems !== undefined ? ` (at most ${maxItems})` : ''}`;
    default: {
      const length =
        min !== undefined && max !== undefined && min > 1
          ? ` of ${min} to ${max} characters`
          : max !== undefined
            ? ` of at most ${max} characters`
            : '';
      return `a non-empty string${length}${fallback}`;
    }
  }
}

/**
 * What was wrong with a value and what to do, in words that name the field as `label` (the MCP field name, or the
 * CLI flag). Both surfaces use this, so an agent and a person read the same explanation.
 */
export function describeIssue(
  spec: Field,
  issue: FieldIssue,
  value: unknown,
  label: string,
): { problem: string; hint: string } {
  const hint = `Give ${label} ${expectation(spec)}.`;
  const inner =
    (spec.kind === 'list' || spec.kind === 'record') &&
    (issue.origin === 'string' || (issue.code === 'invalid_type' && issue.expected === 'string'));
  const what = spec.kind === 'record' ? 'each value' : 'each entry';
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return { problem: 'is required', hint };
      return inner
        ? { problem: `${what} must be a string`, hint }
        : { problem: `must be ${expectation(spec)}, not ${show(value)}`, hint };
    case 'too_small':
      if (inner) return { problem: `${what} must be a non-empty string`, hint };
      if (issue.origin === 'string')
        return {
          problem: Number(issue.minimum) <= 1 ? 'must not be empty' : `must have at least ${issue.minimum} characters`,
          hint,
        };
      return issue.inclusive === false
        ? { problem: `${show(value)} is not above ${issue.minimum}`, hint }
        : { problem: `${show(value)} is below the minimum ${issue.minimum}`, hint };
    case 'too_big':
      if (issue.origin === 'array')
        return {
          problem: `takes at most ${issue.maximum} entries, not ${Array.isArray(value) ? value.length : '?'}`,
          hint,
        };
      if (issue.origin === 'string') return { problem: `must have at most ${issue.maximum} characters`, hint };
      return { problem: `${show(value)} is above the maximum ${issue.maximum}`, hint };
    case 'invalid_value':
      return { problem: `must be one of ${spec.limits.values?.join(', ')}, not ${show(value)}`, hint };
    case 'invalid_format':
      return {
        problem:
          spec.kind === 'list'
            ? `has an entry ${show(value)} that is not in the expected form`
            : `${show(value)} is not in the expected form`,
        hint: spec.limits.pattern ? `${label}: ${spec.limits.pattern.looksLike}.` : hint,
      };
    default:
      return { problem: issue.message ?? 'is not valid', hint };
  }
}
