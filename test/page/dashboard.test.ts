/**
 * The Grafana dashboard on a real Prometheus (Debian's package): Prometheus runs with
 * deploy/prometheus/prometheus.yml and its recording rules, scraping a running `infergate demo` (the
 * gateway's admin /metrics and every simulated replica's /metrics) under bounded traffic; then every
 * PromQL expression of deploy/grafana/infergate.json (and of its template variables and the
 * recording rules) is evaluated through Prometheus's HTTP API: each must answer without error and
 * with data.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { PageSnapshot } from '../../src/admin/snapshot.js';
import { reservePort } from '../../src/util/ports.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { hasTool, toolPath } from '../helpers/deps.js';
import { getJson, type RunningDemo, sendTraffic, startDemo } from './demo.js';

interface Panel {
  title?: string;
  type: string;
  targets?: { expr: string }[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: { query: string } }[] };
}

const DASHBOARD = join(REPO_ROOT, 'deploy/grafana/infergate.json');
const PROM_DIR = join(REPO_ROOT, 'deploy/prometheus');

/** Grafana's variables as a dashboard user with "All" selected would send them. */
function substitute(expr: string): string {
  return expr.replaceAll('$__rate_interval', '10s').replaceAll('$route', '.*').replaceAll('$pool', '.*');
}

interface QueryAnswer {
  status: string;
  error?: string;
  data?: { resultType: string; result: unknown[] };
}

/** Every 'infergate_…' string literal of the gateway's source: the names it can register. */
function registeredGatewayMetrics(): Set<string> {
  const names = new Set<string>();
  const files = readdirSync(join(REPO_ROOT, 'src'), { recursive: true, encoding: 'utf8' });
  for (const f of files) {
    if (!f.endsWith('.ts') || f.endsWith('.test.ts')) continue;
    const text = readFileSync(join(REPO_ROOT, 'src', f), 'utf8');
    for (const m of text.matchAll(/'(infergate_[a-z_]+)'/g)) names.add(m[1]!);
  }
  return names;
}

describe('Grafana dashboard, statically', () => {
  // Panels for features that can be off (load sharing) fall back to `or vector(0)`, so Prometheus
  // answers them with data even for a misspelt name: check every gateway name against the source.
  it('names only gateway metrics the gateway registers (or the recording rules define)', () => {
    const registered = registeredGatewayMetrics();
    expect(registered.size).toBeGreaterThan(20);
    const rules = readFileSync(join(PROM_DIR, 'infergate-rules.yml'), 'utf8');
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
    const text = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
    const unknown = new Set<string>();
    for (const m of text.matchAll(/\b(infergate_[a-z_]+?)(?:_bucket|_sum|_count)?\b/g)) {
      if (!registered.has(m[1]!) && !rules.includes(`record: ${m[1]}`)) unknown.add(m[1]!);
    }
    expect([...unknown]).toEqual([]);
  });
});

describe.skipIf(!hasTool('prometheus'))('Grafana dashboard on Prometheus', () => {
  let demo: RunningDemo;
  let prom: ChildProcess;
  let promUrl: string;
  let dir: string;
  let stopTraffic = false;
  let traffic: Promise<unknown>;

  async function query(expr: string): Promise<QueryAnswer> {
    const res = await request(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await res.body.json()) as QueryAnswer;
  }

  beforeAll(async () => {
    demo = await startDemo();
    const snap = await getJson<PageSnapshot>(`${demo.admin}/admin/snapshot`);
    const plan = await getJson<{ services: { service: string; endpoints: string[] }[] }>(
      `${demo.admin}/admin/plan`,
    );
    const replicas = new Set<string>();
    for (const p of snap.pools) for (const e of p.endpoints) replicas.add(e.id);
    for (const s of plan.services) for (const e of s.endpoints) replicas.add(e);
    expect(replicas.size).toBe(3); // 2 production replicas + the candidate

    dir = mkdtempSync(join(tmpdir(), 'infergate-prom-'));
    mkdirSync(join(dir, 'targets'));
    // The committed configuration, faster: one-second scrapes and rule evaluations.
    const config = parse(readFileSync(join(PROM_DIR, 'prometheus.yml'), 'utf8')) as {
      global: Record<string, string>;
    };
    config.global.scrape_interval = '1s';
    config.global.evaluation_interval = '1s';
    writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
    copyFileSync(join(PROM_DIR, 'infergate-rules.yml'), join(dir, 'infergate-rules.yml'));
    writeFileSync(
      join(dir, 'targets/infergate.json'),
      JSON.stringify([{ targets: [new URL(demo.admin).host] }]),
    );
    writeFileSync(join(dir, 'targets/vllm.json'), JSON.stringify([{ targets: [...replicas] }]));

    const port = await reservePort();
    promUrl = `http://127.0.0.1:${port}`;
    prom = spawn(
      toolPath('prometheus')!,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 60; i++) {
      const ok = await request(`${promUrl}/-/ready`)
        .then((r) => r.body.text().then(() => r.statusCode === 200))
        .catch(() => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 500));
    }

    // Bounded traffic that keeps flowing while the expressions are evaluated.
    traffic = sendTraffic(demo, { count: 3000, concurrency: 3, maxMs: 60_000, stop: () => stopTraffic });
    // Wait until every target is up and a dozen scrapes of traffic are in.
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const up = await query('sum(up)');
      const seen = await query('sum(count_over_time(infergate_requests_in_flight[30s]))');
      const upN = Number((up.data?.result[0] as { value?: [number, string] } | undefined)?.value?.[1] ?? 0);
      const seenN = Number(
        (seen.data?.result[0] as { value?: [number, string] } | undefined)?.value?.[1] ?? 0,
      );
      if (upN === 4 && seenN >= 12) break;
    }
  }, 120_000);

  afterAll(async () => {
    stopTraffic = true;
    await traffic?.catch(() => undefined);
    if (prom && prom.exitCode === null) {
      const gone = new Promise((r) => prom.once('exit', r));
      prom.kill('SIGTERM');
      await gone;
    }
    await demo?.cli.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes the gateway and every replica', async () => {
    const up = await query('up');
    const jobs = (up.data?.result ?? []) as { metric: { job: string }; value: [number, string] }[];
    expect(jobs.filter((r) => r.metric.job === 'infergate' && r.value[1] === '1')).toHaveLength(1);
    expect(jobs.filter((r) => r.metric.job === 'vllm' && r.value[1] === '1')).toHaveLength(3);
  });

  it('answers every panel expression of the dashboard with data', async () => {
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
    const exprs: { panel: string; expr: string }[] = [];
    for (const p of dash.panels)
      for (const t of p.targets ?? []) exprs.push({ panel: p.title ?? '', expr: t.expr });
    expect(exprs.length).toBeGreaterThanOrEqual(25);
    const empty: string[] = [];
    for (const { panel, expr } of exprs) {
      const a = await query(substitute(expr));
      if (a.status !== 'success') empty.push(`${panel}: error ${a.error} — ${expr}`);
      else if ((a.data?.result.length ?? 0) === 0) empty.push(`${panel}: no data — ${expr}`);
    }
    expect(empty).toEqual([]);
  });

  it('has data for its template variables and datasource variable', async () => {
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
    const vars = dash.templating.list;
    expect(vars.find((v) => v.type === 'datasource')?.name).toBe('datasource');
    for (const v of vars.filter((x) => x.type === 'query')) {
      const m = /^label_values\((\w+), (\w+)\)$/.exec(v.query?.query ?? '');
      expect(m, v.name).not.toBeNull();
      const a = await query(`count by (${m![2]}) (${m![1]})`);
      expect(a.status).toBe('success');
      expect(a.data?.result.length, v.name).toBeGreaterThan(0);
    }
  });

  it('evaluates every recording rule to data', async () => {
    const rules = parse(readFileSync(join(PROM_DIR, 'infergate-rules.yml'), 'utf8')) as {
      groups: { rules: { record: string }[] }[];
    };
    const names = rules.groups.flatMap((g) => g.rules.map((r) => r.record));
    // Rules run every second; give the last group a moment after the traffic has been seen.
    const missing: string[] = [];
    for (const name of names) {
      let n = 0;
      for (let i = 0; i < 10 && n === 0; i++) {
        n = (await query(name)).data?.result.length ?? 0;
        if (n === 0) await new Promise((r) => setTimeout(r, 500));
      }
      if (n === 0) missing.push(name);
    }
    expect(missing).toEqual([]);
  });
});
