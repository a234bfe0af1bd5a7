/**
 * From the access logs `bench/precise-prefix.ts --keep-logs DIR` keeps: which requests a gateway sent
 * to a replica while another request there had not yet answered its first token, from which gateway,
 * how long after it, and what the sending gateway saw of that replica at its pick. Several gateways
 * each count only their own in-flight requests; another gateway's dispatch reaches them through the
 * next scrape.
 *
 *   npx tsx bench/gateway-collisions.ts DIR [RUN …]   (RUN: the tag of a run, e.g. 3-3-p; default all)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Sent {
  gateway: string;
  endpoint: string;
  /** Wall ms. */
  start: number;
  firstToken: number;
  ttftWallMs: number;
  reason: string;
}

const [dir, ...only] = process.argv.slice(2);
if (!dir) {
  console.error('usage: gateway-collisions.ts DIR [RUN …]');
  process.exit(2);
}
const runs = new Map<string, Sent[]>();
for (const file of readdirSync(dir)) {
  const m = /^access-(.+)-(\d+)\.log$/.exec(file);
  if (!m || (only.length > 0 && !only.includes(m[1]!))) continue;
  const list = runs.get(m[1]!) ?? runs.set(m[1]!, []).get(m[1]!)!;
  for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    const r = JSON.parse(line) as {
      status: number;
      time: number;
      duration_ms: number;
      ttft_ms?: number;
      endpoint: string;
      reason?: string;
    };
    if (r.status !== 200 || r.ttft_ms === undefined) continue;
    const start = r.time - r.duration_ms;
    list.push({
      gateway: m[2]!,
      endpoint: r.endpoint,
      start,
      firstToken: start + r.ttft_ms,
      ttftWallMs: r.ttft_ms,
      reason: r.reason ?? '',
    });
  }
}

for (const [run, sent] of [...runs].sort()) {
  sent.sort((a, b) => a.start - b.start);
  const gateways = new Set(sent.map((s) => s.gateway)).size;
  const meanTtft = sent.reduce((a, s) => a + s.ttftWallMs, 0) / sent.length;
  console.log(
    `\n${run}: ${sent.length} requests through ${gateways} gateway(s), mean TTFT ${meanTtft.toFixed(0)} ms wall`,
  );
  let collisions = 0;
  for (const s of sent) {
    const before = sent.filter(
      (o) => o !== s && o.endpoint === s.endpoint && o.start <= s.start && o.firstToken > s.start,
    );
    if (before.length === 0) continue;
    collisions++;
    for (const o of before) {
      const seen = /seen there: ([^)]*\))[^)]*\)/.exec(s.reason)?.[0] ?? '';
      console.log(
        `  gateway ${s.gateway} sent a request (TTFT ${s.ttftWallMs.toFixed(0)} ms wall) ${(s.start - o.start).toFixed(0)} ms after gateway ${o.gateway}'s to ${s.endpoint}, which had not answered yet (its TTFT ${o.ttftWallMs.toFixed(0)} ms); at the pick: ${seen}`,
      );
    }
  }
  console.log(`  requests sent while another request on the same replica had not answered: ${collisions}`);
}
