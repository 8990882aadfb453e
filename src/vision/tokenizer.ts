/**
 * Text → token ids for the text encoder, padded to the context length.
 *
 *   bytes     the shipped random model's: <sot>=256, the UTF-8 bytes, <eot>=257, pad 0.
 *   clip-bpe  OpenAI CLIP's byte-level BPE (simple_tokenizer.py) from vocab.json and
 *             merges.txt (as in Hugging Face CLIP folders): lowercased, whitespace
 *             collapsed, words split by CLIP's pattern, bytes mapped to printable
 *             characters, merges applied by rank, `</w>` closing each word.
 *             Padded with <eot> like Hugging Face's tokenizer.
 *
 * Both put the end-of-text token at the highest id present, which is how the text
 * encoder finds the row to pool (argmax of the ids).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RewarddError } from '../core/errors.js';
import type { Tokenizer } from './manifest.js';

export interface TextTokenizer {
  /** Ids for one prompt, length = context; text past the context is cut, <eot> kept. */
  encode(text: string, context: number): BigInt64Array;
}

export const BYTES_SOT = 256;
export const BYTES_EOT = 257;

const bytesTokenizer: TextTokenizer = {
  encode(text, context) {
    const b = new TextEncoder().encode(text);
    const ids = new BigInt64Array(context);
    ids[0] = BigInt(BYTES_SOT);
    const n = Math.min(b.length, context - 2);
    for (let i = 0; i < n; i++) ids[i + 1] = BigInt(b[i]!);
    ids[n + 1] = BigInt(BYTES_EOT);
    return ids;
  },
};

/** GPT-2 / CLIP's reversible byte → printable character table. */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let i = 33; i <= 126; i++) bs.push(i);
  for (let i = 161; i <= 172; i++) bs.push(i);
  for (let i = 174; i <= 255; i++) bs.push(i);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const table: string[] = new Array<string>(256);
  bs.forEach((b, i) => (table[b] = String.fromCodePoint(cs[i]!)));
  return table;
}

const WORD_RE = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;
/** Distinct words whose BPE is remembered (prompts repeat). */
const BPE_CACHE_MAX = 4096;

export class ClipBpe implements TextTokenizer {
  private readonly ranks = new Map<string, number>();
  private readonly byteChar = bytesToUnicode();
  private readonly cache = new Map<string, string[]>();
  private readonly sot: number;
  private readonly eot: number;

  constructor(private readonly vocab: Record<string, number>, merges: string[]) {
    merges.forEach((m, i) => this.ranks.set(m, i));
    const id = (t: string): number => (typeof vocab[t] === 'number' ? vocab[t] : fail(`vocab: expected the token "${t}", found none`));
    this.sot = id('<|startoftext|>');
    this.eot = id('<|endoftext|>');
  }

  private bpe(token: string): string[] {
    const hit = this.cache.get(token);
    if (hit) return hit;
    let word = [...token];
    word[word.length - 1] += '</w>';
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < word.length; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const a = word[best]!;
      const b = word[best + 1]!;
      const next: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
          next.push(a + b);
          i += 2;
        } else next.push(word[i++]!);
      }
      word = next;
    }
    if (this.cache.size >= BPE_CACHE_MAX) this.cache.clear();
    this.cache.set(token, word);
    return word;
  }

  ids(text: string): number[] {
    const clean = text.replace(/\s+/g, ' ').trim().toLowerCase();
    const out: number[] = [];
    for (const m of clean.matchAll(WORD_RE)) {
      const mapped = [...new TextEncoder().encode(m[0])].map((b) => this.byteChar[b]!).join('');
      for (const piece of this.bpe(mapped)) {
        const id = this.vocab[piece];
        if (typeof id !== 'number') fail(`vocab: expected the BPE piece "${piece}" (of "${m[0]}"), found none`);
        out.push(id as number);
      }
    }
    return out;
  }

  encode(text: string, context: number): BigInt64Array {
    const body = this.ids(text).slice(0, context - 2);
    const ids = new BigInt64Array(context).fill(BigInt(this.eot));
    ids[0] = BigInt(this.sot);
    body.forEach((v, i) => (ids[i + 1] = BigInt(v)));
    return ids;
  }
}

function fail(m: string): never {
  throw new RewarddError('E_VISION', `tokenizer ${m}`);
}

export function loadTokenizer(dir: string, t: Tokenizer): TextTokenizer {
  if (t.kind === 'bytes') return bytesTokenizer;
  let vocab: unknown;
  let merges: string[];
  try {
    vocab = JSON.parse(readFileSync(join(dir, t.vocab), 'utf8'));
    // merges.txt: an optional "#version" line, then "a b" per line, best rank first.
    merges = readFileSync(join(dir, t.merges), 'utf8').split('\n').filter((l) => l.length > 0 && !l.startsWith('#version'));
  } catch (e) {
    return fail(`files ${t.vocab} / ${t.merges}: ${(e as Error).message}`);
  }
  if (!vocab || typeof vocab !== 'object' || Array.isArray(vocab)) return fail(`${t.vocab}: expected a JSON object of token → id, found ${typeof vocab}`);
  return new ClipBpe(vocab as Record<string, number>, merges);
}
