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

{{/* The REDIS_URL env entry, from the external URL, its Secret, or the bundled Redis. */}}
{{- define "redeliver.redisEnv" -}}
- name: REDIS_URL
{{- if .Values.redis.external.existingSecret }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.external.existingSecret }}
      key: {{ .Values.redis.external.existingSecretKey }}
{{- else if .Values.redis.external.url }}
  value: {{ .Values.redis.external.url | quote }}
{{- else if .Values.redis.bundled.enabled }}
  value: {{ printf "redis://%s:6379" (include "redeliver.redisName" .) | quote }}
{{- else }}
{{- fail "redis: set redis.external.url, redis.external.existingSecret, or redis.bundled.enabled" }}
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
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "redeliver.fullname" $root }}-{{ $role }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "redeliver.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ $role }}
spec:
  replicas: {{ $v.replicas }}
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
      {{- with $root.Values.podAnnotations }}
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
            # Every role reads the endpoint registry, whose secrets are sealed with this key.
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
            failureThreshold: 3
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
