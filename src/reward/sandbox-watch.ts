/**
 * Lets a process-level guard (src/reward/host/guard.ts, started only inside
 * reward host processes) watch the control words of every sandbox built in
 * this process, without the sandbox depending on the guard. Outside a host
 * nothing is registered and watching costs nothing.
 */
type Watcher = (ctl: Int32Array) => () => void;

let watcher: Watcher | null = null;

export function setSandboxWatcher(w: Watcher): void {
  watcher = w;
}

/** Called by Sandbox.build; the returned function is called when the sandbox is disposed. */
export function watchSandbox(ctl: Int32Array): () => void {
  return watcher ? watcher(ctl) : () => {};
}
