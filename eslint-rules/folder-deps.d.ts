import type { ESLint } from 'eslint';

export interface DepsList {
  all: string[];
  files: Map<string, string[]>;
}
export function parseDepsList(text: string): DepsList;
declare const plugin: ESLint.Plugin & { rules: Record<'folder-deps', import('eslint').Rule.RuleModule> };
export default plugin;
