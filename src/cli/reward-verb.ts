/**
 * `rewardd reward <check|diff|push|generate|refine>`: one verb, five jobs, each in
 * its own module (the checker, the offline comparison, the push to a live robot,
 * LLM authoring and Eureka-style refinement).
 */
export const help = [
  'Usage: rewardd reward <subcommand> ...',
  '',
  '  check FILE [--store DIR]          compile, probe and time a reward program (like a compiler)',
  '  diff A B --store DIR              compare two reward versions on stored episodes',
  '  generate --task TEXT --out DIR    ask an LLM for reward programs; check and repair each',
  '  refine --from DIR|FILE --out DIR [--sim | --store DIR]',
  '                                    Eureka\'s loop: train or relabel, reflect, ask again, keep the best',
  '  push FILE --robot ID [--mqtt URL] [--key KEY]',
  '                                    send a reward file to a running robot and print its reply',
  '',
  'rewardd reward <subcommand> --help for the options of each.',
].join('\n');

export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'check':
      return (await import('./reward.js')).main(argv);
    case 'diff':
      return (await import('./reward-diff.js')).main(rest);
    case 'push':
      return (await import('./reward-push.js')).main(rest);
    case 'generate':
      return (await import('./reward-generate.js')).main(rest);
    case 'refine':
      return (await import('./reward-refine.js')).main(rest);
    case '--help':
    case '-h':
      process.stdout.write(`${help}\n`);
      return 0;
    case undefined:
      process.stderr.write('rewardd reward: expected a subcommand check, diff, push, generate or refine, found nothing (rewardd reward --help)\n');
      return 2;
    default:
      process.stderr.write(`rewardd reward: expected check, diff, push, generate or refine, found "${sub}"\n`);
      return 2;
  }
}
