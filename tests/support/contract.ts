import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { Ajv, type ValidateFunction } from 'ajv';

/** Validators for each tool's declared outputSchema, compiled from what tools/list returns. */
export async function outputValidators(client: Client): Promise<Map<string, ValidateFunction>> {
  const { tools } = await client.listTools();
  const ajv = new Ajv({ strict: false });
  return new Map(tools.map((tool: Tool) => [tool.name, ajv.compile(tool.outputSchema ?? {})]));
}

/** The text an agent reads from a tool result. */
export function textOf(result: CallToolResult | Record<string, unknown>): string {
  const content = (result as CallToolResult).content ?? [];
  return content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

/** Throws unless structuredContent validates against the tool's outputSchema; returns it. */
export function expectValid<T = Record<string, unknown>>(
  validators: Map<string, ValidateFunction>,
  tool: string,
  result: CallToolResult | Record<string, unknown>,
): T {
  const validate = validators.get(tool);
  if (!validate) throw new Error(`no tool ${tool}`);
  const structured = (result as CallToolResult).structuredContent;
  if (structured === undefined) throw new Error(`${tool} returned no structuredContent: ${textOf(result)}`);
  if (!validate(structured)) throw new Error(`${tool}: ${JSON.stringify(validate.errors)}`);
  return structured as T;
}
