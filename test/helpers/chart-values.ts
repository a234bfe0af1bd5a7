/**
 * The values documentation of the Helm chart: helm-docs style `# --` comments in values.yaml (a
 * documented map covers its children) and the README table made from them. Used by
 * test/k8s/chart.test.ts; no test framework here, so the table can be regenerated with tsx too.
 */
import { isMap, parseDocument, type YAMLMap } from 'yaml';

export interface ValueDoc {
  key: string;
  value: string;
  description: string;
}

/** The text after the last `-- ` marker of a values.yaml comment, on one line. */
export function descriptionOf(comment: string | undefined | null): string | undefined {
  if (!comment) return undefined;
  const lines = comment.split('\n').map((l) => l.trim());
  const start = lines.findLastIndex((l) => l.startsWith('-- '));
  if (start < 0) return undefined;
  return lines.slice(start).join(' ').slice(3).replace(/\s+/g, ' ').trim();
}

/**
 * Every documented value of values.yaml (helm-docs style `# --` comments; a documented map covers
 * its children), and the leaf keys documented neither themselves nor through a parent.
 */
export function valuesDoc(text: string): { docs: ValueDoc[]; undocumented: string[] } {
  const docs: ValueDoc[] = [];
  const undocumented: string[] = [];
  const walk = (map: YAMLMap, prefix: string, covered: boolean) => {
    map.items.forEach((pair, i) => {
      const key = `${prefix}${String((pair.key as { value: unknown }).value)}`;
      const keyComment = (pair.key as { commentBefore?: string }).commentBefore;
      // The comment above the first key of a nested map is attached to the map itself.
      const description = descriptionOf(keyComment ?? (i === 0 && prefix ? map.commentBefore : undefined));
      const value = pair.value as { toJSON(): unknown } | null;
      if (description) docs.push({ key, value: JSON.stringify(value?.toJSON() ?? null), description });
      if (isMap(pair.value) && pair.value.items.length > 0)
        walk(pair.value, `${key}.`, covered || !!description);
      else if (!description && !covered) undocumented.push(key);
    });
  };
  const doc = parseDocument(text);
  if (isMap(doc.contents)) walk(doc.contents, '', false);
  return { docs, undocumented };
}

export function valuesTable(docs: readonly ValueDoc[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '| value | default | description |',
    '|---|---|---|',
    ...docs.map((d) => `| \`${d.key}\` | \`${cell(d.value)}\` | ${cell(d.description)} |`),
  ].join('\n');
}
