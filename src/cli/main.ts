import { isRewarddError } from '../core/errors.js';
import { rewarddVersion } from '../core/version.js';
import { exitCodeOf } from './args.js';

/**
 * `rewardd <verb>`: parses nothing itself; each verb module owns its flags
 * and help. Verbs load lazily, so `rewardd record` on a laptop never loads
 * the policy runtimes or the sandbox.
 */
type Verb = { summary: string; load: () => Promise<{ main(argv: string[]): Promise<number>; help: string }> };

const VERBS: Record<string, Verb> = {
  run: { summary: 'run the robot: sensors -> policy -> safety -> actuators, rewards, episode log', load: () => import('./run.js') },
  record: { summary: 'subscribe to episode logs over MQTT and store them (MCAP files + SQLite catalog)', load: () => import('./record.js') },
  episodes: { summary: 'list / show / label stored episodes from a recorder store', load: () => import('./episodes.js') },
  relabel: { summary: 're-score stored episodes with a reward version; --verify checks determinism', load: () => import('./relabel.js') },
  export: { summary: 'export (relabelled) episodes for offline RL training', load: () => import('./export.js') },
  reward: { summary: 'reward check FILE | diff A B --store DIR | push FILE --robot ID | generate | refine (LLM authoring)', load: () => import('./reward-verb.js') },
  calibrate: { summary: 'measure a calibration against a live link (imu-rest, range, odometry)', load: () => import('./calibrate.js') },
  policy: { summary: 'policy check DIR | policy bench DIR', load: () => import('./policy.js') },
  dashboard: { summary: 'serve the live reward dashboard from a laptop (--mqtt ws://ROBOT:9001)', load: () => import('./dashboard.js') },
  estop: { summary: 'trigger or reset the e-stop of a robot', load: () => import('./estop.js') },
  arm: { summary: 'let a running robot\'s actions reach its actuators (signed with --key)', load: async () => armVerb('arm') },
  disarm: { summary: 'hold a running robot\'s actuators at their stop values', load: async () => armVerb('disarm') },
  episode: { summary: 'episode next: end a running robot\'s reset phase, so its next episode starts (signed with --key)', load: () => import('./episode.js') },
  firmware: { summary: 'firmware sim: build and run the firmware on a pseudo-terminal (host build, or --mcu avr: the sketch in simavr)', load: () => import('./firmware.js') },
  vision: { summary: 'vision fetch NAME --out DIR | vision make-model --out DIR | vision check DIR (camera rewards, docs/vision.md)', load: () => import('./vision.js') },
  keys: { summary: 'keys new: make an ed25519 key pair for signed reward pushes', load: () => import('./keys.js') },
};

async function armVerb(action: 'arm' | 'disarm'): Promise<{ main(argv: string[]): Promise<number>; help: string }> {
  const m = await import('./arm.js');
  return { main: (argv) => m.main(action, argv), help: m.help(action) };
}

function usage(): string {
  const w = Math.max(...Object.keys(VERBS).map((k) => k.length));
  return [
    `rewardd ${rewarddVersion()}: a reward runtime for real robots`,
    '',
    'Usage: rewardd <verb> [options]     (rewardd <verb> --help for its options)',
    '',
    ...Object.entries(VERBS).map(([k, v]) => `  ${k.padEnd(w)}  ${v.summary}`),
  ].join('\n');
}

export async function cli(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(`${usage()}\n`);
    return verb === undefined ? 2 : 0;
  }
  if (verb === '--version') {
    process.stdout.write(`${rewarddVersion()}\n`);
    return 0;
  }
  const v = VERBS[verb];
  if (!v) {
    process.stderr.write(`rewardd: unknown verb "${verb}"; expected one of ${Object.keys(VERBS).join(', ')}\n`);
    return 2;
  }
  try {
    const mod = await v.load();
    return await mod.main(rest);
  } catch (e) {
    // One line, coded when we know what went wrong; the stack only when we do not.
    if (isRewarddError(e)) process.stderr.write(`rewardd ${verb}: ${e.message}\n`);
    else process.stderr.write(`rewardd ${verb}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return exitCodeOf(e);
  }
}
