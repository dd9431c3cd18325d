// Module hooks (loaded through module.register) that append every resolved module URL to DIB_MODULE_TRACE.
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  if (process.env.DIB_MODULE_TRACE) appendFileSync(process.env.DIB_MODULE_TRACE, `${result.url}\n`);
  return result;
}
