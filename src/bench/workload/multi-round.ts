/**
 * Multi-round chat, as LMCache's multi-round QA benchmark (benchmarks/multi-round-qa/
 * multi-round-qa.py) drives it:
 * - each user's first message is the shared system prompt (`systemPromptLen` tokens, the same text
 *   for every user), then the user's own history (`userHistoryLen` tokens), then a question;
 * - every later round appends the server's actual answer (the text it streamed) and a new question,
 *   so the conversation, and its cacheable prefix, grows round by round;
 * - answers are capped at `answerLen` tokens (`max_tokens`);
 * - the global rate is `qps`: each user asks every numUsers / qps seconds (or as soon as its previous
 *   answer is complete, if that is later: a user never has two questions in flight);
 * - users join gradually: at start the first numUsers users are placed as if the run had been going
 *   on (LMCache's ramp-up: their clocks are staggered and they have fewer rounds left), one new user
 *   joins immediately and then one every (numRounds − 1) × gap / numUsers seconds, so about numUsers
 *   conversations are live at any time;
 * - the run is bounded by time (`--duration`, LMCache's `--time`) and/or a request count.
 * Questions are `questionLen` synthetic tokens, or with `questionLen: 'sharegpt'` drawn from the
 * built-in ShareGPT length distribution with the answer capped at min(drawn output, answerLen),
 * like LMCache's `--sharegpt`. Unlike LMCache we send each request at its exact time (LMCache polls
 * every 100 ms). Two runs send the same requests when the server answers the same text (the
 * simulator does, for the same seed).
 */
import { countTokens } from '../../sim/tokenizer.js';
import { drawShareGptLengths } from './sharegpt.js';
import { streamRng, textOf } from './text.js';
import type { ChatMessage, PromptDraft } from './types.js';

export interface MultiRoundOptions {
  numUsers: number;
  numRounds: number;
  /** Requests per second over all users (in the targets' time). */
  qps: number;
  /** Tokens of the system prompt shared by every user (LMCache's --shared-system-prompt). */
  systemPromptLen: number;
  /** Tokens of each user's own context (LMCache's --user-history-prompt). */
  userHistoryLen: number;
  /** max_tokens of every answer (LMCache's --answer-len). */
  answerLen: number;
  /** Tokens per question, or 'sharegpt' for the built-in ShareGPT distribution. */
  questionLen: number | 'sharegpt';
  seed: number;
}

/** LMCache's README example (its flags have no defaults). */
export const MULTI_ROUND_DEFAULTS: Omit<MultiRoundOptions, 'seed'> = {
  numUsers: 10,
  numRounds: 5,
  qps: 0.5,
  systemPromptLen: 1000,
  userHistoryLen: 2000,
  answerLen: 100,
  questionLen: 16,
};

/** When users start and how often they ask, in ms of the targets' time. */
export interface MultiRoundPlan {
  /** Time between two questions of one user: numUsers / qps. */
  gapPerUserMs: number;
  /** Time between two users joining after the start. */
  gapBetweenUsersMs: number;
  /** Users present at the start (ramp-up), with the time of their first question. */
  initial: { user: number; firstAtMs: number; startQuestion: number }[];
  /** Id of the first user that joins after the ramp-up (at time 0, then every gapBetweenUsersMs). */
  firstJoinerId: number;
}

/** LMCache's UserSessionManager arithmetic, computed once. */
export function multiRoundPlan(opts: MultiRoundOptions): MultiRoundPlan {
  const gapPerUser = (opts.numUsers / opts.qps) * 1000;
  const sessionAlive = gapPerUser * (opts.numRounds - 1);
  // With one round LMCache would add a user every 100 ms poll; join at the global rate instead.
  const gapBetweenUsers = opts.numRounds > 1 ? sessionAlive / opts.numUsers : 1000 / opts.qps;
  const rampUp = opts.numUsers * gapBetweenUsers;
  const initial: MultiRoundPlan['initial'] = [];
  for (let i = 0; i < opts.numUsers; i++) {
    const offset = rampUp - i * gapBetweenUsers;
    if (offset < 0) break;
    const passed = Math.floor(offset / gapPerUser) + 1;
    if (passed >= opts.numRounds) continue; // nothing left to ask
    const lastRequest = -offset + (passed - 1) * gapPerUser;
    initial.push({ user: i + 1, firstAtMs: lastRequest + gapPerUser, startQuestion: passed });
  }
  initial.sort((a, b) => a.firstAtMs - b.firstAtMs || a.user - b.user);
  return {
    gapPerUserMs: gapPerUser,
    gapBetweenUsersMs: gapBetweenUsers,
    initial,
    firstJoinerId: opts.numUsers + 1,
  };
}

/** The shared part of every conversation. */
export class MultiRoundWorkload {
  readonly kind = 'sessions';
  readonly name = 'multi-round';
  readonly systemPrompt: string;

  constructor(readonly opts: MultiRoundOptions) {
    this.systemPrompt = textOf(streamRng(opts.seed, 'system-prompt'), opts.systemPromptLen);
  }

  plan(): MultiRoundPlan {
    return multiRoundPlan(this.opts);
  }

  /** A new conversation of `user` that has already (virtually) asked `startQuestion` questions. */
  conversation(user: number, startQuestion = 0): Conversation {
    return new Conversation(this, user, startQuestion);
  }

  describe(): Record<string, unknown> {
    const o = this.opts;
    return {
      dataset: this.name,
      num_users: o.numUsers,
      num_rounds: o.numRounds,
      qps: o.qps,
      shared_system_prompt: o.systemPromptLen,
      user_history_prompt: o.userHistoryLen,
      answer_len: o.answerLen,
      question_len: o.questionLen,
    };
  }
}

/** One user's chat: its history grows by a question and an answer per round. */
export class Conversation {
  private readonly history: ChatMessage[] = [];
  /** Stand-in tokens of everything in `history`. */
  private historyTokens = 0;
  private questionId: number;
  private readonly lastQuestion: number;

  constructor(
    private readonly workload: MultiRoundWorkload,
    readonly user: number,
    startQuestion: number,
  ) {
    this.questionId = startQuestion;
    this.lastQuestion = workload.opts.numRounds;
  }

  /** Questions still to ask. */
  get remaining(): number {
    return Math.max(0, this.lastQuestion - this.questionId);
  }

  /** The next request: the whole history plus a new question. Call `answer` before the next one. */
  next(): PromptDraft {
    const o = this.workload.opts;
    this.questionId++;
    const rng = streamRng(o.seed, `user-${this.user}-question`, this.questionId);
    let questionLen: number;
    let maxTokens = o.answerLen;
    if (o.questionLen === 'sharegpt') {
      const [q, a] = drawShareGptLengths(() => rng.next());
      questionLen = q;
      maxTokens = Math.min(a, o.answerLen);
    } else {
      questionLen = o.questionLen;
    }
    let content = textOf(rng, questionLen);
    let tokens = questionLen;
    if (this.history.length === 0) {
      const userContext = textOf(streamRng(o.seed, 'user-history', this.user), o.userHistoryLen);
      content = this.workload.systemPrompt + userContext + content;
      tokens += o.systemPromptLen + o.userHistoryLen;
    }
    this.history.push({ role: 'user', content });
    this.historyTokens += tokens;
    return {
      messages: this.history.slice(),
      promptTokens: this.historyTokens,
      maxTokens,
      group: `user-${this.user}`,
    };
  }

  /** Appends the server's answer ('' when the request failed, keeping roles alternating). */
  answer(text: string): void {
    this.history.push({ role: 'assistant', content: text });
    this.historyTokens += countTokens(text);
  }

  /** Messages so far (for tests and reports). */
  get messages(): readonly ChatMessage[] {
    return this.history;
  }
}
