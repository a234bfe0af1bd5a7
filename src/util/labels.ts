/**
 * Kubernetes label selectors. One implementation serves standalone mode (Pods from files) and the
 * Kubernetes mode (Pods from the API server): a selector either matches a label set or it does not.
 */
export type Labels = Readonly<Record<string, string>>;

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: readonly string[];
}

export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: readonly LabelSelectorRequirement[];
}

/** True when every matchLabels pair and every expression holds. An empty selector matches everything. */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  const ml = selector.matchLabels;
  if (ml) {
    for (const key in ml) if (labels[key] !== ml[key]) return false;
  }
  const exprs = selector.matchExpressions;
  if (exprs) {
    for (const e of exprs) {
      const has = Object.hasOwn(labels, e.key);
      const value = labels[e.key];
      switch (e.operator) {
        case 'In':
          if (!has || !e.values?.includes(value!)) return false;
          break;
        case 'NotIn':
          if (has && e.values?.includes(value!)) return false;
          break;
        case 'Exists':
          if (!has) return false;
          break;
        case 'DoesNotExist':
          if (has) return false;
          break;
      }
    }
  }
  return true;
}

/** `app=qwen,tier=gpu` form, for plans and logs. */
export function formatSelector(selector: LabelSelector): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${(e.values ?? []).join(',')})`);
  }
  return parts.length ? parts.join(',') : '<everything>';
}
