import type { Diagnostic } from './diagnostics.js';

/**
 * A source-level check that catches the most common LLM slip before anything
 * runs: reading an observation or action field the robot does not have
 * (`obs.range_frnt`, `obs.beacon_dist`). Such a read is `undefined` at run time
 * and surfaces only later as a NaN term; here it gets its own line and a
 * "did you mean". It looks at `<param>.<field>` where <param> is the name the
 * program gives the first two parameters of reward() (and the first of
 * success()/done()); one-letter parameter names only get warnings, since
 * `o.x` may well be some other object.
 */
export function checkFieldNames(source: string, file: string, obsNames: readonly string[], actNames: readonly string[]): Diagnostic[] {
  const params = (fn: string): string[] => {
    const m = new RegExp(`\\b${fn}\\s*(?:=\\s*)?(?:function\\s*)?\\(([^)]*)\\)`).exec(source);
    if (!m) return [];
    return (m[1] ?? '').split(',').map((p) => (p.split(/[:=]/)[0] ?? '').trim()).filter((p) => /^[A-Za-z_$][\w$]*$/.test(p));
  };
  const r = params('reward');
  const obsParams = new Set([r[0], params('success')[0], params('done')[0]].filter((p): p is string => p !== undefined));
  const actParams = new Set([r[1]].filter((p): p is string => p !== undefined));
  const diags: Diagnostic[] = [];
  const seen = new Set<string>();
  const scan = (param: string, known: readonly string[], what: string): void => {
    const re = new RegExp(`(?<![\\w$.])${param.replace(/\$/g, '\\$')}\\.([A-Za-z_$][\\w$]*)`, 'g');
    for (let m = re.exec(source); m; m = re.exec(source)) {
      const field = m[1] ?? '';
      if (known.includes(field) || seen.has(`${param}.${field}`)) continue;
      seen.add(`${param}.${field}`);
      const before = source.slice(0, m.index);
      const line = before.split('\n').length;
      const column = m.index - before.lastIndexOf('\n');
      const guess = nearest(field, known);
      diags.push({
        severity: param.length >= 3 ? 'error' : 'warning',
        code: param.length >= 3 ? 'E_REWARD_EXPORTS' : 'W_UNKNOWN_FIELD',
        file,
        line,
        column,
        lineText: source.split('\n')[line - 1] ?? '',
        message: `${param}.${field}: expected one of the robot's ${what} (${known.join(', ')}), found "${field}"${guess ? `; did you mean ${param}.${guess}?` : ''}`,
      });
    }
  };
  for (const p of obsParams) scan(p, obsNames, 'observations');
  for (const p of actParams) scan(p, actNames, 'actions');
  return diags;
}

function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(3, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] as number;
}
