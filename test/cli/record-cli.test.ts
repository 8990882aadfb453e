import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../helpers/temp.js';
import { freePort } from '../transport/helpers.js';
import { startSecureBroker, type SecureBroker } from '../trust/secure-broker.js';
import { requireBuild, startCli } from './bin.js';

/**
 * `rewardd record` against a broker it cannot use (built binary): the status line says why it is
 * disconnected (ECONNREFUSED, ENOTFOUND), and a refusal no retry can cure (bad credentials, on a
 * private Mosquitto with the shipped field config: TLS, password file, ACL) ends it with one line
 * and exit 1 instead of a DISCONNECTED line every 5 s forever.
 */
const tmp = tempDirs();
beforeAll(requireBuild);

describe('rewardd record: why it is not connected', () => {
  it('a dead port: DISCONNECTED (connect ECONNREFUSED ...) in the status line; Ctrl-C exits 0', async () => {
    const port = await freePort();
    const rec = startCli(['record', '--mqtt', `mqtt://127.0.0.1:${port}`, '--store', tmp('rewardd-rec-dead-')]);
    await rec.waitFor(/DISCONNECTED \(connect ECONNREFUSED 127\.0\.0\.1:\d+\) \| messages 0/, 'a status line with the reason', 30_000);
    expect(await rec.stop()).toBe(0);
  });

  it('an unknown host: DISCONNECTED (getaddrinfo ENOTFOUND ...) in the status line', async () => {
    const rec = startCli(['record', '--mqtt', 'mqtt://no-such-broker.invalid:1883', '--store', tmp('rewardd-rec-nohost-')]);
    // ENOTFOUND: the resolver says no such name (.invalid never resolves); EAI_AGAIN only on a machine with no resolver at all.
    await rec.waitFor(/DISCONNECTED \(getaddrinfo (ENOTFOUND|EAI_AGAIN) no-such-broker\.invalid\) \| messages 0/, 'a status line naming ENOTFOUND', 30_000);
    expect(await rec.stop()).toBe(0);
  });

  describe('on a broker with passwords', () => {
    let broker: SecureBroker;
    beforeAll(async () => {
      broker = await startSecureBroker([]);
    });
    afterAll(async () => {
      await broker?.stop();
    });

    it('bad credentials: exits 1 with one line naming the refusal', async () => {
      const rec = startCli(['record', '--mqtt', broker.url, '--ca', broker.caFile, '--username', 'rec+site1', '--password', 'not-the-password', '--store', tmp('rewardd-rec-auth-')]);
      const code = await Promise.race([rec.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 30_000))]);
      if (code === 'running') await rec.stop(1000);
      expect(code).toBe(1);
      const err = rec.err();
      expect(err.trim().split('\n')).toHaveLength(1);
      expect(err).toMatch(/^rewardd record: E_MQTT: mqtts:\/\/127\.0\.0\.1:\d+: broker refused the connection: (not authorized|bad username or password) \(CONNACK code \d+\); check --username, --password and the broker's ACL\n$/);
    });

    it('the right credentials connect (the refusal above was about them)', async () => {
      const rec = startCli(['record', '--mqtt', broker.url, '--ca', broker.caFile, '--username', 'rec+site1', '--password', broker.passwords['rec+site1']!, '--store', tmp('rewardd-rec-ok-')]);
      await rec.waitFor(/^connected \| messages 0/m, 'a connected status line', 30_000);
      expect(await rec.stop()).toBe(0);
      expect(rec.err()).toBe('');
    });
  });
});
