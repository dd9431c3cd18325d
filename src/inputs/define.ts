import { z } from 'zod';
import { describeIssue, type Field, type FieldIssue } from './field.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fields of any schema type
export type Fields = Record<string, Field<any>>;

type Shape<F extends Fields> = {
  [K in keyof F]: F[K] extends Field<infer S> ? (S extends z.ZodType ? S : never) : never;
};

/** One tool's inputs: the fields, and the strict zod object the MCP tool registers. */
export interface ToolInputs<F extends Fields = Fields> {
  /** The MCP tool name, e.g. build_image. */
  readonly tool: string;
  /** The CLI command, e.g. build; undefined when the CLI has none. */
  readonly command: string | undefined;
  readonly fields: F;
  /**
   * Strict: an unknown field is refused with its name and the accepted ones, never silently dropped (a `push: true`
   * that nobody reads is worse than an error). Every issue is worded by `describeIssue`.
   */
  readonly schema: z.ZodObject<Shape<F>, z.core.$strict>;
}

/** The parsed input a tool handler receives (and the CLI builds from its options). */
export type InputOf<T extends ToolInputs> = z.output<T['schema']>;

export function unknownFieldsMessage(tool: string, unknown: readonly string[], accepted: readonly string[]): string {
  const names = unknown.map((key) => `"${key}"`).join(', ');
  return (
    `unknown field${unknown.length > 1 ? 's' : ''} ${names}: ${tool} accepts ${accepted.join(', ')}. ` +
    `Remove ${unknown.length > 1 ? 'them' : 'it'} and call again (nothing was done).`
  );
}

export function defineInputs<F extends Fields>(tool: string, command: string | undefined, fields: F): ToolInputs<F> {
  const accepted = Object.keys(fields);
  const shape = Object.fromEntries(
    Object.entries(fields).map(([name, spec]) => [
      name,
      spec.schema((issue: FieldIssue) => {
        const { problem, hint } = describeIssue(spec, issue, issue.input, name);
        return `${name} ${problem}. ${hint}`;
      }),
    ]),
  ) as Shape<F>;
  const schema = z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? unknownFieldsMessage(tool, issue.keys, accepted)
        : `${tool} takes an object of named fields: ${accepted.join(', ')}.`,
  });
  return { tool, command, fields, schema };
}
