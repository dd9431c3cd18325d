import { environmentDeps, type ServerDeps } from '../deps.js';
import { detectEnvironmentTool } from './detect-environment.js';
import type { AnyToolDefinition } from './tool.js';

/** Every tool the server offers, in the order an agent uses them. */
export function createTools(deps: ServerDeps): AnyToolDefinition[] {
  return [detectEnvironmentTool(environmentDeps(deps))];
}
