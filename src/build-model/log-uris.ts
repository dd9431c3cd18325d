// The URIs under which the MCP server serves build logs (src/resources/); tool results link to them.

/** `build://ID/log`: the latest attempt's log (its end). */
export function buildLogUri(buildId: string): string {
  return `build://${encodeURIComponent(buildId)}/log`;
}

/** `build://ID/attempt/N/log`: one attempt's log (its end), or from byte `offset` on. */
export function attemptLogUri(buildId: string, attempt: number, offset?: number): string {
  const base = `build://${encodeURIComponent(buildId)}/attempt/${attempt}/log`;
  return offset === undefined ? base : `${base}/${offset}`;
}
