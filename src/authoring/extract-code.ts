/**
 * The reward program inside a model's answer. Models wrap code in prose, split
 * it over several fenced blocks (an explanation snippet, then the file), leave
 * the fence out, or stop mid-block at the token limit. The rule, in order:
 * 1. fenced blocks (```js, ```javascript, ```ts, ```typescript, or bare ```),
 *    a final unterminated one included: the LAST block that has both `meta`
 *    and `reward` (models put the finished file after their sketches);
 *    failing that, all code blocks joined if together they have both;
 * 2. no fence: the answer from its first line that starts like a module
 *    (import, export, const, function, //, /*) to its last line that ends one
 *    (`}`, `;`, `)`), when that span has both `meta` and `reward`.
 * Anything else is "no program found", which goes back to the model as a diagnostic.
 */
export interface Extracted {
  code: string;
  /** How it was found, for the provenance file: "fenced block 2 of 2", "2 fenced blocks joined", "unfenced". */
  how: string;
}

const FENCE = /```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n([\s\S]*?)(?:\n[ \t]*```|$(?![\s\S]))/g;
const CODE_LANGS = new Set(['', 'js', 'javascript', 'mjs', 'ts', 'typescript', 'jsx', 'tsx', 'ecmascript']);
const looksLikeProgram = (s: string): boolean => /\bmeta\b/.test(s) && /\breward\b\s*[(=:]|function\s+reward\b/.test(s);

export function extractProgram(answer: string): Extracted | null {
  const text = answer.replace(/\r\n/g, '\n');
  const blocks: string[] = [];
  for (const m of text.matchAll(FENCE)) {
    if (CODE_LANGS.has((m[1] ?? '').toLowerCase())) blocks.push((m[2] ?? '').replace(/\n?[ \t]*`{0,3}\s*$/, ''));
  }
  if (blocks.length > 0) {
    for (let i = blocks.length - 1; i >= 0; i--) {
      if (looksLikeProgram(blocks[i]!)) return { code: tidy(blocks[i]!), how: `fenced block ${i + 1} of ${blocks.length}` };
    }
    const joined = blocks.join('\n\n');
    if (blocks.length > 1 && looksLikeProgram(joined)) return { code: tidy(joined), how: `${blocks.length} fenced blocks joined` };
    return null;
  }
  const lines = text.split('\n');
  const first = lines.findIndex((l) => /^\s*(import\b|export\b|const\b|let\b|function\b|\/\/|\/\*)/.test(l));
  if (first < 0) return null;
  let last = lines.length - 1;
  while (last > first && !/[};)]\s*$/.test(lines[last]!)) last--;
  const code = lines.slice(first, last + 1).join('\n');
  return looksLikeProgram(code) ? { code: tidy(code), how: 'unfenced' } : null;
}

const tidy = (code: string): string => `${code.replace(/^\n+/, '').trimEnd()}\n`;
