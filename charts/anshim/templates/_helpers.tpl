{{/* Names. One release per namespace: the operator's Lease is called anshim-operator. */}}
{{- define "anshim.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "anshim.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else if contains (include "anshim.name" .) .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "anshim.name" .) | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "anshim.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of a component: (dict "root" $ "component" "operator"). */}}
{{- define "anshim.labels" -}}
helm.sh/chart: {{ include "anshim.chart" .root }}
{{ include "anshim.selectorLabels" . }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: anshim
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{- define "anshim.selectorLabels" -}}
app.kubernetes.io/name: anshim-{{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{/* The labels the operator puts on every worker pod (operator/src/workers.ts). */}}
{{- define "anshim.workerSelector" -}}
app.kubernetes.io/name: anshim-worker
app.kubernetes.io/managed-by: anshim-operator
{{- end }}

{{/* An image reference: (dict "root" $ "image" .Values.operator.image). */}}
{{- define "anshim.image" -}}
{{- $registry := .root.Values.image.registry | trimSuffix "/" }}
{{- $repository := ternary .image.repository (printf "%s/%s" $registry .image.repository) (empty $registry) }}
{{- if .image.digest }}
{{- printf "%s@%s" $repository .image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
The restricted Pod Security profile, on every pod of the chart (the operator builds the workers'
pods the same way). Not configurable: nothing here should ever need root or a writable image.
*/}}
{{- define "anshim.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "anshim.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Prefer one replica a node, unless the values set an affinity: (dict "root" $ "component" "operator" "affinity" .Values.operator.affinity). */}}
{{- define "anshim.affinity" -}}
{{- if .affinity }}
{{- toYaml .affinity }}
{{- else -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "anshim.selectorLabels" . | nindent 12 }}
{{- end }}
{{- end }}

{{/* Secret names: the existing one when given, else the one the chart generates. */}}
{{- define "anshim.kekSecret" -}}
{{- .Values.secrets.keyEncryptionKey.existingSecret | default (printf "%s-kek" (include "anshim.fullname" .)) }}
{{- end }}
{{- define "anshim.optOutKeySecret" -}}
{{- .Values.secrets.optOutKey.existingSecret | default (printf "%s-opt-out-key" (include "anshim.fullname" .)) }}
{{- end }}
{{- define "anshim.carrierKeysSecret" -}}
{{- .Values.secrets.carrierKeys.existingSecret | default (printf "%s-carrier-keys" (include "anshim.fullname" .)) }}
{{- end }}
{{- define "anshim.carrierTlsSecret" -}}
{{- .Values.secrets.carrierTls.existingSecret | default (printf "%s-carrier-tls" (include "anshim.fullname" .)) }}
{{- end }}
{{- define "anshim.signingKeySecret" -}}
{{- .Values.secrets.signingKey.existingSecret | default (printf "%s-signing-key" (include "anshim.fullname" .)) }}
{{- end }}
{{- define "anshim.simulatorPskSecret" -}}
{{- .Values.secrets.simulatorPsk.existingSecret | default (printf "%s-simulator-psk" (include "anshim.fullname" .)) }}
{{- end }}
{{- define "anshim.simulatorTlsSecret" -}}
{{- .Values.secrets.simulatorTls.existingSecret | default (printf "%s-simulator-tls" (include "anshim.fullname" .)) }}
{{- end }}

{{/* Each simulated carrier's port (simulator/src: one gRPC server a carrier). */}}
{{- define "anshim.carrierPorts" -}}
{{- toJson (dict "skt" 50051 "kt" 50052 "lguplus" 50053 "kakao" 50054 "rcs" 50055 "push" 50056) }}
{{- end }}

{{- define "anshim.simulatorHost" -}}
{{- printf "%s-simulator.%s.svc" (include "anshim.fullname" .) .Release.Namespace }}
{{- end }}

{{/* The carriers the workers reach, as a JSON list of {id, address}. */}}
{{- define "anshim.fleetCarriers" -}}
{{- $carriers := list }}
{{- if .Values.fleet.carriers }}
{{- $carriers = .Values.fleet.carriers }}
{{- else if .Values.simulators.enabled }}
{{- $ports := include "anshim.carrierPorts" . | fromJson }}
{{- range .Values.simulators.carriers }}
{{- $carriers = append $carriers (dict "id" . "address" (printf "%s:%v" (include "anshim.simulatorHost" $) (index $ports .))) }}
{{- end }}
{{- end }}
{{- toJson $carriers }}
{{- end }}

{{/* Distinct ports of host:port addresses: (list "a:1" "b:1") → [1]. */}}
{{- define "anshim.portsOf" -}}
{{- $ports := list }}
{{- range . }}
{{- $ports = append $ports (splitList ":" . | last | atoi) }}
{{- end }}
{{- toJson ($ports | uniq) }}
{{- end }}

{{/*
Hex → raw bytes (a Go string), for key derivations Sprig has no function for: each byte is
percent-encoded and url.Parse decodes the path. charts/src tests it on all 256 byte values.
*/}}
{{- define "anshim.hexToBytes" -}}
{{- (urlParse (printf "x:///%s" (regexReplaceAll "([0-9a-fA-F]{2})" . "%${1}"))).path | trimPrefix "/" }}
{{- end }}

{{/*
The workers' keys.json for simulated carriers, derived from the simulators' pre-shared secret
exactly as core/src/carrier-keys.ts does (carrierKeyFromFleetSecret):
  material = SHA-256(psk ‖ "|" ‖ carrier), id = "<carrier>:psk:" + SHA-256("psk|" ‖ material)[:16 hex].
Argument: (dict "psk" <raw psk bytes> "carriers" <list>).
*/}}
{{- define "anshim.simulatorCarrierKeys" -}}
{{- $psk := .psk }}
{{- $keys := list }}
{{- range .carriers }}
{{- $material := sha256sum (printf "%s|%s" $psk .) }}
{{- $fingerprint := sha256sum (printf "psk|%s" (include "anshim.hexToBytes" $material)) | trunc 16 }}
{{- $keys = append $keys (dict "carrier" . "id" (printf "%s:psk:%s" . $fingerprint) "materialHex" $material) }}
{{- end }}
{{- toJson $keys }}
{{- end }}

{{/* NetworkPolicy egress rules shared by the components. */}}
{{- define "anshim.egressDns" -}}
- to:
    {{- toYaml .Values.networkPolicy.dns.to | nindent 4 }}
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- end }}

{{- define "anshim.egressKafka" -}}
{{- $ports := .Values.networkPolicy.kafka.ports | default (include "anshim.portsOf" .Values.kafka.brokers | fromJsonArray) -}}
- ports:
    {{- range $ports }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
  {{- with .Values.networkPolicy.kafka.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/*
The API server's addresses: from the values, else the `kubernetes` Service's EndpointSlice (read
at install; `helm template` cannot, and then any address on the API server ports is allowed).
*/}}
{{- define "anshim.egressApiServer" -}}
{{- $to := .Values.networkPolicy.apiServer.to }}
{{- $ports := list }}
{{- range .Values.networkPolicy.apiServer.ports }}
{{- $ports = append $ports (int64 .) }}
{{- end }}
{{- if not $to }}
{{- range (lookup "discovery.k8s.io/v1" "EndpointSlice" "default" "").items }}
{{- if eq (index (.metadata.labels | default dict) "kubernetes.io/service-name") "kubernetes" }}
{{- range .endpoints }}
{{- range .addresses }}
{{- $to = append $to (dict "ipBlock" (dict "cidr" (printf "%s/%s" . (ternary "128" "32" (contains ":" .))))) }}
{{- end }}
{{- end }}
{{- range .ports }}
{{- $ports = append $ports (int64 .port) }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}
- ports:
    {{- range ($ports | uniq) }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
  {{- with $to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/*
imagePullSecrets of a pod spec (or of the fleet's worker spec, the same shape): image.pullSecrets
and the component's own, once each. (dict "root" $ "extra" .Values.operator.imagePullSecrets)
*/}}
{{- define "anshim.imagePullSecrets" -}}
{{- $names := concat (.root.Values.image.pullSecrets | default list) (.extra | default list) | uniq }}
{{- with $names -}}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end }}

{{/*
Pod annotations: the component's own and, with metrics on, the prometheus.io scrape annotations.
(dict "root" $ "extra" .Values.operator.podAnnotations "metrics" true)
*/}}
{{- define "anshim.podAnnotations" -}}
{{- $annotations := deepCopy (.extra | default dict) }}
{{- $metrics := .root.Values.metrics }}
{{- if and .metrics $metrics.enabled $metrics.scrapeAnnotations }}
{{- $_ := set $annotations "prometheus.io/scrape" "true" }}
{{- $_ := set $annotations "prometheus.io/port" (toString $metrics.port) }}
{{- $_ := set $annotations "prometheus.io/path" "/metrics" }}
{{- end }}
{{- with $annotations -}}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The metrics env and port of a container (telemetry/src/start.ts reads ANSHIM_METRICS_PORT). */}}
{{- define "anshim.metricsEnv" -}}
{{- if .Values.metrics.enabled -}}
- name: ANSHIM_METRICS_PORT
  value: {{ .Values.metrics.port | quote }}
{{- end }}
{{- end }}

{{- define "anshim.metricsPort" -}}
{{- if .Values.metrics.enabled -}}
- name: metrics
  containerPort: {{ .Values.metrics.port }}
  protocol: TCP
{{- end }}
{{- end }}

{{/* NetworkPolicy ingress: Prometheus (networkPolicy.metrics.from) to the metrics port, when metrics are on. */}}
{{- define "anshim.ingressMetrics" -}}
{{- if .Values.metrics.enabled -}}
- from:
    {{- toYaml .Values.networkPolicy.metrics.from | nindent 4 }}
  ports:
    - protocol: TCP
      port: {{ .Values.metrics.port }}
{{- end }}
{{- end }}

{{/* Where a container sends its spans (telemetry/src/start.ts reads OTEL_EXPORTER_OTLP_ENDPOINT), when tracing is on. */}}
{{- define "anshim.tracingEnv" -}}
{{- with .Values.tracing.otlpEndpoint -}}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{/* NetworkPolicy egress: the collector (networkPolicy.tracing.to) on tracing.port, when tracing is on. */}}
{{- define "anshim.egressTracing" -}}
{{- if .Values.tracing.otlpEndpoint -}}
- to:
    {{- toYaml .Values.networkPolicy.tracing.to | nindent 4 }}
  ports:
    - protocol: TCP
      port: {{ .Values.tracing.port }}
{{- end }}
{{- end }}

{{/* A component's Kafka user Secret (kafka.sasl.<component>Secret, default <fullname>-kafka-<component>). */}}
{{- define "anshim.kafkaSecret" -}}
{{- $given := index .root.Values.kafka.sasl (printf "%sSecret" .component) -}}
{{- $given | default (printf "%s-kafka-%s" (include "anshim.fullname" .root) .component) }}
{{- end }}

{{/* The Kafka user of the operator or the gateway as their environment reads it (credentialsFromEnv). */}}
{{- define "anshim.kafkaEnv" -}}
{{- if .root.Values.kafka.sasl.mechanism }}
- name: ANSHIM_KAFKA_SASL_MECHANISM
  value: {{ .root.Values.kafka.sasl.mechanism | quote }}
- name: ANSHIM_KAFKA_USERNAME_FILE
  value: /etc/anshim/kafka/username
- name: ANSHIM_KAFKA_PASSWORD_FILE
  value: /etc/anshim/kafka/password
{{- end }}
{{- end }}
{{- define "anshim.kafkaMount" -}}
{{- if .Values.kafka.sasl.mechanism }}
- name: kafka-user
  mountPath: /etc/anshim/kafka
  readOnly: true
{{- end }}
{{- end }}
{{- define "anshim.kafkaVolume" -}}
{{- if .root.Values.kafka.sasl.mechanism }}
- name: kafka-user
  secret:
    secretName: {{ include "anshim.kafkaSecret" . }}
    defaultMode: 0440
{{- end }}
{{- end }}

{{/*
The KMS (kms.address): flags or environment, the token Secret's mount and volume, and egress.
Argument: (dict "root" $ "component" "operator"|"gateway") where a component is named.
*/}}
{{- define "anshim.kmsEnv" -}}
{{- if .root.Values.kms.address }}
- name: ANSHIM_KMS_ADDRESS
  value: {{ .root.Values.kms.address | quote }}
- name: ANSHIM_KMS_MOUNT
  value: {{ .root.Values.kms.mount | quote }}
- name: ANSHIM_KMS_TOKEN_FILE
  value: /etc/anshim/kms/token
{{- end }}
{{- end }}
{{- define "anshim.kmsMount" -}}
{{- if .Values.kms.address }}
- name: kms-token
  mountPath: /etc/anshim/kms
  readOnly: true
{{- end }}
{{- end }}
{{- define "anshim.kmsVolume" -}}
{{- if .root.Values.kms.address }}
- name: kms-token
  secret:
    secretName: {{ index .root.Values.kms (printf "%sTokenSecret" .component) }}
    defaultMode: 0440
    items:
      - key: token
        path: token
{{- end }}
{{- end }}
{{- define "anshim.egressKms" -}}
{{- if .Values.kms.address }}
{{- $url := urlParse .Values.kms.address }}
{{- $port := (splitList ":" $url.host | rest | first) | default (ternary "443" "80" (eq $url.scheme "https")) }}
- ports:
    - protocol: TCP
      port: {{ $port | atoi }}
  {{- with .Values.kms.networkPeers }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}
