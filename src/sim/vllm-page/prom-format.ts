/**
 * Prometheus text exposition (0.0.4) written the way Python's prometheus_client writes it, since
 * that is what vLLM serves: values through `floatToGoString` (8 → "8.0", 1748231183.2 →
 * "1.7482311832e+09"), label values escaped, `le` bounds formatted the same way.
 */

const ESCAPE = /[\\\n"]/g;

export function escapeLabelValue(v: string): string {
  return v.replace(ESCAPE, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** `{k="v",…}` in the given order, or '' for no labels. */
export function labelString(labels: readonly (readonly [string, string])[]): string {
  if (labels.length === 0) return '';
  let s = '{';
  for (let i = 0; i < labels.length; i++) {
    const [k, v] = labels[i]!;
    s += `${i === 0 ? '' : ','}${k}="${escapeLabelValue(v)}"`;
  }
  return `${s}}`;
}

/** Python's repr() of a float, for the magnitudes metrics take. */
function pyRepr(d: number): string {
  if (Number.isInteger(d) && Math.abs(d) < 1e16) return `${d}.0`;
  const abs = Math.abs(d);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    // Python: 5e-05, 1.5e+16 (two-digit exponent at least)
    const [m, e] = d.toExponential().split('e') as [string, string];
    const sign = e.startsWith('-') ? '-' : '+';
    const digits = e.replace(/^[+-]/, '');
    return `${m}e${sign}${digits.length < 2 ? `0${digits}` : digits}`;
  }
  return String(d);
}

/** prometheus_client's floatToGoString. */
export function goFloat(d: number): string {
  if (d === Number.POSITIVE_INFINITY) return '+Inf';
  if (d === Number.NEGATIVE_INFINITY) return '-Inf';
  if (Number.isNaN(d)) return 'NaN';
  const s = pyRepr(d);
  const dot = s.indexOf('.');
  if (d > 0 && dot > 6) {
    let mantissa = `${s[0]}.${s.slice(1, dot)}${s.slice(dot + 1)}`;
    let end = mantissa.length;
    while (end > 0 && (mantissa[end - 1] === '0' || mantissa[end - 1] === '.')) end--;
    mantissa = mantissa.slice(0, end);
    return `${mantissa}e+0${dot - 1}`;
  }
  return s;
}

/** `# HELP` and `# TYPE` lines of a family. */
export function header(
  name: string,
  type: 'counter' | 'gauge' | 'histogram' | 'summary',
  help: string,
): string {
  return `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`;
}
