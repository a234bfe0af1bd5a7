/**
 * Reading a plugin's `parameters` with precise complaints. A factory reads each field it knows
 * through a ParamReader, then calls `done()`: every problem found (wrong type, out of range, unknown
 * field) is thrown at once as a PluginParamsError, each naming its field and what would fix it, so
 * `infergate validate` can print `plugins[2].parameters.blockSize: …`.
 */
import { parseDuration } from '../../util/duration.js';

export interface ParamIssue {
  /** Field name inside `parameters` ('' for the parameters object itself). */
  field: string;
  message: string;
  fix?: string;
}

/** Thrown by plugin factories; carries every issue found in the plugin's parameters. */
export class PluginParamsError extends Error {
  readonly code = 'INVALID_PLUGIN_PARAMETERS';
  readonly issues: readonly ParamIssue[];

  constructor(pluginType: string, issues: readonly ParamIssue[]) {
    super(
      `${pluginType}: ${issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join('; ')}`,
    );
    this.name = 'PluginParamsError';
    this.issues = issues;
  }
}

interface NumberOpts {
  min?: number;
  max?: number;
  /** Other accepted field names (upstream spellings), e.g. `hashBlockSize` for `blockSize`. */
  aliases?: readonly string[];
}

export class ParamReader {
  private readonly issues: ParamIssue[] = [];
  /** Every accepted key, aliases included. */
  private readonly known: string[] = [];
  /** Primary field names, for the "known parameters" hint. */
  private readonly documented: string[] = [];
  private readonly params: Readonly<Record<string, unknown>>;

  constructor(
    private readonly pluginType: string,
    params: unknown,
  ) {
    if (params === undefined || params === null) this.params = {};
    else if (typeof params === 'object' && !Array.isArray(params)) {
      this.params = params as Record<string, unknown>;
    } else {
      this.params = {};
      this.issues.push({ field: '', message: 'parameters must be a mapping', fix: 'write `parameters: {}`' });
    }
  }

  int(field: string, fallback: number, opts: NumberOpts = {}): number {
    return this.number(field, fallback, opts, true);
  }

  float(field: string, fallback: number, opts: NumberOpts = {}): number {
    return this.number(field, fallback, opts, false);
  }

  bool(field: string, fallback: boolean): boolean {
    const [key, raw] = this.take(field, []);
    if (raw === undefined) return fallback;
    if (typeof raw === 'boolean') return raw;
    this.issues.push({
      field: key,
      message: `must be true or false, got ${show(raw)}`,
      fix: `${key}: ${fallback}`,
    });
    return fallback;
  }

  string(field: string, fallback: string): string {
    const [key, raw] = this.take(field, []);
    if (raw === undefined) return fallback;
    if (typeof raw === 'string' && raw.length > 0) return raw;
    this.issues.push({ field: key, message: `must be a non-empty string, got ${show(raw)}` });
    return fallback;
  }

  oneOf<T extends string>(field: string, fallback: T, values: readonly T[]): T {
    const [key, raw] = this.take(field, []);
    if (raw === undefined) return fallback;
    if (typeof raw === 'string' && (values as readonly string[]).includes(raw)) return raw as T;
    this.issues.push({
      field: key,
      message: `must be one of ${values.join(', ')}, got ${show(raw)}`,
      fix: `${key}: ${fallback}`,
    });
    return fallback;
  }

  /** A duration in ms: a number of milliseconds or a Gateway API / Go duration string ("200ms", "2s"). */
  durationMs(field: string, fallback: number, opts: NumberOpts = {}): number {
    const [key, raw] = this.take(field, opts.aliases ?? []);
    if (raw === undefined) return fallback;
    const ms = typeof raw === 'number' ? raw : typeof raw === 'string' ? parseDuration(raw) : undefined;
    if (ms === undefined || !Number.isFinite(ms)) {
      this.issues.push({
        field: key,
        message: `must be a duration (e.g. "200ms", "2s") or milliseconds, got ${show(raw)}`,
        fix: `${key}: ${fallback}ms`,
      });
      return fallback;
    }
    return this.range(key, ms, fallback, opts) ? ms : fallback;
  }

  /** Throws PluginParamsError when anything was wrong, including fields nobody read. */
  done(): void {
    for (const key of Object.keys(this.params)) {
      if (this.known.includes(key)) continue;
      this.issues.push({
        field: key,
        message: `unknown parameter of ${this.pluginType}`,
        fix: this.documented.length
          ? `known parameters: ${this.documented.join(', ')}`
          : `${this.pluginType} takes no parameters: remove it`,
      });
    }
    if (this.issues.length) throw new PluginParamsError(this.pluginType, this.issues);
  }

  private number(field: string, fallback: number, opts: NumberOpts, integer: boolean): number {
    const [key, raw] = this.take(field, opts.aliases ?? []);
    if (raw === undefined) return fallback;
    if (typeof raw !== 'number' || !Number.isFinite(raw) || (integer && !Number.isInteger(raw))) {
      this.issues.push({
        field: key,
        message: `must be ${integer ? 'an integer' : 'a number'}, got ${show(raw)}`,
        fix: `${key}: ${fallback}`,
      });
      return fallback;
    }
    return this.range(key, raw, fallback, opts) ? raw : fallback;
  }

  private range(key: string, v: number, fallback: number, opts: NumberOpts): boolean {
    const { min, max } = opts;
    if ((min !== undefined && v < min) || (max !== undefined && v > max)) {
      const bounds =
        min !== undefined && max !== undefined
          ? `between ${min} and ${max}`
          : min !== undefined
            ? `≥ ${min}`
            : `≤ ${max}`;
      this.issues.push({ field: key, message: `must be ${bounds}, got ${v}`, fix: `${key}: ${fallback}` });
      return false;
    }
    return true;
  }

  /** Marks `field` and its aliases as known; returns the key used and its value. */
  private take(field: string, aliases: readonly string[]): [string, unknown] {
    this.known.push(field, ...aliases);
    this.documented.push(field);
    if (this.params[field] !== undefined) return [field, this.params[field]];
    for (const a of aliases) if (this.params[a] !== undefined) return [a, this.params[a]];
    return [field, undefined];
  }
}

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? 'a list' : String(v);
}
