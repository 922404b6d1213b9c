{{- /*
The Secrets the chart generates, one named template each, so that
secrets.yaml renders them and every Deployment carries a checksum of exactly
what it reads (shop.checksums).

Generated values are made on the first install and kept on every upgrade:
`lookup` finds the live Secret and its data wins over the freshly generated
values (a key missing from it, added by a later chart version, is filled
in). `helm.sh/resource-policy: keep` leaves them behind on uninstall, so a
reinstall under the same name finds the same keys and the passwords the
PostgreSQL volume (also kept) was initialised with. Without a cluster (helm
template, a client-side dry run) `lookup` is empty and new values are
generated each time.
*/ -}}

{{/* The data of a Secret to keep: (dict "ctx" $ "name" NAME "fresh" DATA), YAML. */}}
{{- define "shop.keptSecretData" -}}
{{- $data := .fresh }}
{{- with (lookup "v1" "Secret" .ctx.Release.Namespace .name) }}
{{- $data = merge (.data | default dict) $data }}
{{- end }}
{{- toYaml $data }}
{{- end -}}

{{/* One Secret: (dict "ctx" $ "name" NAME "data" BASE64-DATA "keep" BOOL ["type" TYPE]). */}}
{{- define "shop.secretManifest" -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ .name }}
  labels:
    {{- include "shop.labels" .ctx | nindent 4 }}
  {{- if .keep }}
  annotations:
    helm.sh/resource-policy: keep
  {{- end }}
type: {{ .type | default "Opaque" }}
data:
  {{- range $k := keys .data | sortAlpha }}
  {{ $k }}: {{ index $.data $k | quote }}
  {{- end }}
{{- end -}}

{{/*
The service credentials, one per caller (auth-token, mediator-token), and
the JWT key pair (jwt-public.pem is a self-signed
certificate of the key: Helm has no function that prints a bare public key).
*/}}
{{- define "shop.secret.main" -}}
{{- $name := include "shop.secretName" . }}
{{- $key := genPrivateKey "ed25519" }}
{{- $fresh := dict
      "auth-token" (randAlphaNum 48 | b64enc)
      "mediator-token" (randAlphaNum 48 | b64enc)
      "jwt-private.pem" ($key | b64enc)
      "jwt-public.pem" ((genSelfSignedCertWithKey "shop-jwt" nil nil 36500 $key).Cert | b64enc) }}
{{- $data := include "shop.keptSecretData" (dict "ctx" . "name" $name "fresh" $fresh) | fromYaml }}
{{- include "shop.secretManifest" (dict "ctx" . "name" $name "data" $data "keep" true) }}
{{- end -}}

{{/*
The in-chart PostgreSQL's passwords: the superuser's (postgres-password,
for its init script only) and one per database role (<database>-password).
Alphanumeric: they go into the services' DATABASE_URL unescaped.
*/}}
{{- define "shop.secret.postgresql" -}}
{{- $name := include "shop.postgresSecretName" . }}
{{- $fresh := dict "postgres-password" (randAlphaNum 32 | b64enc) }}
{{- range (include "shop.databases" . | fromYaml).databases }}
{{- $_ := set $fresh (printf "%s-password" .) (randAlphaNum 32 | b64enc) }}
{{- end }}
{{- $data := include "shop.keptSecretData" (dict "ctx" . "name" $name "fresh" $fresh) | fromYaml }}
{{- include "shop.secretManifest" (dict "ctx" . "name" $name "data" $data "keep" true) }}
{{- end -}}

{{/*
The in-chart Redis's password, and the URL its clients use. The URL is
derived from the kept password on every render, so the two never disagree:
rediss:// (TLS, the host name verified) when redis.tls.enabled.
*/}}
{{- define "shop.secret.redis" -}}
{{- $name := include "shop.redisSecretName" . }}
{{- $fresh := dict "redis-password" (randAlphaNum 32 | b64enc) }}
{{- $data := include "shop.keptSecretData" (dict "ctx" . "name" $name "fresh" $fresh) | fromYaml }}
{{- $scheme := ternary "rediss" "redis" .Values.redis.tls.enabled }}
{{- $url := printf "%s://:%s@%s-redis:6379" $scheme (index $data "redis-password" | b64dec) (include "shop.fullname" .) }}
{{- $_ := set $data "redis-url" ($url | b64enc) }}
{{- include "shop.secretManifest" (dict "ctx" . "name" $name "data" $data "keep" true) }}
{{- end -}}

{{/*
The administrator's password (admin-password), which auth reads at start
from ADMIN_PASSWORD_FILE: 32 letters and digits (auth takes 8 to 72 bytes).
Kept like the others, so an upgrade never changes the password under the
operator's feet; a changed key sets the new password when auth restarts.
*/}}
{{- define "shop.secret.admin" -}}
{{- $name := include "shop.adminSecretName" . }}
{{- $fresh := dict "admin-password" (randAlphaNum 32 | b64enc) }}
{{- $data := include "shop.keptSecretData" (dict "ctx" . "name" $name "fresh" $fresh) | fromYaml }}
{{- include "shop.secretManifest" (dict "ctx" . "name" $name "data" $data "keep" true) }}
{{- end -}}

{{/* externalRedis.url, kept out of the pod spec like any URL that may hold a password. */}}
{{- define "shop.secret.externalRedis" -}}
{{- $url := required "redis.enabled is false: set externalRedis.url or externalRedis.existingSecret" .Values.externalRedis.url }}
{{- include "shop.secretManifest" (dict "ctx" . "name" (include "shop.redisSecretName" .) "data" (dict "redis-url" ($url | b64enc)) "keep" false) }}
{{- end -}}


{{/*
The certificate of an in-chart store: (dict "ctx" $ "component" "postgresql"
"name" SECRET). A CA of its own (ECDSA P-256, 10 years) signs a server
certificate for the names of the store's Service: <fullname>-<component>,
and with .<namespace>, .<namespace>.svc, .<namespace>.svc.cluster.local.
Data: tls.crt, tls.key, ca.crt (the shape of cert-manager's Secrets). The
CA's key is dropped: nothing ever signs with it again, so a leak of this
Secret cannot mint certificates for other names.

Kept on upgrade: a live Secret holding all three keys wins whole (halves of
two generations would not match); otherwise a new CA and certificate. To
renew, delete the Secret and upgrade: the stores and the services roll
(their checksums change) onto the new pair. Unlike the passwords it is not
left behind on uninstall: nothing on a kept volume depends on it.
*/}}
{{- define "shop.storeTlsData" -}}
{{- $live := (lookup "v1" "Secret" .ctx.Release.Namespace .name).data | default dict }}
{{- if and (index $live "tls.crt") (index $live "tls.key") (index $live "ca.crt") }}
{{- toYaml (pick $live "tls.crt" "tls.key" "ca.crt") }}
{{- else }}
{{- $service := printf "%s-%s" (include "shop.fullname" .ctx) .component }}
{{- $ns := .ctx.Release.Namespace }}
{{- $names := list $service (printf "%s.%s" $service $ns) (printf "%s.%s.svc" $service $ns)
      (printf "%s.%s.svc.cluster.local" $service $ns) }}
{{- $ca := genCAWithKey (printf "%s-ca" $service) 3650 (genPrivateKey "ecdsa") }}
{{- $cert := genSignedCertWithKey $service nil $names 3650 $ca (genPrivateKey "ecdsa") }}
{{- toYaml (dict "ca.crt" ($ca.Cert | b64enc) "tls.crt" ($cert.Cert | b64enc) "tls.key" ($cert.Key | b64enc)) }}
{{- end }}
{{- end -}}

{{/* The in-chart PostgreSQL's certificate (postgresql.tls). */}}
{{- define "shop.secret.postgresqlTls" -}}
{{- $name := include "shop.postgresTlsSecretName" . }}
{{- $data := include "shop.storeTlsData" (dict "ctx" . "component" "postgresql" "name" $name) | fromYaml }}
{{- include "shop.secretManifest" (dict "ctx" . "name" $name "data" $data "keep" false "type" "kubernetes.io/tls") }}
{{- end -}}

{{/* The in-chart Redis's certificate (redis.tls). */}}
{{- define "shop.secret.redisTls" -}}
{{- $name := include "shop.redisTlsSecretName" . }}
{{- $data := include "shop.storeTlsData" (dict "ctx" . "component" "redis" "name" $name) | fromYaml }}
{{- include "shop.secretManifest" (dict "ctx" . "name" $name "data" $data "keep" false "type" "kubernetes.io/tls") }}
{{- end -}}
