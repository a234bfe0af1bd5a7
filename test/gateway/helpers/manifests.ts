/**
 * Manifest text for CLI tests: a Gateway, HTTPRoutes, Services and the Pods that resolve them to test
 * upstreams on 127.0.0.1 (container port 8000 with `hostPort` = the upstream's real port, as the
 * simulator's --emit-pods does).
 */
export function gatewayYaml(name: string, listeners: { name: string; port: number }[]): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: ${name}
  namespace: default
spec:
  gatewayClassName: test
  listeners:
${listeners.map((l) => `  - name: ${l.name}\n    port: ${l.port}\n    protocol: HTTP\n`).join('')}`;
}

export function serviceYaml(name: string, hostPorts: number[]): string {
  const service = `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: default
spec:
  selector:
    app: ${name}
  ports:
  - port: 8000
    targetPort: 8000
`;
  const pods = hostPorts.map(
    (p, i) => `---
apiVersion: v1
kind: Pod
metadata:
  name: ${name}-${i}
  namespace: default
  labels:
    app: ${name}
spec:
  containers:
  - name: server
    image: test
    ports:
    - containerPort: 8000
      hostPort: ${p}
status:
  phase: Running
  podIP: 127.0.0.1
  hostIP: 127.0.0.1
  conditions:
  - type: Ready
    status: "True"
`,
  );
  return service + pods.join('');
}

/** An HTTPRoute sending everything to `service` (port 8000) from the listener `section` of `gateway`. */
export function routeYaml(
  name: string,
  gateway: string,
  service: string,
  section?: string,
  timeout?: string,
): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ${name}
  namespace: default
spec:
  parentRefs:
  - name: ${gateway}${section ? `\n    sectionName: ${section}` : ''}
  rules:
  - backendRefs:
    - name: ${service}
      port: 8000
${timeout ? `    timeouts:\n      request: ${timeout}\n` : ''}`;
}
