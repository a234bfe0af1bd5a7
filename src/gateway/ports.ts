/**
 * Declared → actual listener ports. Gateways declare ports such as 80 that a local process may not
 * bind (privileged) or that are busy; `serve` remaps them without touching the manifests:
 *   --port-map 80=8080,8081=0   explicit map (0 = a free port chosen by the OS)
 *   --port-offset 8000          every declared port not in the map + 8000 (80 → 8080)
 */
export interface PortMapping {
  map: ReadonlyMap<number, number>;
  offset: number;
}

/** A listener as served: its key from the plan, its declared port and the port actually bound. */
export interface ListenerAddress {
  key: string;
  declaredPort: number;
  port: number;
  /** A URL a local client can use (0.0.0.0 / :: shown as loopback). */
  url: string;
}

export const NO_PORT_MAPPING: PortMapping = { map: new Map(), offset: 0 };

export class PortMapError extends Error {
  readonly code = 'BAD_PORT_MAP';
}

/** Parses `80=8080,8081=0` (spaces allowed). Throws PortMapError naming the bad item. */
export function parsePortMap(text: string): Map<number, number> {
  const map = new Map<number, number>();
  for (const item of text.split(',')) {
    const t = item.trim();
    if (t.length === 0) continue;
    const m = /^(\d+)\s*[=:]\s*(\d+)$/.exec(t);
    if (!m)
      throw new PortMapError(
        `--port-map: "${t}" is not DECLARED=ACTUAL (e.g. 80=8080, or 80=0 for any free port)`,
      );
    const from = Number(m[1]);
    const to = Number(m[2]);
    if (from < 1 || from > 65535)
      throw new PortMapError(`--port-map: declared port ${from} is not in 1–65535`);
    if (to > 65535) throw new PortMapError(`--port-map: actual port ${to} is not in 0–65535`);
    if (map.has(from)) throw new PortMapError(`--port-map: port ${from} is mapped twice`);
    map.set(from, to);
  }
  return map;
}

/** The port to bind for a declared listener port (0 = let the OS choose). */
export function actualPort(declared: number, mapping: PortMapping): number {
  const mapped = mapping.map.get(declared);
  if (mapped !== undefined) return mapped;
  const p = declared + mapping.offset;
  if (p < 0 || p > 65535) {
    throw new PortMapError(`--port-offset ${mapping.offset} moves port ${declared} out of range (${p})`);
  }
  return p;
}
