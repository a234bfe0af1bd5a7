/** The simulator's stand-in tokenizer lives in the tokenizer room (the gateway can tokenize like the simulator). */
export { countTokens, synthText, tokenize, VOCABULARY } from '../tokenizer/stand-in.js';
