{{/* Chart name, overridable. */}}
{{- define "redeliver.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified release name; object names are "<fullname>-<role>". */}}
{{- define "redeliver.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "redeliver.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "redeliver.labels" -}}
helm.sh/chart: {{ include "redeliver.chart" . }}
{{ include "redeliver.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: redeliver
{{- end -}}

{{/* Labels that select this release's Redeliver pods; add app.kubernetes.io/component per role. */}}
{{- define "redeliver.selectorLabels" -}}
app.kubernetes.io/name: {{ include "redeliver.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "redeliver.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* ServiceAccount of a role: (dict "root" $ "role" "ingest"). Ingest and dispatcher share one. */}}
{{- define "redeliver.serviceAccountName" -}}
{{- $fullname := include "redeliver.fullname" .root -}}
{{- if eq .role "controller" -}}
{{- printf "%s-controller" $fullname -}}
{{- else if eq .role "api" -}}
{{- printf "%s-api" $fullname -}}
{{- else -}}
{{- printf "%s-dataplane" $fullname -}}
{{- end -}}
{{- end -}}

{{/* "true" when the bundled Redis is deployed (enabled and no external Redis given). */}}
{{- define "redeliver.bundledRedis" -}}
{{- if and .Values.redis.bundled.enabled (not .Values.redis.external.url) (not .Values.redis.external.existingSecret) -}}
true
{{- end -}}
{{- end -}}

{{/* Name of the bundled Redis StatefulSet and Service. */}}
{{- define "redeliver.redisName" -}}
{{- printf "%s-redis" (include "redeliver.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The Redis env entries: REDIS_URL from the external URL, a Secret holding the whole URL, or the
bundled Redis. With redis.external.passwordSecret the password comes from its own Secret as
REDIS_PASSWORD and Kubernetes puts it into the URL ($(REDIS_PASSWORD) expansion), so the URL
itself holds no secret; the password must then be URL-safe (or percent-encoded in the Secret).
A private CA for rediss:// is trusted through NODE_EXTRA_CA_CERTS.
*/}}
{{- define "redeliver.redisEnv" -}}
{{- $ext := .Values.redis.external -}}
{{- if and $ext.url $ext.passwordSecret.name }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $ext.passwordSecret.name }}
      key: {{ $ext.passwordSecret.key }}
{{- end }}
- name: REDIS_URL
{{- if $ext.existingSecret }}
  valueFrom:
    secretKeyRef:
      name: {{ $ext.existingSecret }}
      key: {{ $ext.existingSecretKey }}
{{- else if and $ext.url $ext.passwordSecret.name }}
  value: {{ regexReplaceAll "^(rediss?://)" $ext.url "${1}:$(REDIS_PASSWORD)@" | quote }}
{{- else if $ext.url }}
  value: {{ $ext.url | quote }}
{{- else if .Values.redis.bundled.enabled }}
  value: {{ printf "redis://%s:6379" (include "redeliver.redisName" .) | quote }}
{{- else }}
{{- fail "redis: set redis.external.url, redis.external.existingSecret, or redis.bundled.enabled" }}
{{- end }}
{{- if and (not (include "redeliver.bundledRedis" .)) $ext.tls.caSecret.name }}
- name: NODE_EXTRA_CA_CERTS
  value: {{ printf "/etc/redeliver/redis-ca/%s" $ext.tls.caSecret.key | quote }}
{{- end }}
{{- end -}}

{{/*
One Deployment per role: (dict "root" $ "role" "ingest"). Role differences: ServiceAccount and
token (none for ingest/dispatcher), REDELIVER_SECRET_KEY (not for api), the API keys file (api only),
rolling update without unavailability for the data plane.
*/}}
{{- define "redeliver.deployment" -}}
{{- $root := .root -}}
{{- $role := .role -}}
{{- $v := index $root.Values $role -}}
{{- $dataPlane := or (eq $role "ingest") (eq $role "dispatcher") -}}
{{- $redisCa := "" -}}
{{- if not (include "redeliver.bundledRedis" $root) -}}{{- $redisCa = $root.Values.redis.external.tls.caSecret.name -}}{{- end -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "redeliver.fullname" $root }}-{{ $role }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "redeliver.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ $role }}
spec:
  {{- if not (and $dataPlane $v.autoscaling.enabled) }}
  replicas: {{ $v.replicas }}
  {{- end }}
  revisionHistoryLimit: 3
  {{- if $dataPlane }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  {{- end }}
  selector:
    matchLabels:
      {{- include "redeliver.selectorLabels" $root | nindent 6 }}
      app.kubernetes.io/component: {{ $role }}
  template:
    metadata:
      labels:
        {{- include "redeliver.selectorLabels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ $role }}
        app.kubernetes.io/part-of: redeliver
        {{- with $root.Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- $annotations := deepCopy $root.Values.podAnnotations }}
      {{- if $root.Values.metrics.podAnnotations }}
      {{- $annotations = merge $annotations (dict "prometheus.io/scrape" "true" "prometheus.io/port" "8080" "prometheus.io/path" "/metrics") }}
      {{- end }}
      {{- with $annotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "redeliver.serviceAccountName" (dict "root" $root "role" $role) }}
      {{- if $dataPlane }}
      # The data plane never calls the Kubernetes API.
      automountServiceAccountToken: false
      {{- end }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds | default 30 }}
      {{- if $dataPlane }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "redeliver.selectorLabels" $root | nindent 14 }}
              app.kubernetes.io/component: {{ $role }}
      {{- end }}
      containers:
        - name: redeliver
          image: {{ include "redeliver.image" $root | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args: [{{ $role | quote }}]
          env:
            {{- include "redeliver.redisEnv" $root | nindent 12 }}
            # Every role opens the endpoint registry, whose secrets are sealed with this key (the
            # api too: it shows endpoints and resends to them).
            - name: REDELIVER_SECRET_KEY
              valueFrom:
                secretKeyRef:
                  name: {{ $root.Values.secretKey.existingSecret }}
                  key: {{ $root.Values.secretKey.key }}
            {{- if eq $role "api" }}
            - name: REDELIVER_API_KEYS_FILE
              value: {{ printf "/etc/redeliver/api-keys/%s" $root.Values.api.apiKeys.key | quote }}
            {{- end }}
            {{- if eq $role "controller" }}
            - name: REDELIVER_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
            {{- end }}
            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            {{- with $v.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          ports:
            - name: http
              containerPort: 8080
              protocol: TCP
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
            periodSeconds: 5
            # Two misses (10 s): a pod that lost Redis leaves the Service quickly.
            failureThreshold: 2
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            initialDelaySeconds: 10
            periodSeconds: 10
            failureThreshold: 3
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if eq $role "api" }}
            - name: api-keys
              mountPath: /etc/redeliver/api-keys
              readOnly: true
            {{- end }}
            {{- if $redisCa }}
            - name: redis-ca
              mountPath: /etc/redeliver/redis-ca
              readOnly: true
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- if eq $role "api" }}
        - name: api-keys
          secret:
            secretName: {{ $root.Values.api.apiKeys.existingSecret }}
            defaultMode: 0440
        {{- end }}
        {{- if $redisCa }}
        - name: redis-ca
          secret:
            secretName: {{ $redisCa }}
        {{- end }}
      {{- with $root.Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}
