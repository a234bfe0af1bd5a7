/**
 * Hostname rules of the Gateway API: listener and route hostnames, `*.` wildcards (matching one or
 * more leading labels), and the Host header as a request carries it.
 */

/** The Host header reduced to what hostname matching compares: lower case, no port, no trailing dot. */
export function normalizeHost(host: string | undefined): string {
  if (host === undefined || host.length === 0) return '';
  let h = host;
  if (h.charCodeAt(0) === 91 /* [ IPv6 literal */) {
    const close = h.indexOf(']');
    h = close > 0 ? h.slice(0, close + 1) : h;
  } else {
    const colon = h.lastIndexOf(':');
    if (colon >= 0) h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h.toLowerCase();
}

export function isWildcard(hostname: string): boolean {
  return hostname.startsWith('*.');
}

/** True when `pattern` (exact or `*.suffix`) matches the concrete `host`. */
export function hostnameMatches(pattern: string, host: string): boolean {
  if (!isWildcard(pattern)) return pattern === host;
  const suffix = pattern.slice(1); // ".example.com"
  return host.length > suffix.length && host.endsWith(suffix);
}

/**
 * The hostnames a route serves on a listener: the intersection of the listener hostname (undefined =
 * any) with the route hostnames (empty = any). `'*'` stands for "any host". An empty result means the
 * route does not attach to this listener (Gateway API: the route is not accepted there).
 */
export function effectiveHostnames(
  listenerHostname: string | undefined,
  routeHostnames: readonly string[],
): string[] {
  const l = listenerHostname?.toLowerCase();
  if (routeHostnames.length === 0) return [l ?? '*'];
  const out: string[] = [];
  for (const raw of routeHostnames) {
    const r = raw.toLowerCase();
    const hit = intersect(l, r);
    if (hit !== undefined && !out.includes(hit)) out.push(hit);
  }
  return out;
}

function intersect(listener: string | undefined, route: string): string | undefined {
  if (listener === undefined) return route;
  const lw = isWildcard(listener);
  const rw = isWildcard(route);
  if (!lw && !rw) return listener === route ? route : undefined;
  if (!rw) return hostnameMatches(listener, route) ? route : undefined;
  if (!lw) return hostnameMatches(route, listener) ? listener : undefined;
  // Both wildcards: the more specific one, when one contains the other.
  const ls = listener.slice(1);
  const rs = route.slice(1);
  if (ls.endsWith(rs)) return listener;
  if (rs.endsWith(ls)) return route;
  return undefined;
}
