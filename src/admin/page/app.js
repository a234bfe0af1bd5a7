// The live page: polls /admin/snapshot once a second and redraws. Plain browser JavaScript, no
// framework; charts by uPlot (served from node_modules by the admin port). The snapshot's shape is
// PageSnapshot in src/admin/snapshot.ts.

(() => {
  const POLL_MS = 1000;
  const $ = (id) => document.getElementById(id);
  const esc = (v) =>
    String(v ?? '').replace(
      /[&<>"']/g,
      (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
    );
  const num = (v, digits = 1) =>
    v === undefined || v === null || Number.isNaN(v) ? '—' : Number(v).toFixed(digits);
  const pct = (v) => (v === undefined || v === null ? '—' : `${(v * 100).toFixed(0)}%`);
  const ms = (seconds) =>
    seconds === undefined || seconds === null ? '—' : `${(seconds * 1000).toFixed(0)} ms`;
  const bar = (v, cls = '') =>
    `<span class="bar ${cls}"><i style="width:${Math.max(0, Math.min(1, v ?? 0)) * 100}%"></i></span>`;

  const charts = {};
  function chart(id, series, opts = {}) {
    const el = $(id);
    const width = Math.max(240, el.clientWidth || 300);
    if (charts[id]) {
      if (Math.abs(charts[id].width - width) > 4) charts[id].setSize({ width, height: 150 });
      return charts[id];
    }
    const colors = ['#2f6fdf', '#e0703a', '#d64545'];
    charts[id] = new uPlot(
      {
        width,
        height: 150,
        legend: { show: true, live: false },
        cursor: { show: false },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [{ size: 28 }, { size: 48, values: opts.values }],
        series: [{}, ...series.map((label, i) => ({ label, stroke: colors[i], width: 1.5, spanGaps: true }))],
      },
      [[], ...series.map(() => [])],
      el,
    );
    return charts[id];
  }

  function renderStats(s) {
    let rps = 0;
    let inTok = 0;
    let outTok = 0;
    let requests = 0;
    let errors = 0;
    for (const r of s.traffic) {
      rps += r.requestsPerSecond;
      inTok += r.tokensInPerSecond;
      outTok += r.tokensOutPerSecond;
      requests += r.requests;
      for (const v of Object.values(r.errors)) errors += v;
    }
    let endpoints = 0;
    let inflight = 0;
    for (const p of s.pools) {
      endpoints += p.endpoints.length;
      for (const e of p.endpoints) inflight += e.inflight;
    }
    const stat = (key, label, value) =>
      `<div class="stat"><div class="v" data-stat="${key}">${value}</div><div class="k">${label}</div></div>`;
    $('stats').innerHTML = [
      stat('rps', 'requests / s', num(rps, 1)),
      stat('tokens-in', 'tokens in / s', num(inTok, 0)),
      stat('tokens-out', 'tokens out / s', num(outTok, 0)),
      stat('requests', `requests (last ${s.window.rateSeconds} s)`, String(requests)),
      stat('errors', `errors (last ${s.window.rateSeconds} s)`, String(errors)),
      stat('inflight', 'in flight to pools', String(inflight)),
      stat('endpoints', 'pool endpoints', String(endpoints)),
    ].join('');
  }

  function renderCharts(s) {
    const x = s.series.t;
    chart('chart-rps', ['req/s', 'errors/s']).setData([
      x,
      s.series.requestsPerSecond,
      s.series.errorsPerSecond,
    ]);
    chart('chart-tokens', ['in', 'out']).setData([
      x,
      s.series.tokensInPerSecond,
      s.series.tokensOutPerSecond,
    ]);
    chart('chart-ttft', ['p50', 'p99'], {
      values: (_u, v) => v.map((t) => (t * 1000).toFixed(0)),
    }).setData([x, s.series.ttftP50, s.series.ttftP99]);
  }

  function renderPools(s) {
    if (s.pools.length === 0) {
      $('pools').innerHTML =
        '<p class="empty">No InferencePool is served (or the pool routers keep no state).</p>';
      return;
    }
    $('pools').innerHTML = s.pools
      .map((p) => {
        const sheds = p.sheds.length
          ? p.sheds.map((x) => `<span class="pill warn">${esc(x.reason)} ${x.count}</span>`).join('')
          : '<span class="pill">none</span>';
        const rows = p.endpoints
          .map((e) => {
            const loras =
              e.activeLoras.length || e.waitingLoras.length || e.maxLoras !== undefined
                ? `${e.activeLoras.map((l) => `<span class="pill ok">${esc(l)}</span>`).join('')}${e.waitingLoras
                    .map((l) => `<span class="pill warn">${esc(l)}</span>`)
                    .join(
                      '',
                    )}${e.maxLoras !== undefined ? ` <span class="hint">max ${e.maxLoras}</span>` : ''}`
                : '—';
            const age = e.metricsAgeMs === undefined ? '—' : `${e.metricsAgeMs} ms`;
            const state = e.routable
              ? '<span class="pill ok">in rotation</span>'
              : `<span class="pill bad" title="${esc(e.lastError)}">out</span>`;
            return `<tr data-endpoint="${esc(e.id)}">
              <td><code>${esc(e.id)}</code><br><span class="hint">${esc(e.podName ?? '')}</span></td>
              <td>${state}</td>
              <td class="num" data-field="running">${e.running ?? '—'}</td>
              <td class="num" data-field="waiting">${e.waiting ?? '—'}</td>
              <td>${bar(e.kvUsage, 'kv')}${pct(e.kvUsage)}</td>
              <td class="num">${pct(e.prefixHitRate)}</td>
              <td>${loras}</td>
              <td class="num">${age}</td>
              <td class="num" data-field="inflight">${e.inflight}${
                e.peerInflight
                  ? ` <span class="hint" title="peer gateways' requests">+${e.peerInflight} peers</span>`
                  : ''
              }</td>
              <td>${bar(e.share)}${pct(e.share)} <span class="hint">(${e.picks})</span></td>
            </tr>`;
          })
          .join('');
        return `<div class="card" data-pool="${esc(p.key)}">
          <h3><span>InferencePool <code>${esc(p.key)}</code></span>
            <span class="hint">queued ${p.queued} · prefix-index hit ${pct(p.prefixIndexHitRate)} · sheds ${sheds}</span></h3>
          <div class="scroll"><table>
            <thead><tr><th>endpoint</th><th>state</th><th class="num">running</th><th class="num">waiting</th>
            <th>KV cache</th><th class="num">prefix hit</th><th>LoRA (running / waiting)</th><th class="num">metrics age</th>
            <th class="num">in flight</th><th>share of decisions</th></tr></thead>
            <tbody>${rows}</tbody></table></div></div>`;
      })
      .join('');
  }

  function renderTraffic(s) {
    const held = s.window.heldSeconds;
    $('traffic-hint').textContent =
      `rates over the last ${s.window.rateSeconds} s, percentiles over the last ${
        held >= 120 ? `${Math.round(held / 60)} min` : `${held} s`
      } (history starts when the page opens, up to 5 min)`;
    if (s.traffic.length === 0) {
      $('traffic').innerHTML = '<p class="empty">No requests yet (history starts when the page opens).</p>';
      return;
    }
    const p3 = (p) => `${ms(p.p50)} / ${ms(p.p90)} / ${ms(p.p99)}`;
    const rows = s.traffic
      .map((r) => {
        const errs = Object.entries(r.errors)
          .map(([status, n]) => `<span class="pill bad">${esc(status)} × ${n}</span>`)
          .join('');
        return `<tr>
          <td>${esc(r.route || '(no route)')}<br><span class="hint">${esc(r.backend)}</span></td>
          <td>${esc(r.model)}${r.targetModel && r.targetModel !== r.model ? ` → ${esc(r.targetModel)}` : ''}</td>
          <td class="num">${num(r.requestsPerSecond, 2)}</td><td class="num">${num(r.tokensInPerSecond, 0)}</td>
          <td class="num">${num(r.tokensOutPerSecond, 0)}</td><td>${p3(r.ttft)}</td><td>${p3(r.tpot)}</td>
          <td>${errs || '—'}</td></tr>`;
      })
      .join('');
    const shedRows = s.pools.flatMap((p) => p.sheds.map((x) => `${esc(p.key)}: ${esc(x.reason)} ${x.count}`));
    $('traffic').innerHTML = `<table><thead><tr><th>route / backend</th><th>model → target</th>
      <th class="num">req/s</th><th class="num">tok in/s</th><th class="num">tok out/s</th>
      <th>TTFT p50 / p90 / p99</th><th>TPOT p50 / p90 / p99</th><th>errors</th></tr></thead>
      <tbody>${rows}</tbody></table>
      <p class="hint">Sheds by reason: ${shedRows.length ? shedRows.join(', ') : 'none'}</p>`;
  }

  function renderCanary(s) {
    if (s.canary.length === 0) {
      $('canary').innerHTML = '<p class="empty">No weighted split is configured.</p>';
      return;
    }
    $('canary').innerHTML = s.canary
      .map(
        (c) =>
          `<div class="card split"><h3>${esc(c.scope)}</h3>${c.entries
            .map(
              (e) => `<div class="row"><span>${esc(e.name)}</span>
              <span class="track" title="dashed: configured ${e.configuredPercent}%">
                <span class="obs" style="width:${e.observedPercent ?? 0}%"></span>
                <span class="conf" style="width:${e.configuredPercent}%"></span></span>
              <span class="num">${e.configuredPercent}% / ${e.observedPercent === undefined ? '—' : `${e.observedPercent}%`}</span></div>`,
            )
            .join('')}<div class="hint">configured / observed (last ${s.window.rateSeconds} s)</div></div>`,
      )
      .join('');
  }

  function renderMirrors(s) {
    if (s.mirrors.length === 0) {
      $('mirrors').innerHTML = '<p class="empty">No mirror is configured.</p>';
      return;
    }
    const d = (x) => (x ? `${num(x.p50, 0)} / ${num(x.p95, 0)}` : '—');
    $('mirrors').innerHTML =
      `<table><thead><tr><th>route → mirror</th><th class="num">sent</th><th class="num">dropped</th>
      <th class="num">failed</th><th class="num">same status</th><th>latency ms p50 / p95 (primary · mirror)</th>
      <th>TTFT ms (primary · mirror)</th><th>output tokens p50 / p95 (primary · mirror)</th></tr></thead><tbody>${s.mirrors
        .map(
          (m) => `<tr><td>${esc(m.key)}</td><td class="num">${m.sent}</td><td class="num">${m.dropped}</td>
          <td class="num">${m.failed}</td><td class="num">${m.sameStatus} / ${m.sameStatus + m.differentStatus}</td>
          <td>${d(m.primary.latencyMs)} · ${d(m.mirrorSide.latencyMs)}</td>
          <td>${d(m.primary.ttftMs)} · ${d(m.mirrorSide.ttftMs)}</td>
          <td>${d(m.primary.completionTokens)} · ${d(m.mirrorSide.completionTokens)}</td></tr>`,
        )
        .join('')}</tbody></table>`;
  }

  // Decisions the user opened stay open; until the user opens or closes one, the newest is open.
  const open = new Set();
  let touched = false;
  function renderDecisions(s) {
    $('decisions-hint').textContent = s.recordingDecisions
      ? `recording while this page is open · ${s.decisions.length} most recent`
      : 'not recording';
    if ($('freeze').checked) return;
    if (s.decisions.length === 0) {
      $('decisions').innerHTML =
        '<p class="empty">No decision recorded yet: send traffic to an InferencePool.</p>';
      return;
    }
    $('decisions').innerHTML = s.decisions
      .map((d) => {
        const head = `<b>${esc(d.pick)}</b> · ${esc(d.reason)} · ${esc(d.model ?? '')}${
          d.targetModel && d.targetModel !== d.model ? ` → ${esc(d.targetModel)}` : ''
        } · ${d.scored.length}/${d.candidates.length} after filters · <span class="hint">${esc(
          d.at.slice(11, 23),
        )} #${d.seq}</span>`;
        const filters = d.filters.length
          ? d.filters.map((f) => `${esc(f.filter)}: ${f.kept.length} left`).join(' → ')
          : 'no filters';
        const order = d.scored.map((_, i) => i).sort((a, b) => (d.totals[b] ?? 0) - (d.totals[a] ?? 0));
        const rows = order
          .map((i) => {
            const id = d.scored[i];
            const cls = id === d.pick ? ' class="pick"' : '';
            const role =
              id === d.pick
                ? 'pick'
                : d.fallbacks.includes(id)
                  ? `fallback ${d.fallbacks.indexOf(id) + 1}`
                  : '';
            return `<tr${cls}><td><code>${esc(id)}</code></td>${d.scorers
              .map((sc) => `<td class="num">${num(sc.scores[i], 3)}</td>`)
              .join('')}<td class="num">${num(d.totals[i], 4)}</td><td>${role}</td></tr>`;
          })
          .join('');
        const table = d.scorers.length
          ? `<div class="scroll"><table><thead><tr><th>endpoint</th>${d.scorers
              .map(
                (sc) =>
                  `<th class="num">${esc(sc.scorer)} ×${sc.weight}${d.decisive === sc.type ? ' ★' : ''}</th>`,
              )
              .join('')}<th class="num">total</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>`
          : '<p class="empty">Nothing was scored (one candidate left).</p>';
        const isOpen = touched ? open.has(d.seq) : d === s.decisions[0];
        return `<details class="decision" data-seq="${d.seq}"${isOpen ? ' open' : ''}>
          <summary>${head}</summary><div class="body">
          <p>pool <code>${esc(d.pool)}</code> · profile <code>${esc(d.profile)}</code> · picker <code>${esc(
            d.picker,
          )}</code> · decisive scorer <b>${esc(d.decisive ?? 'none (sum or tie-break)')}</b> · ${d.durationUs} µs
          ${d.criticality ? ` · ${esc(d.criticality)}` : ''}</p>
          <p>candidates ${d.candidates.length} → ${filters}</p>${table}
          <p class="hint">fallbacks: ${d.fallbacks.map(esc).join(', ') || 'none'} · request ${esc(d.requestId)}</p>
          </div></details>`;
      })
      .join('');
    for (const el of document.querySelectorAll('details.decision')) {
      el.querySelector('summary').addEventListener('click', () => {
        touched = true;
      });
      el.addEventListener('toggle', () => {
        const seq = Number(el.dataset.seq);
        if (el.open) open.add(seq);
        else open.delete(seq);
      });
    }
  }

  function renderPlan(s) {
    const p = s.plan;
    $('plan-line').textContent =
      `plan generation ${p.generation}${p.loadedAt ? ` · loaded ${p.loadedAt}` : ''} · ${p.listeners
        .map((l) => `${l.key} ${l.url}`)
        .join(' · ')}`;
    $('plan').innerHTML = `<div class="card"><p>Generation ${p.generation}, loaded ${esc(p.loadedAt ?? '—')}.
      Full plan: <a href="/admin/plan">/admin/plan</a> · decisions as JSON: <a href="/admin/decisions">/admin/decisions</a> ·
      metrics: <a href="/metrics">/metrics</a></p>
      <table><thead><tr><th>listener</th><th>URL</th></tr></thead><tbody>${p.listeners
        .map((l) => `<tr><td>${esc(l.key)}</td><td><code>${esc(l.url)}</code></td></tr>`)
        .join('')}</tbody></table>
      <h3>Warnings (${p.warnings.length})</h3>${
        p.warnings.length
          ? `<ul class="warnings">${p.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>`
          : '<p class="empty">none</p>'
      }</div>`;
  }

  let last = 0;
  async function poll() {
    try {
      const res = await fetch('/admin/snapshot', { cache: 'no-store' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const s = await res.json();
      renderStats(s);
      renderCharts(s);
      renderPools(s);
      renderTraffic(s);
      renderCanary(s);
      renderMirrors(s);
      renderDecisions(s);
      renderPlan(s);
      last = Date.now();
      const st = $('status');
      st.dataset.state = 'live';
      st.textContent = `live · ${new Date(s.generatedAt).toLocaleTimeString()}`;
    } catch (err) {
      const st = $('status');
      st.dataset.state = 'stale';
      st.textContent = `no answer (${err instanceof Error ? err.message : String(err)})${
        last ? ` · last ${Math.round((Date.now() - last) / 1000)} s ago` : ''
      }`;
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }
  poll();
})();
