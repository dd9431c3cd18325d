import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  ErrorCode,
  McpError,
  type CallToolResult,
  type ReadResourceResult,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { ServerDeps } from './deps.js';
import { buildLogResources, type ResourceTemplateDefinition } from './resources/build-logs.js';
import { createTools } from './tools/index.js';
import type { AnyToolDefinition, ConfirmQuestion, ToolContext } from './tools/tool.js';
import { ExpectedFailure, InputError, failureText } from './util/errors.js';
import { SERVER_NAME, VERSION } from './version.js';

const INSTRUCTIONS =
  'Builds container images (especially PyTorch training images) reliably. Workflow: detect_environment -> ' +
  'analyze_dockerfile -> build_image -> get_build_status (when a build is still running) -> smoke_test.';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

function toolContext(server: McpServer, extra: Extra): ToolContext {
  const progressToken = extra._meta?.progressToken;
  return {
    signal: extra.signal,
    async progress(progress, total, message) {
      if (progressToken === undefined) return;
      await extra.sendNotification({
        method: 'notifications/progress',
        params: { progressToken, progress, total, message },
      });
    },
    async log(level, message) {
      await server.sendLoggingMessage({ level, logger: SERVER_NAME, data: message });
    },
    ...(server.server.getClientCapabilities()?.elicitation
      ? { confirm: (question) => confirm(server, extra, question) }
      : {}),
  };
}

/** How long a question may wait for the user (a person reads the figures first). */
const CONFIRM_TIMEOUT_MS = 10 * 60_000;

async function confirm(server: McpServer, extra: Extra, question: ConfirmQuestion): Promise<boolean> {
  const answer = await server.server.elicitInput(
    {
      mode: 'form',
      message: question.message,
      requestedSchema: {
        type: 'object',
        properties: { accept: { type: 'boolean', title: question.accept, default: false } },
        required: ['accept'],
      },
    },
    { signal: extra.signal, timeout: CONFIRM_TIMEOUT_MS },
  );
  return answer.action === 'accept' && answer.content?.accept === true;
}

/**
 * Some clients show the agent only the text content (Kiro), others only structuredContent (Claude Code): the text is
 * the one-line summary, a blank line, then the same structured result as JSON, so either reader sees everything. The
 * structured result is already bounded (log tails, list limits), so the text is too.
 */
export function resultText(summary: string, structured: unknown): string {
  return structured === undefined ? summary : `${summary}\n\n${JSON.stringify(structured, null, 2)}`;
}

function registerTool(server: McpServer, tool: AnyToolDefinition): void {
  server.registerTool(
    tool.name,
    {
      title: tool.title,
      description: tool.description,
      inputSchema: tool.inputSchema,
      outputSchema: tool.outputSchema,
      annotations: { title: tool.title, ...tool.annotations },
    },
    async (input: Record<string, unknown>, extra: Extra): Promise<CallToolResult> => {
      try {
        const outcome = await tool.handler(input, toolContext(server, extra));
        const result: CallToolResult = {
          content: [{ type: 'text', text: resultText(outcome.summary, outcome.structured) }],
        };
        for (const link of outcome.links ?? []) result.content.push({ type: 'resource_link', ...link });
        if (outcome.structured !== undefined) result.structuredContent = outcome.structured as Record<string, unknown>;
        if (outcome.isError) result.isError = true;
        return result;
      } catch (error) {
        // Bad input and expected failures (AWS denied, throttled, unreachable…) are the agent's to act on: say what
        // and the next step. Anything else is a bug and propagates.
        if (error instanceof InputError || error instanceof ExpectedFailure) {
          return { content: [{ type: 'text', text: failureText(error) }], isError: true };
        }
        throw error;
      }
    },
  );
}

function registerResourceTemplate(server: McpServer, definition: ResourceTemplateDefinition): void {
  const { list } = definition;
  server.registerResource(
    definition.name,
    new ResourceTemplate(definition.uriTemplate, {
      list: list ? async () => ({ resources: await list() }) : undefined,
    }),
    { title: definition.title, description: definition.description, mimeType: definition.mimeType },
    async (uri, variables): Promise<ReadResourceResult> => {
      const flat = Object.fromEntries(
        Object.entries(variables).map(([key, value]) => [key, Array.isArray(value) ? value.join(',') : value]),
      );
      try {
        const page = await definition.read(uri.href, flat);
        return { contents: [{ uri: page.uri, mimeType: page.mimeType, text: page.text, _meta: page.meta }] };
      } catch (error) {
        // A resource read has no isError: bad URIs and unreadable logs are invalid params, with the next step.
        if (error instanceof InputError || error instanceof ExpectedFailure) {
          throw new McpError(ErrorCode.InvalidParams, failureText(error));
        }
        throw error;
      }
    },
  );
}

/** Builds the MCP server with every tool and resource registered; the caller connects it to a transport. */
export function createServer(deps: ServerDeps): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, version: VERSION },
    { capabilities: { logging: {} }, instructions: INSTRUCTIONS },
  );
  for (const tool of createTools(deps)) registerTool(server, tool);
  for (const resource of buildLogResources(deps.builds)) registerResourceTemplate(server, resource);
  return server;
}
