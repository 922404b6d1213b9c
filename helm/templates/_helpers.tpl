{{/*
The services, once, for every template that needs them (Deployments,
Services, PodDisruptionBudgets, the Ingress's backend ports):
  name     the binary (/usr/local/bin/<name>) and the component label
  values   its block in values.yaml
  port     HTTP_PORT, the same as in the local stack
  db       its database (order-api and the mediator share `orders`)
  jwt      the JWT key files it mounts (private: auth only)
  token    whether it gets SERVICE_TOKEN (all but order-api)
  redis    whether it gets REDIS_URL
Read it with: (include "shop.services" . | fromYaml).services
*/}}
{{- define "shop.services" -}}
services:
  - {name: auth, values: auth, port: 8001, db: auth, jwt: [jwt-private.pem, jwt-public.pem], token: true, redis: false}
  - {name: billing, values: billing, port: 8002, db: billing, jwt: [jwt-public.pem], token: true, redis: false}
  - {name: order-api, values: orderApi, port: 8003, db: orders, jwt: [jwt-public.pem], token: false, redis: true}
  - {name: items, values: items, port: 8004, db: items, jwt: [], token: true, redis: false}
  - {name: slots, values: slots, port: 8005, db: slots, jwt: [], token: true, redis: false}
  - {name: mediator, values: mediator, port: 8006, db: orders, jwt: [], token: true, redis: true}
{{- end -}}

{{/* The public API (SPEC section 2), the only paths the Ingress routes. */}}
{{- define "shop.publicRoutes" -}}
routes:
  - {path: /api/auth/users, service: auth}
  - {path: /api/token, service: auth}
  - {path: /api/accounts, service: billing}
  - {path: /api/orders, service: order-api}
  - {path: /api/openapi.yaml, service: auth}
{{- end -}}

{{- define "shop.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "shop.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ .Chart.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Labels of one component's objects: (dict "ctx" $ "component" "auth") */}}
{{- define "shop.componentLabels" -}}
{{ include "shop.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Selector of one component (a subset of its labels that never changes). */}}
{{- define "shop.selector" -}}
app.kubernetes.io/name: {{ .ctx.Chart.Name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "shop.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "shop.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "shop.fullname" .)) -}}
{{- end -}}

{{- define "shop.postgresSecretName" -}}
{{- .Values.postgresql.existingSecret | default (printf "%s-postgresql" (include "shop.fullname" .)) -}}
{{- end -}}

{{/*
DATABASE_URL of one database: (dict "ctx" $ "db" "auth"). The password
comes from a Secret into DATABASE_PASSWORD and Kubernetes substitutes
$(DATABASE_PASSWORD), so it never appears in a ConfigMap or the pod spec.
*/}}
{{- define "shop.databaseEnv" -}}
{{- $v := .ctx.Values -}}
{{- if $v.postgresql.enabled }}
- name: DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "shop.postgresSecretName" .ctx }}
      key: postgres-password
- name: DATABASE_URL
  value: {{ printf "postgres://%s:$(DATABASE_PASSWORD)@%s-postgresql:5432/%s" $v.postgresql.username (include "shop.fullname" .ctx) .db | quote }}
{{- else if $v.externalDatabase.existingSecret }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $v.externalDatabase.existingSecret }}
      key: {{ printf "%s-url" .db }}
{{- else }}
{{- $db := $v.externalDatabase }}
- name: DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "postgresql.enabled is false: set externalDatabase.existingSecret, or externalDatabase.host with passwordSecret" $db.passwordSecret }}
      key: {{ $db.passwordKey }}
- name: DATABASE_URL
  value: {{ printf "postgres://%s:$(DATABASE_PASSWORD)@%s:%v/%s" (required "externalDatabase.username is required with externalDatabase.host" $db.username) (required "postgresql.enabled is false: set externalDatabase.existingSecret or externalDatabase.host" $db.host) $db.port (index $db.databases .db) | quote }}
{{- end }}
{{- end -}}

{{/* REDIS_URL, for order-api and the mediator. */}}
{{- define "shop.redisEnv" -}}
{{- if .Values.redis.enabled }}
- name: REDIS_URL
  value: {{ printf "redis://%s-redis:6379" (include "shop.fullname" .) | quote }}
{{- else if .Values.externalRedis.existingSecret }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.externalRedis.existingSecret }}
      key: {{ .Values.externalRedis.existingSecretKey }}
{{- else }}
- name: REDIS_URL
  value: {{ required "redis.enabled is false: set externalRedis.url or externalRedis.existingSecret" .Values.externalRedis.url | quote }}
{{- end }}
{{- end -}}

{{/*
Security contexts: never root, no privilege escalation, no capabilities,
the runtime's default seccomp profile, a read-only root filesystem.
Argument: the uid (10001 for the services, the image's user for the stores).
*/}}
{{- define "shop.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
# Set the volume's group once, on the first mount. Re-applied on every mount
# it would make PostgreSQL's data folder group-writable, which PostgreSQL
# refuses to start with.
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "shop.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* nodeSelector, tolerations, affinity of the service pods. */}}
{{- define "shop.scheduling" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
