/**
 * `infergate validate` as a user runs it: exit codes, stdin, --strict, --output json, usage errors
 * and the help texts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const GATEWAY = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  gatewayClassName: cls
  listeners:
  - name: http
    port: 8080
    protocol: HTTP
`;

const ROUTE_TO_MISSING_SERVICE = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: missing, port: 8000}]
`;

const BROKEN = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: broken
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRef: [{name: svc, port: 8000}]
    timeouts: {request: soon}
---
apiVersion: v1
kind: Service
metadata:
  name: svc
spec:
  ports: [{port: 70000}]
`;

const PICKER_CONFIG = `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
metadata:
  name: epp
plugins:
- type: queue-scorer
- type: no-such-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
  - pluginRef: no-such-scorer
`;

// One run before the concurrent ones, so that tsx's transform cache is written once, not raced.
beforeAll(async () => {
  await runCli(['--version']);
});

describe.concurrent('infergate validate', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infergate-validate-'));
    await writeFile(join(dir, 'broken.yaml'), BROKEN);
    await writeFile(join(dir, 'gateway.yaml'), GATEWAY);
    await writeFile(join(dir, 'route.yaml'), ROUTE_TO_MISSING_SERVICE);
    await writeFile(join(dir, 'picker.yaml'), PICKER_CONFIG);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 1 and prints every error, each with file, document, object, path and fix', async () => {
    const r = await runCli(['validate', '-f', join(dir, 'broken.yaml')]);
    expect(r.code).toBe(1);
    const f = join(dir, 'broken.yaml');
    expect(r.stdout.split('\n').filter((l) => l.startsWith('error:'))).toEqual([
      `error: ${f}#1 HTTPRoute/broken spec.rules[0].backendRef: unknown field "backendRef" — did you mean "backendRefs"?`,
      `error: ${f}#1 HTTPRoute/broken spec.rules[0].timeouts.request: "soon" is not a duration — write a number with a unit h, m, s or ms, e.g. "30s", "1h30m" or "500ms"`,
      `error: ${f}#2 Service/svc spec.ports[0].port: must be between 1 and 65535 (got 70000) — use a port number from 1 to 65535`,
    ]);
    expect(r.stdout).not.toContain('Listeners');
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(
      'invalid: 3 errors, 0 warnings — nothing would be served',
    );
  });

  it('reads manifests from stdin with -f -, and a folder with -f DIR', async () => {
    const r = await runCli(['validate', '-f', '-', '-f', join(dir, 'route.yaml')], { stdin: GATEWAY });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(':8080 HTTP  listener default/gw/http');
    expect(r.stdout).toContain(
      `warning: ${join(dir, 'route.yaml')}#1 HTTPRoute/r spec.rules[0].backendRefs[0].name: Service default/missing is not defined in the manifests given`,
    );
  });

  it('turns unresolved references into errors with --strict', async () => {
    const r = await runCli([
      'validate',
      '--strict',
      '-f',
      join(dir, 'gateway.yaml'),
      '-f',
      join(dir, 'route.yaml'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `error: ${join(dir, 'route.yaml')}#1 HTTPRoute/r spec.rules[0].backendRefs[0].name:`,
    );
  });

  it('prints one JSON object with --output json', async () => {
    const r = await runCli([
      'validate',
      '-o',
      'json',
      '-f',
      join(dir, 'gateway.yaml'),
      '-f',
      join(dir, 'route.yaml'),
    ]);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as {
      valid: boolean;
      errors: number;
      warnings: number;
      files: string[];
      diagnostics: { code: string }[];
      plan: {
        listeners: { key: string; routeKeys: string[] }[];
        routes: { rules: { backends: { resolved: boolean }[] }[] }[];
      };
    };
    expect([body.valid, body.errors, body.warnings]).toEqual([true, 0, 1]);
    expect(body.files).toEqual([join(dir, 'gateway.yaml'), join(dir, 'route.yaml')]);
    expect(body.diagnostics.map((d) => d.code)).toEqual(['REF_NOT_FOUND']);
    expect(body.plan.listeners).toMatchObject([
      { key: 'default/gw/http', routeKeys: ['HTTPRoute default/r'] },
    ]);
    expect(body.plan.routes[0]!.rules[0]!.backends[0]!.resolved).toBe(false);
  });

  it("checks EndpointPickerConfig plugin types with the scheduler's own validator", async () => {
    const r = await runCli(['validate', '-f', join(dir, 'picker.yaml')]);
    expect(r.code).toBe(1);
    const errors = r.stdout.split('\n').filter((l) => l.startsWith('error:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(
      `error: ${join(dir, 'picker.yaml')}#1 EndpointPickerConfig/epp plugins[1].type: `,
    );
    expect(errors[0]).toContain('no-such-scorer');
  });

  it('reports a missing file as an error (exit 1)', async () => {
    const r = await runCli(['validate', '-o', 'json', '-f', join(dir, 'nope.yaml')]);
    expect(r.code).toBe(1);
    const body = JSON.parse(r.stdout) as { valid: boolean; plan: unknown; diagnostics: { code: string }[] };
    expect([body.valid, body.plan, body.diagnostics.map((d) => d.code)]).toEqual([
      false,
      null,
      ['FILE_NOT_FOUND'],
    ]);
  });

  it('is a usage error (exit 2) without -f or with an unknown output format', async () => {
    const [none, badOutput] = await Promise.all([
      runCli(['validate']),
      runCli(['validate', '-f', join(dir, 'gateway.yaml'), '-o', 'yaml']),
    ]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(
      'error: validate needs at least one -f FILE|DIR|- (the manifests to check)',
    );
    expect(none.stdout).toBe('');
    expect(badOutput.code).toBe(2);
    expect(badOutput.stderr).toContain('error: --output must be "text" or "json", not "yaml"');
  });

  it('explains itself in --help', async () => {
    const [top, sub] = await Promise.all([runCli(['--help']), runCli(['validate', '--help'])]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(
      // (the summary may wrap: the command column is as wide as the longest command, envoy-config)
      /validate \[options\] +check manifests and print the plan that would\s+be\s+served/,
    );
    expect(sub.code).toBe(0);
    for (const text of [
      'Usage: infergate validate [options]',
      '-f, --filename <path>',
      '--strict',
      '-o, --output <format>',
      'Exit status: 0 valid (warnings allowed), 1 errors found, 2 usage error.',
      'docs/configuration.md',
    ]) {
      expect(sub.stdout).toContain(text);
    }
    expect(sub.stdout).not.toContain('(default: [])');
  });
});
