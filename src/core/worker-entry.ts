/**
 * Where a worker thread's entry file is. Compiled code (dist/) runs the sibling
 * .js file; source runs under vitest/tsx run the .ts file with the tsx loader.
 * The caller passes its own import.meta.url so the lookup is relative to it.
 */
export function workerEntry(callerUrl: string, baseName: string): { url: URL; execArgv: string[] } {
  const fromSource = callerUrl.endsWith('.ts');
  const url = new URL(`./${baseName}.${fromSource ? 'ts' : 'js'}`, callerUrl);
  const execArgv = process.execArgv.filter((a) => a !== '--no-node-snapshot');
  return { url, execArgv: fromSource && !execArgv.some((a) => a.includes('tsx')) ? [...execArgv, '--import', 'tsx'] : execArgv };
}
