import type { MqttLink } from './mqtt-link.js';

/**
 * The e-stop buttons. Stop goes two ways at once, so it works if either does:
 * published by the page on `<robot>/estop` (QoS 1), and posted to the server
 * that served the page (the daemon itself under `rewardd run`, which latches
 * its control thread directly even with the broker down). Reset only through
 * the server, which follows the CLI's rules (signed or local; dashboard-server.ts).
 */
export interface EstopContext {
  link(): MqttLink | null;
  topic: string;
  robot(): string | null;
  token: string | null;
  resetMode: string;
  /** Latched as last reported by the robot (null: unknown). */
  latched(): boolean | null;
  show(text: string, level: 'ok' | 'bad'): void;
}

async function post(c: EstopContext, token: string, action: 'stop' | 'reset', reason: string): Promise<{ ok: boolean; message?: string; error?: string }> {
  const r = await fetch('api/estop', { method: 'POST', headers: { 'content-type': 'application/json', 'x-rewardd-token': token }, body: JSON.stringify({ action, reason, robot: c.robot() }) });
  return (await r.json()) as { ok: boolean; message?: string; error?: string };
}

export async function stop(c: EstopContext): Promise<void> {
  const reason = 'dashboard e-stop button';
  const link = c.link();
  const paths = await Promise.allSettled([
    link?.connected ? link.publish(c.topic, JSON.stringify({ action: 'stop', reason })).then(() => 'published over MQTT') : Promise.reject(new Error('MQTT not connected')),
    c.token ? post(c, c.token, 'stop', reason).then((r) => (r.ok ? `server: ${r.message ?? 'ok'}` : Promise.reject(new Error(r.error)))) : Promise.reject(new Error('no server')),
  ]);
  const ok = paths.filter((p): p is PromiseFulfilledResult<string> => p.status === 'fulfilled').map((p) => p.value);
  const failed = paths.filter((p): p is PromiseRejectedResult => p.status === 'rejected').map((p) => (p.reason as Error).message);
  if (ok.length > 0) c.show(`STOP sent: ${ok.join('; ')}${failed.length ? ` (also tried: ${failed.join('; ')})` : ''}`, 'ok');
  else c.show(`STOP could NOT be sent: ${failed.join('; ')}. Use the robot's physical stop or \`rewardd estop stop\`.`, 'bad');
}

export async function reset(c: EstopContext): Promise<void> {
  if (!c.token) return c.show('reset needs the server that served this page', 'bad');
  let r;
  try {
    r = await post(c, c.token, 'reset', 'dashboard reset button');
  } catch (e) {
    return c.show(`reset failed: ${(e as Error).message}`, 'bad');
  }
  if (!r.ok) return c.show(`reset refused: ${r.error ?? '?'}`, 'bad');
  c.show(`reset sent: ${r.message ?? ''}; waiting for the robot to confirm…`, 'ok');
  // The robot is the judge: a signed-only robot refuses an unsigned reset (and logs why).
  const t0 = performance.now();
  const check = (): void => {
    const l = c.latched();
    if (l === false) c.show(`e-stop reset: the robot reports it clear (${r.message ?? ''})`, 'ok');
    else if (l === null && performance.now() - t0 > 4000) c.show(`reset sent (${r.message ?? ''}), but no health report from the robot to confirm it`, 'bad');
    else if (performance.now() - t0 > 4000) c.show(`the robot still reports the e-stop latched 4 s after the reset: it refused it (see its log); ${c.resetMode === 'unsigned' ? 'start rewardd dashboard with --key, or ' : ''}reset on the robot with \`rewardd estop reset\``, 'bad');
    else setTimeout(check, 250);
  };
  setTimeout(check, 250);
}
