import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';

export type LogLevel = 'debug' | 'info' | 'notice' | 'warning' | 'error';

/** What a tool handler may do besides returning: report progress, log, and notice cancellation. */
export interface ToolContext {
  signal: AbortSignal;
  /** Sends notifications/progress when the client asked for it (gave a progress token); otherwise a no-op. */
  progress(progress: number, total: number | undefined, message: string): Promise<void>;
  log(level: LogLevel, message: string): Promise<void>;
  /**
   * Asks the user to accept or decline, through the client (MCP elicitation); undefined when the client cannot
   * ask. Resolves true only for an explicit accept.
   */
  confirm?: (question: ConfirmQuestion) => Promise<boolean>;
}

export interface ConfirmQuestion {
  /** The whole question, with every figure the user decides on. */
  message: string;
  /** The label of the checkbox that accepts. */
  accept: string;
}

/**
 * A handler's answer: structured content with a short text summary, or an expected failure the agent can act on
 * (`isError`, with the next step in the summary; structured content too when there is a record to show).
 */
export type ToolOutcome<Output> =
  | { structured: Output; summary: string; isError?: boolean; links?: ResourceLink[] }
  | { structured?: undefined; summary: string; isError: true; links?: undefined };

/** A resource the result points at (e.g. the build's full log), sent as a `resource_link` content item. */
export interface ResourceLink {
  uri: string;
  name: string;
  description: string;
  mimeType: string;
}

export interface ToolDefinition<Input extends z.ZodRawShape, Output extends z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  /** Strict: unknown fields are refused (src/inputs/ derives it, with the CLI flags, from one description). */
  inputSchema: z.ZodObject<Input, z.core.$strict>;
  outputSchema: Output;
  annotations: ToolAnnotations;
  handler(
    input: z.output<z.ZodObject<Input, z.core.$strict>>,
    context: ToolContext,
  ): Promise<ToolOutcome<z.infer<z.ZodObject<Output>>>>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds tools of different shapes
export type AnyToolDefinition = ToolDefinition<any, any>;

export function defineTool<Input extends z.ZodRawShape, Output extends z.ZodRawShape>(
  definition: ToolDefinition<Input, Output>,
): ToolDefinition<Input, Output> {
  return definition;
}
