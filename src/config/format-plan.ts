/**
 * The human form of a Plan, as `infergate validate` prints it: listeners → routes → rules → backends
 * (with what each resolves to), then Services, InferencePools (selector, ports, picker, models,
 * objectives, rewrites, endpoints) and the kinds that were ignored.
 */
import { formatDuration } from '../util/duration.js';
import { formatSelector } from '../util/labels.js';
import { originOf } from './diagnostics.js';
import type {
  BackendPlan,
  EndpointAddress,
  ListenerPlan,
  MatchPlan,
  Plan,
  PoolPlan,
  RoutePlan,
  RulePlan,
  ServicePlan,
  WorkloadRef,
} from './plan.js';

/** At most this many endpoints are listed per backend; the rest are counted. */
const MAX_ENDPOINTS_SHOWN = 8;

export function formatPlan(plan: Plan): string {
  const out: string[] = [];
  const routes = new Map(plan.routes.map((r) => [r.key, r]));

  out.push('Listeners');
  if (plan.listeners.length === 0) out.push('  (none: no Gateway with an HTTP listener was given)');
  for (const l of plan.listeners) {
    out.push(`  ${listenerLine(l)}`);
    if (l.routeKeys.length === 0) out.push('    (no routes attached)');
    for (const key of l.routeKeys) {
      const r = routes.get(key);
      if (r) formatRoute(out, plan, r, '    ');
    }
  }
  const detached = plan.routes.filter((r) => r.listenerKeys.length === 0);
  if (detached.length) {
    out.push('', 'Routes attached to no listener (see the warnings above)');
    for (const r of detached) formatRoute(out, plan, r, '  ');
  }

  if (plan.services.size) {
    out.push('', 'Services');
    for (const svc of plan.services.values()) formatService(out, svc);
  }
  if (plan.pools.size) {
    out.push('', 'InferencePools');
    for (const pool of plan.pools.values()) formatPool(out, pool);
  }
  if (plan.ignored.length) {
    out.push('', 'Ignored kinds');
    for (const i of plan.ignored) {
      out.push(`  ${i.kind} ${i.names.join(', ')}${i.reason ? ` — ${i.reason}` : ''}`);
    }
  }
  return `${out.join('\n')}\n`;
}

function listenerLine(l: ListenerPlan): string {
  const gw = `${l.gateway.kind === 'IstioGateway' ? 'Istio Gateway' : 'Gateway'} ${l.gateway.namespace}/${l.gateway.name}`;
  const parts = [
    `:${l.port} ${l.protocol}`,
    `listener ${l.key}`,
    l.hostname ? `host ${l.hostname}` : 'any host',
  ];
  if (l.requestTimeoutMs !== undefined)
    parts.push(`request timeout ${formatDuration(l.requestTimeoutMs)} (BackendTrafficPolicy)`);
  if (l.loadBalancer) parts.push(`Service balancing ${l.loadBalancer} (BackendTrafficPolicy)`);
  return `${parts.join('  ')}  [${gw}]`;
}

function formatRoute(out: string[], plan: Plan, r: RoutePlan, indent: string): void {
  const parts = [`${r.key}`];
  parts.push(r.hostnames.length ? `hosts ${r.hostnames.join(', ')}` : 'any host');
  if (r.firstMatch) parts.push('rules in order, first match wins');
  if (r.loadBalancer) parts.push(`Service balancing ${r.loadBalancer}`);
  if (r.kind === 'PoolAttachment')
    parts.push(`from the attach-to annotation of InferencePool ${r.namespace}/${r.name}`);
  out.push(`${indent}${parts.join('  ')}`);
  for (const rule of r.rules) formatRule(out, plan, rule, `${indent}  `);
}

function formatRule(out: string[], plan: Plan, rule: RulePlan, indent: string): void {
  const label = `rule ${rule.index}${rule.name ? ` (${rule.name})` : ''}`;
  out.push(`${indent}${label}: ${rule.matches.map(matchText).join(' | ')}`);
  const inner = `${indent}  `;
  const t = rule.timeouts;
  if (t.requestMs !== undefined || t.backendRequestMs !== undefined) {
    const ts: string[] = [];
    if (t.requestMs !== undefined)
      ts.push(`request ${t.requestMs === 0 ? 'none' : formatDuration(t.requestMs)}`);
    if (t.backendRequestMs !== undefined)
      ts.push(`backendRequest ${t.backendRequestMs === 0 ? 'none' : formatDuration(t.backendRequestMs)}`);
    out.push(`${inner}timeouts: ${ts.join(', ')}`);
  }
  const h = rule.requestHeaderModifier;
  if (h) {
    const hs: string[] = [];
    for (const s of h.set) hs.push(`set ${s.name}: ${s.value}`);
    for (const a of h.add) hs.push(`add ${a.name}: ${a.value}`);
    for (const r of h.remove) hs.push(`remove ${r}`);
    out.push(`${inner}request headers: ${hs.join('; ')}`);
  }
  const rw = rule.urlRewrite;
  if (rw) {
    const parts: string[] = [];
    if (rw.hostname) parts.push(`host → ${rw.hostname}`);
    if (rw.path)
      parts.push(`${rw.path.type === 'ReplaceFullPath' ? 'path' : 'matched prefix'} → ${rw.path.value}`);
    out.push(`${inner}rewrite: ${parts.join(', ')}`);
  }
  if (rule.backends.length === 0) out.push(`${inner}→ no backends (requests are answered 500)`);
  const total = rule.backends.reduce((s, b) => s + b.weight, 0);
  for (const b of rule.backends) {
    const share = total > 0 ? ` (${+((100 * b.weight) / total).toFixed(1)}%)` : '';
    out.push(`${inner}→ ${backendText(b)}  weight ${b.weight}${share}  ${resolution(plan, b)}`);
  }
  for (const m of rule.mirrors) {
    out.push(
      `${inner}mirror ${+(m.fraction * 100).toFixed(2)}% → ${backendText(m.backend)}  ${resolution(plan, m.backend)}`,
    );
  }
}

function matchText(m: MatchPlan): string {
  const parts = [`${m.path.type} ${m.path.value}`];
  for (const h of m.headers) parts.push(`header ${h.name}${h.type === 'Exact' ? '=' : '~'}${h.value}`);
  for (const q of m.queryParams) parts.push(`query ${q.name}${q.type === 'Exact' ? '=' : '~'}${q.value}`);
  if (m.method) parts.push(`method ${m.method}`);
  return parts.join(', ');
}

function backendText(b: BackendPlan): string {
  return b.kind === 'Service'
    ? `Service ${b.key}${b.port !== undefined ? `:${b.port}` : ''}`
    : `InferencePool ${b.key}`;
}

/** What a backend resolves to, in a few words. */
function resolution(plan: Plan, b: BackendPlan): string {
  if (!b.resolved) return '[UNRESOLVED: requests to it are answered 500]';
  if (b.kind === 'InferencePool') {
    const pool = plan.pools.get(b.key);
    return pool ? `[${endpointSummary(pool.endpoints, pool.workloads)}]` : '';
  }
  const svc = plan.services.get(b.key);
  if (!svc || b.port === undefined) return '';
  return `[${endpointSummary(svc.endpointsByPort.get(b.port) ?? [], svc.workloads)}]`;
}

function endpointSummary(eps: readonly EndpointAddress[], workloads: readonly WorkloadRef[]): string {
  if (eps.length === 0)
    return `no endpoints${workloads.length ? `; selects ${workloadText(workloads)}` : ''}`;
  const ready = eps.filter((e) => e.ready).length;
  return `${eps.length} endpoint${eps.length === 1 ? '' : 's'}${ready < eps.length ? `, ${ready} ready` : ''}`;
}

function workloadText(workloads: readonly WorkloadRef[]): string {
  return workloads
    .map((w) => `${w.kind} ${w.name} (${w.replicas} replica${w.replicas === 1 ? '' : 's'})`)
    .join(', ');
}

function endpointLines(
  out: string[],
  eps: readonly EndpointAddress[],
  workloads: readonly WorkloadRef[],
  indent: string,
): void {
  if (eps.length === 0) {
    out.push(
      `${indent}endpoints: none${workloads.length ? ` — selects ${workloadText(workloads)}` : ''}; give Pod objects (see docs/configuration.md)`,
    );
    return;
  }
  out.push(`${indent}endpoints:`);
  for (let i = 0; i < eps.length && i < MAX_ENDPOINTS_SHOWN; i++) {
    const e = eps[i]!;
    const who = e.podName ? `${e.from === 'Pod' ? 'pod' : 'slice, pod'} ${e.podName}` : e.from;
    out.push(`${indent}  ${e.address}:${e.port}  ${who}${e.ready ? '' : '  NOT READY'}`);
  }
  if (eps.length > MAX_ENDPOINTS_SHOWN) out.push(`${indent}  … and ${eps.length - MAX_ENDPOINTS_SHOWN} more`);
}

function formatService(out: string[], svc: ServicePlan): void {
  out.push(
    `  ${svc.key}  ${svc.selector ? `selector ${formatSelector({ matchLabels: svc.selector })}` : 'no selector (EndpointSlices only)'}`,
  );
  if (svc.ports.length === 0) out.push('    (no ports)');
  for (const p of svc.ports) {
    out.push(`    port ${p.port} → ${p.targetPort}/${p.protocol}${p.name ? ` (${p.name})` : ''}`);
    endpointLines(out, svc.endpointsByPort.get(p.port) ?? [], svc.workloads, '      ');
  }
}

function formatPool(out: string[], pool: PoolPlan): void {
  out.push(`  ${pool.key}  (${pool.apiVersion})`);
  const i = '    ';
  out.push(
    `${i}selector ${formatSelector(pool.selector)}  target port${pool.targetPorts.length === 1 ? '' : 's'} ${pool.targetPorts.join(', ')}  protocol ${pool.appProtocol}`,
  );
  if (pool.routingStrategy) out.push(`${i}routing strategy: ${pool.routingStrategy}`);
  const ep = pool.endpointPicker;
  if (ep) {
    out.push(
      `${i}endpoint picker: ${ep.kind} ${ep.name}${ep.port !== undefined ? `:${ep.port}` : ''}, ${ep.failureMode} (named only: standalone picks endpoints in-process)`,
    );
  }
  const cfg = pool.pickerConfig;
  if (cfg) {
    const why =
      pool.pickerConfigChosenBy === 'annotation'
        ? 'chosen by annotation'
        : pool.pickerConfigChosenBy === 'endpoint-picker-ref'
          ? 'named like the endpoint picker'
          : 'the only one in the namespace';
    out.push(`${i}picker config: ${cfg.name || '(unnamed)'} (${why}; ${originOf(cfg.source)})`);
    out.push(
      `${i}  plugins: ${cfg.plugins.map((p) => (p.name === p.type ? p.type : `${p.name} (${p.type})`)).join(', ') || 'none'}`,
    );
    for (const prof of cfg.schedulingProfiles) {
      out.push(
        `${i}  profile ${prof.name}: ${prof.plugins.map((p) => (p.weight !== undefined ? `${p.pluginRef}×${p.weight}` : p.pluginRef)).join(', ')}`,
      );
    }
  } else {
    out.push(
      `${i}picker config: none — the scheduler's default profile${pool.routingStrategy === 'PREFIX_CACHE' ? ' (PREFIX_CACHE selects its prefix-aware profile)' : ''}`,
    );
  }
  endpointLines(out, pool.endpoints, pool.workloads, i);
  if (pool.models.length === 0)
    out.push(`${i}models: none (every request's model is passed through unchanged)`);
  else out.push(`${i}models:`);
  for (const m of pool.models) {
    const targets = m.targetModels.length
      ? m.targetModels
          .map((t) => `${t.name}${m.targetModels.length > 1 || t.weight !== 1 ? ` ×${t.weight}` : ''}`)
          .join(', ')
      : m.modelName;
    out.push(`${i}  ${m.modelName}  ${m.criticality}  → ${targets}  (InferenceModel ${m.name})`);
  }
  if (pool.objectives.length) {
    out.push(`${i}objectives (header x-gateway-inference-objective):`);
    for (const o of pool.objectives) out.push(`${i}  ${o.name}  priority ${o.priority}`);
  }
  if (pool.rewrites.length) {
    out.push(`${i}model rewrites:`);
    for (const rw of pool.rewrites) {
      for (const rule of rw.rules) {
        const from = rule.matches.length ? rule.matches.map((m) => m.value).join(' | ') : 'any model';
        const to = rule.targets.map((t) => `${t.modelRewrite} ×${t.weight}`).join(', ');
        out.push(`${i}  ${from} → ${to}  (InferenceModelRewrite ${rw.name})`);
      }
    }
  }
}
