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

{{/* One Secret: (dict "ctx" $ "name" NAME "data" BASE64-DATA "keep" BOOL). */}}
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
type: Opaque
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
derived from the kept password on every render, so the two never disagree.
*/}}
{{- define "shop.secret.redis" -}}
{{- $name := include "shop.redisSecretName" . }}
{{- $fresh := dict "redis-password" (randAlphaNum 32 | b64enc) }}
{{- $data := include "shop.keptSecretData" (dict "ctx" . "name" $name "fresh" $fresh) | fromYaml }}
{{- $url := printf "redis://:%s@%s-redis:6379" (index $data "redis-password" | b64dec) (include "shop.fullname" .) }}
{{- $_ := set $data "redis-url" ($url | b64enc) }}
{{- include "shop.secretManifest" (dict "ctx" . "name" $name "data" $data "keep" true) }}
{{- end -}}

{{/* externalRedis.url, kept out of the pod spec like any URL that may hold a password. */}}
{{- define "shop.secret.externalRedis" -}}
{{- $url := required "redis.enabled is false: set externalRedis.url or externalRedis.existingSecret" .Values.externalRedis.url }}
{{- include "shop.secretManifest" (dict "ctx" . "name" (include "shop.redisSecretName" .) "data" (dict "redis-url" ($url | b64enc)) "keep" false) }}
{{- end -}}
