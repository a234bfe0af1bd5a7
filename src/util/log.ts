import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * The process logger: JSON lines on stderr (stdout is kept for a command's own output: plans,
 * ready lines, benchmark tables). Level from INFERGATE_LOG_LEVEL (default "info").
 */
export function createLogger(name: string, level = process.env.INFERGATE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything (library use and tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
