/**
 * One candidate from the model's first answer to a program that passes
 * `reward check`, or the attempt given up: extract the program, check it, and
 * send the diagnostics back, at most `repairTurns` times (the step Eureka
 * lacks: there, a sample that does not run is simply lost).
 *
 * Message bound: the conversation sent for a repair is the original messages
 * plus the model's latest attempt and its diagnostics (2 messages), never the
 * whole history of failed attempts.
 */
import type { RobotDescription } from '../core/robot.js';
import type { CheckReport } from '../reward/check.js';
import { checkRewardProgram } from '../reward/check-isolated.js';
import { formatDiagnostic } from '../reward/index.js';
import { extractProgram } from './extract-code.js';
import { LlmError, type ChatAnswer, type ChatClient, type ChatMessage } from './llm-client.js';
import { NO_PROGRAM_PROMPT, repairPrompt, TRUNCATED_NOTE } from './prompt.js';
import type { ExchangeSink } from './transcript.js';

export const REPAIR_TURNS_DEFAULT = 3;

export interface CandidateTurn {
  turn: number;
  /** How the program was found in the answer, or null if it was not. */
  extracted: string | null;
  finishReason: string;
  continued: number;
  truncated: boolean;
  check?: { ok: boolean; errors: number; warnings: number; diagnostics: string[]; terms: string[]; version?: string };
  llmError?: string;
}

export interface AuthoredCandidate {
  /** The last program extracted (passed or not), or null if the model never gave one. */
  code: string | null;
  /** The last program compiled and exported meta (it loaded in the sandbox). */
  compiled: boolean;
  /** The last program passed `reward check`. */
  checked: boolean;
  /** Repair turns used (0 when the first answer passed). */
  repairs: number;
  terms: string[];
  report?: CheckReport;
  turns: CandidateTurn[];
  requests: number;
  tokens: { prompt: number; completion: number; total: number };
  llmMs: number;
  /** Why there is no program: the endpoint failed, or repairs ran out. */
  error?: string;
}

export interface AuthorContext {
  client: ChatClient;
  sink: ExchangeSink;
  robot: RobotDescription;
  filename: string;
  repairTurns: number;
  /** Called after every turn, so the caller can write its files as it goes. */
  onTurn?: (c: AuthoredCandidate) => void;
}

export async function authorCandidate(first: ChatAnswer | LlmError, messages: ChatMessage[], ctx: AuthorContext): Promise<AuthoredCandidate> {
  const c: AuthoredCandidate = { code: null, compiled: false, checked: false, repairs: 0, terms: [], turns: [], requests: 0, tokens: { prompt: 0, completion: 0, total: 0 }, llmMs: 0 };
  let answer: ChatAnswer | LlmError = first;
  for (let turn = 0; ; turn++) {
    if (answer instanceof LlmError) {
      c.turns.push({ turn, extracted: null, finishReason: '-', continued: 0, truncated: false, llmError: answer.message });
      c.error = answer.message;
      ctx.onTurn?.(c);
      return c;
    }
    c.requests += answer.requests;
    c.llmMs += answer.ms;
    c.tokens.prompt += answer.usage.prompt_tokens;
    c.tokens.completion += answer.usage.completion_tokens;
    c.tokens.total += answer.usage.total_tokens;
    const t: CandidateTurn = { turn, extracted: null, finishReason: answer.finishReason, continued: answer.continued, truncated: answer.truncated };
    c.turns.push(t);
    const ex = extractProgram(answer.content);
    let feedback: string;
    if (ex === null) {
      feedback = answer.truncated ? TRUNCATED_NOTE : NO_PROGRAM_PROMPT;
    } else {
      t.extracted = ex.how;
      c.code = ex.code;
      const report = await checkRewardProgram({ source: ex.code, filename: ctx.filename, robot: ctx.robot });
      c.report = report;
      c.compiled = report.info !== undefined;
      c.checked = report.ok;
      c.terms = report.info?.termNames ?? [];
      const errors = report.diagnostics.filter((d) => d.severity === 'error').length;
      t.check = {
        ok: report.ok,
        errors,
        warnings: report.diagnostics.length - errors,
        diagnostics: report.diagnostics.map(formatDiagnostic),
        terms: c.terms,
        ...(report.info ? { version: report.info.version } : {}),
      };
      feedback = repairPrompt(report.diagnostics);
    }
    ctx.onTurn?.(c);
    if (c.checked) return c;
    if (turn >= ctx.repairTurns) {
      c.error = ex === null ? `no program in the answer after ${turn} repair turn(s)` : `reward check still failed after ${turn} repair turn(s)`;
      ctx.onTurn?.(c);
      return c;
    }
    c.repairs = turn + 1;
    const conversation: ChatMessage[] = [...messages, { role: 'assistant', content: answer.content }, { role: 'user', content: feedback }];
    answer = await ctx.client.answer(conversation, ctx.sink, `repair ${turn + 1}`).catch((e: unknown) => {
      if (e instanceof LlmError) return e;
      throw e;
    });
  }
}
