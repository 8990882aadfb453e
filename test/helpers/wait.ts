/** Polls cond() until it holds; fails naming `what` after timeoutMs. Shared by the suites that wait on other threads or processes. */
export async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
