/**
 * Durations as Kubernetes resources write them.
 * - Gateway API (GEP-2257): one to four `<number><unit>` parts, units h, m, s, ms ("24h", "1h30m", "500ms").
 * - Envoy Gateway / Go style also allows fractions ("1.5s"); accepted here too.
 * Returns milliseconds, or undefined when the text is not a duration.
 */
const PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;

export function parseDuration(text: string): number | undefined {
  if (typeof text !== 'string' || text.length === 0) return undefined;
  PART.lastIndex = 0;
  let ms = 0;
  let parts = 0;
  while (PART.lastIndex < text.length) {
    const m = PART.exec(text);
    if (!m) return undefined;
    const n = Number(m[1]);
    switch (m[2]) {
      case 'h':
        ms += n * 3_600_000;
        break;
      case 'm':
        ms += n * 60_000;
        break;
      case 's':
        ms += n * 1000;
        break;
      default:
        ms += n;
    }
    parts++;
  }
  return parts > 0 ? ms : undefined;
}

/** Human form for plans and logs: 86400000 → "24h", 1500 → "1.5s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${+(ms / 1000).toFixed(3)}s`;
  return `${ms}ms`;
}
