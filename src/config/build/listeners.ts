/**
 * Listeners: one per HTTP/HTTPS listener of every Gateway API Gateway and every HTTP/HTTPS server of
 * every Istio Gateway. Conflicts inside a Gateway (same port and hostname, or one port with two
 * protocols) are errors, as Gateway API marks them Conflicted; Gateways sharing a port across objects
 * are noted, because standalone serves them from one socket.
 */
import { Codes, whereOf } from '../diagnostics.js';
import { keyOf } from '../objects.js';
import type { BuildContext, ListenerDraft } from './context.js';
import { gatewayKey } from './context.js';

const SERVED_PROTOCOLS: ReadonlySet<string> = new Set(['HTTP', 'HTTPS']);

export function buildGatewayListeners(ctx: BuildContext): void {
  const { sink } = ctx;
  for (const gw of ctx.store.list('Gateway')) {
    const where = whereOf(gw.src);
    const ns = gw.meta.namespace;
    const drafts: ListenerDraft[] = [];
    const listeners = gw.body.spec.listeners;
    for (let i = 0; i < listeners.length; i++) {
      const l = listeners[i]!;
      const path = `spec.listeners[${i}]`;
      const earlier = listeners.slice(0, i);
      const sameName = earlier.findIndex((e) => e.name === l.name);
      if (sameName >= 0) {
        sink.error(
          where,
          Codes.DUPLICATE_NAME,
          `${path}.name`,
          `listener name "${l.name}" is already used by spec.listeners[${sameName}]`,
          'give every listener of a Gateway its own name',
        );
        continue;
      }
      const conflict = earlier.findIndex((e) => e.port === l.port && e.protocol !== l.protocol);
      if (conflict >= 0) {
        sink.error(
          where,
          Codes.LISTENER_CONFLICT,
          `${path}.protocol`,
          `port ${l.port} is used with protocol ${listeners[conflict]!.protocol} by listener "${listeners[conflict]!.name}" and with ${l.protocol} by "${l.name}"`,
          'use a different port for one of them',
        );
        continue;
      }
      const clash = earlier.findIndex((e) => e.port === l.port && (e.hostname ?? '') === (l.hostname ?? ''));
      if (clash >= 0) {
        sink.error(
          where,
          Codes.LISTENER_CONFLICT,
          `${path}.hostname`,
          `listener "${l.name}" has the same port (${l.port}) and hostname (${l.hostname ?? 'any'}) as listener "${listeners[clash]!.name}"`,
          'give one of them a different port or hostname, or merge them',
        );
        continue;
      }
      if (!SERVED_PROTOCOLS.has(l.protocol)) {
        sink.info(
          where,
          Codes.NOT_SERVED,
          `${path}.protocol`,
          `listener "${l.name}" uses protocol ${l.protocol}; infergate serves HTTP and HTTPS listeners only, so it is left out`,
        );
        continue;
      }
      const allowed = l.allowedRoutes;
      const kinds = allowed?.kinds;
      const draft: ListenerDraft = {
        key: `${ns}/${gw.meta.name}/${l.name}`,
        gateway: { kind: 'Gateway', namespace: ns, name: gw.meta.name },
        name: l.name,
        port: l.port,
        protocol: l.protocol as 'HTTP' | 'HTTPS',
        routeKeys: [],
        source: gw.src,
        allowedFrom: allowed?.namespaces?.from ?? 'Same',
        allowsHTTPRoute:
          !kinds ||
          kinds.some(
            (k) =>
              k.kind === 'HTTPRoute' &&
              (k.group ?? 'gateway.networking.k8s.io') === 'gateway.networking.k8s.io',
          ),
        index: i,
      };
      if (l.hostname !== undefined) draft.hostname = l.hostname;
      const selector = allowed?.namespaces?.selector;
      if (selector) draft.allowedSelector = selector;
      drafts.push(draft);
    }
    addGateway(ctx, gatewayKey('Gateway', ns, gw.meta.name), drafts);
  }
}

export function buildIstioListeners(ctx: BuildContext): void {
  const { sink } = ctx;
  for (const gw of ctx.store.list('IstioGateway')) {
    const where = whereOf(gw.src);
    const ns = gw.meta.namespace;
    const drafts: ListenerDraft[] = [];
    const servers = gw.body.spec.servers;
    const names = new Map<string, number>();
    for (let i = 0; i < servers.length; i++) {
      const s = servers[i]!;
      const path = `spec.servers[${i}]`;
      const protocol = s.port.protocol.toUpperCase();
      const name = s.port.name || `port-${s.port.number}`;
      const seen = names.get(name);
      if (seen !== undefined) {
        sink.error(
          where,
          Codes.DUPLICATE_NAME,
          `${path}.port.name`,
          `port name "${name}" is already used by spec.servers[${seen}]`,
          'give every server port its own name',
        );
        continue;
      }
      names.set(name, i);
      const served = protocol === 'HTTP' || protocol === 'HTTP2' || protocol === 'HTTPS';
      if (!served) {
        sink.info(
          where,
          Codes.NOT_SERVED,
          `${path}.port.protocol`,
          `server port "${name}" uses protocol ${s.port.protocol}; infergate serves HTTP and HTTPS only, so it is left out`,
        );
        continue;
      }
      // Istio hosts are `[namespace/]host`; a single concrete host narrows the listener.
      const hosts = s.hosts.map((h) => (h.includes('/') ? h.slice(h.indexOf('/') + 1) : h));
      const draft: ListenerDraft = {
        key: `${ns}/${gw.meta.name}/${name}`,
        gateway: { kind: 'IstioGateway', namespace: ns, name: gw.meta.name },
        name,
        port: s.port.number,
        protocol: protocol === 'HTTPS' ? 'HTTPS' : 'HTTP',
        routeKeys: [],
        source: gw.src,
        allowedFrom: 'All',
        allowsHTTPRoute: true,
        index: i,
      };
      if (hosts.length === 1 && hosts[0] !== '*') draft.hostname = hosts[0]!;
      drafts.push(draft);
    }
    if (gw.body.spec.selector) {
      sink.info(
        where,
        Codes.NOT_APPLIED,
        'spec.selector',
        'the gateway workload selector is not applied: infergate itself serves these servers',
      );
    }
    addGateway(ctx, gatewayKey('IstioGateway', ns, gw.meta.name), drafts);
  }
}

function addGateway(ctx: BuildContext, key: string, drafts: ListenerDraft[]): void {
  for (const d of drafts) {
    const other = ctx.listeners.find(
      (l) =>
        l.port === d.port &&
        (l.gateway.kind !== d.gateway.kind ||
          l.gateway.namespace !== d.gateway.namespace ||
          l.gateway.name !== d.gateway.name),
    );
    if (other) {
      const otherGw = `${other.gateway.kind === 'IstioGateway' ? 'Istio Gateway' : 'Gateway'} ${keyOf(other.gateway.namespace, other.gateway.name)}`;
      if (other.protocol !== d.protocol) {
        ctx.sink.error(
          whereOf(d.source),
          Codes.LISTENER_CONFLICT,
          listenerPath(d),
          `port ${d.port} is also an ${other.protocol} listener of ${otherGw}; standalone serves one socket per port and cannot speak both ${other.protocol} and ${d.protocol} on it`,
          'use a different port for one of the listeners',
        );
        continue;
      }
      ctx.sink.info(
        whereOf(d.source),
        Codes.PORT_SHARED,
        listenerPath(d),
        `port ${d.port} is also a listener of ${otherGw}; standalone serves both from one socket and matches their routes together`,
      );
    }
    ctx.listeners.push(d);
  }
  ctx.listenersByGateway.set(
    key,
    drafts.filter((d) => ctx.listeners.includes(d)),
  );
}

export function listenerPath(l: ListenerDraft): string {
  return l.gateway.kind === 'IstioGateway'
    ? `spec.servers[${l.index}].port`
    : `spec.listeners[${l.index}].port`;
}
