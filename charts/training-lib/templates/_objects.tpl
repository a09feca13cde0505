{{/* The small objects around the Deployment. */}}

{{- define "training-lib.configmap" -}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "training-lib.fullname" . }}
  labels:
    {{- include "training-lib.labels" . | nindent 4 }}
data:
  {{- include "training-lib.settings" . | nindent 2 }}
{{- end -}}

{{- define "training-lib.serviceaccount" -}}
{{- if .Values.serviceAccount.create -}}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "training-lib.serviceAccountName" . }}
  labels:
    {{- include "training-lib.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end -}}
{{- end -}}

{{- define "training-lib.service" -}}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "training-lib.fullname" . }}
  labels:
    {{- include "training-lib.labels" . | nindent 4 }}
    app.kubernetes.io/component: server
  {{- with .Values.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: ClusterIP
  {{- with .Values.service.sessionAffinity }}
  sessionAffinity: {{ . }}
  {{- if eq . "ClientIP" }}
  sessionAffinityConfig:
    clientIP:
      timeoutSeconds: {{ int ($.Values.service.sessionAffinityTimeoutSeconds | default 10800) }}
  {{- end }}
  {{- end }}
  selector:
    {{- include "training-lib.selectorLabels" . | nindent 4 }}
  ports:
    {{- if .Values.app.httpPort }}
    - name: http
      port: {{ int .Values.app.httpPort }}
      targetPort: http
      protocol: TCP
      appProtocol: http
    {{- else }}
    - name: grpc
      port: {{ int .Values.app.grpcPort }}
      targetPort: grpc
      protocol: TCP
      appProtocol: kubernetes.io/h2c
    {{- end }}
{{- end -}}

{{/* Opt-in Ingress of an HTTP app (the gateway): `ingress.enabled`, class, hosts and TLS from values. */}}
{{- define "training-lib.ingress" -}}
{{- if and .Values.ingress .Values.ingress.enabled -}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "training-lib.fullname" . }}
  labels:
    {{- include "training-lib.labels" . | nindent 4 }}
  {{- with .Values.ingress.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with .Values.ingress.className }}
  ingressClassName: {{ . }}
  {{- end }}
  {{- with .Values.ingress.tls }}
  tls:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  rules:
    {{- range $host := required (printf "%s: ingress.hosts needs at least one host when ingress.enabled is true" .Chart.Name) .Values.ingress.hosts }}
    - host: {{ $host | quote }}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: {{ include "training-lib.fullname" $ }}
                port:
                  name: http
    {{- end }}
{{- end -}}
{{- end -}}

{{- define "training-lib.pdb" -}}
{{- if .Values.podDisruptionBudget.enabled -}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "training-lib.fullname" . }}
  labels:
    {{- include "training-lib.labels" . | nindent 4 }}
    app.kubernetes.io/component: server
spec:
  {{- if not (kindIs "invalid" .Values.podDisruptionBudget.minAvailable) }}
  minAvailable: {{ .Values.podDisruptionBudget.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .Values.podDisruptionBudget.maxUnavailable }}
  {{- end }}
  # A pod that is not ready (e.g. its database is down) may always be evicted, so drains do not hang.
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      {{- include "training-lib.selectorLabels" . | nindent 6 }}
{{- end -}}
{{- end -}}

{{- define "training-lib.hpa" -}}
{{- if .Values.autoscaling.enabled -}}
{{- $autoscaling := .Values.autoscaling -}}
{{- if gt (int $autoscaling.minReplicas) (int $autoscaling.maxReplicas) -}}
{{- fail (printf "%s: autoscaling.minReplicas (%d) is greater than autoscaling.maxReplicas (%d)" .Chart.Name (int $autoscaling.minReplicas) (int $autoscaling.maxReplicas)) -}}
{{- end -}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "training-lib.fullname" . }}
  labels:
    {{- include "training-lib.labels" . | nindent 4 }}
    app.kubernetes.io/component: server
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "training-lib.fullname" . }}
  minReplicas: {{ int $autoscaling.minReplicas }}
  maxReplicas: {{ int $autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ int $autoscaling.targetCPUUtilizationPercentage }}
    {{- with $autoscaling.targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ int . }}
    {{- end }}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: {{ int $autoscaling.scaleDownStabilizationSeconds }}
{{- end -}}
{{- end -}}

{{/*
Opt-in NetworkPolicy for the service's pods (server and hook Jobs). In: gRPC from the platform's own
pods, plus `networkPolicy.extraIngress` (a gateway, an ingress controller). Out: DNS, PostgreSQL, NATS
(to the peers named in global values, or any address on their ports), the platform's pods (identity
and the other services), plus `networkPolicy.extraEgress` (an OTLP collector, the provincial platform).
*/}}
{{- define "training-lib.networkpolicy" -}}
{{- if or .Values.networkPolicy.enabled .Values.global.networkPolicy.enabled -}}
{{- $platform := dict "podSelector" (dict "matchLabels" (dict "app.kubernetes.io/part-of" "training-platform")) -}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "training-lib.fullname" . }}
  labels:
    {{- include "training-lib.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "training-lib.podSelector" . | nindent 6 }}
  policyTypes:
    - Ingress
    - Egress
  ingress:
    - from:
        - {{- toYaml $platform | nindent 10 }}
      ports:
        - port: {{ include "training-lib.port" . }}
          protocol: TCP
    {{- with .Values.networkPolicy.extraIngress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  egress:
    - ports:
        - port: 53
          protocol: UDP
        - port: 53
          protocol: TCP
      {{- with .Values.global.networkPolicy.dnsPeers }}
      to:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- range $name := list "postgresql" "nats" }}
    {{- $server := get $.Values.global $name }}
    - ports:
        - port: {{ int $server.port }}
          protocol: TCP
      {{- with $server.networkPeers }}
      to:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- end }}
    - to:
        - {{- toYaml $platform | nindent 10 }}
    {{- with .Values.networkPolicy.extraEgress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}
{{- end -}}

{{/* Everything a service chart installs: its templates/ holds one file that includes this. */}}
{{- define "training-lib.serviceChart" -}}
{{ include "training-lib.configmap" . }}
{{ include "training-lib.serviceaccount" . }}
{{ include "training-lib.service" . }}
{{ include "training-lib.deployment" . }}
{{ include "training-lib.pdb" . }}
{{ include "training-lib.hpa" . }}
{{ include "training-lib.networkpolicy" . }}
{{ include "training-lib.ingress" . }}
{{ include "training-lib.streamsJob" . }}
{{ include "training-lib.migrationJob" . }}
{{- end -}}
