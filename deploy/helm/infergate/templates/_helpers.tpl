{{- define "infergate.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "infergate.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ .Values.mode }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "infergate.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "infergate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ default (include "infergate.fullname" .) .Values.serviceAccount.name }}{{- else -}}{{ default "default" .Values.serviceAccount.name }}{{- end -}}
{{- end -}}

{{/* The namespaced kinds gateway mode reads (get/list/watch). */}}
{{- define "infergate.gatewayReadRules" -}}
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["gateways", "httproutes", "referencegrants"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["inference.networking.k8s.io"]
  resources: ["inferencepools"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["inference.networking.x-k8s.io"]
  resources: ["inferencepools", "inferencemodels", "inferenceobjectives", "inferencemodelrewrites"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["services", "pods"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["discovery.k8s.io"]
  resources: ["endpointslices"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["gateway.envoyproxy.io"]
  resources: ["backendtrafficpolicies"]
  verbs: ["get", "list", "watch"]
{{- if .Values.gateway.istioGatewayLabels }}
- apiGroups: ["networking.istio.io"]
  resources: ["gateways", "virtualservices"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["istio.alibabacloud.com"]
  resources: ["llmroutes"]
  verbs: ["get", "list", "watch"]
{{- end }}
{{- if .Values.gateway.writeStatus }}
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["gateways/status", "httproutes/status"]
  verbs: ["update"]
- apiGroups: ["inference.networking.k8s.io", "inference.networking.x-k8s.io"]
  resources: ["inferencepools/status"]
  verbs: ["update"]
{{- end }}
{{- end -}}

{{/* Load sharing between the replicas: publish on the peer port, find the others as this release's Pods. */}}
{{- define "infergate.peerLoadArgs" -}}
{{- if .Values.peerLoad.enabled }}
            - --peer-listen=tcp://0.0.0.0:{{ .Values.peerLoad.port }}
            - --peer-selector=app.kubernetes.io/name={{ .Chart.Name }},app.kubernetes.io/instance={{ .Release.Name }}
{{- end }}
{{- end -}}
