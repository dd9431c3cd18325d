/**
 * An expected, user-correctable problem with the input: which field, what was wrong, what to do.
 * The MCP layer turns it into an `isError: true` result; the CLI prints it to stderr and exits 2.
 * Anything else that is thrown is a bug.
 */
export class InputError extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly hint: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'InputError';
  }
}
