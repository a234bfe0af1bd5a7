/**
 * Errors the simulated server answers, with vLLM's status codes, `type` strings and messages
 * (vllm/entrypoints/openai/serving_engine.py, serving_models.py, api_server.py). Bodies use
 * current vLLM's shape: {"error":{"message","type","param","code"}}.
 */
import { type OpenAiErrorBody, openAiErrorBody } from '../../openai/errors.js';

export type SimErrorCode =
  | 'INVALID_JSON' // body is not JSON (FastAPI's RequestValidationError → vLLM 400)
  | 'INVALID_REQUEST' // a field is missing or has the wrong shape/value
  | 'MODEL_NOT_FOUND'
  | 'PROMPT_TOO_LONG'
  | 'MAX_TOKENS_TOO_LARGE'
  | 'LORA_EXISTS'
  | 'LORA_NOT_FOUND'
  | 'NOT_READY' // slow start: the engine is still loading
  | 'INJECTED'; // failure injection

export class SimHttpError extends Error {
  readonly code: SimErrorCode;
  readonly status: number;
  /** vLLM's `type` (BadRequestError, NotFoundError, InvalidUserInput …). */
  readonly type: string;
  readonly param: string | null;

  constructor(
    code: SimErrorCode,
    status: number,
    message: string,
    type?: string,
    param: string | null = null,
  ) {
    super(message);
    this.name = 'SimHttpError';
    this.code = code;
    this.status = status;
    this.type = type ?? openAiErrorBody(status, message).error.type;
    this.param = param;
  }

  body(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.status } };
  }
}

export function badRequest(message: string, param: string | null = null): SimHttpError {
  return new SimHttpError('INVALID_REQUEST', 400, message, 'BadRequestError', param);
}

export function modelNotFound(model: string): SimHttpError {
  return new SimHttpError(
    'MODEL_NOT_FOUND',
    404,
    `The model \`${model}\` does not exist.`,
    'NotFoundError',
    'model',
  );
}

/** FastAPI's JSON decode error as vLLM's validation handler reports it. */
export function invalidJson(detail: string): SimHttpError {
  return new SimHttpError(
    'INVALID_JSON',
    400,
    `[{'type': 'json_invalid', 'loc': ('body', 0), 'msg': 'JSON decode error', 'input': {}, 'ctx': {'error': '${detail.replace(/'/g, '"')}'}}]`,
    'BadRequestError',
  );
}

export function promptTooLong(maxModelLen: number, inputTokens: number): SimHttpError {
  return new SimHttpError(
    'PROMPT_TOO_LONG',
    400,
    `This model's maximum context length is ${maxModelLen} tokens. However, your request has ${inputTokens} input tokens. Please reduce the length of the input messages.`,
    'BadRequestError',
  );
}

export function maxTokensTooLarge(maxTokens: number, maxModelLen: number, inputTokens: number): SimHttpError {
  return new SimHttpError(
    'MAX_TOKENS_TOO_LARGE',
    400,
    `'max_tokens' or 'max_completion_tokens' is too large: ${maxTokens}. This model's maximum context length is ${maxModelLen} tokens and your request has ${inputTokens} input tokens (${maxTokens} > ${maxModelLen} - ${inputTokens}).`,
    'BadRequestError',
  );
}
