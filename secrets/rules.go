package secrets

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Helpers for building rules.

func kw(lits ...string) []keyword {
	out := make([]keyword, len(lits))
	for i, l := range lits {
		out[i] = keyword{lit: l}
	}
	return out
}

// kwWord returns case-insensitive keywords that must start a word.
func kwWord(lits ...string) []keyword {
	out := make([]keyword, len(lits))
	for i, l := range lits {
		out[i] = keyword{lit: l, wordStart: true}
	}
	return out
}

// kwExact returns case-sensitive keywords that must start a word.
func kwExact(lits ...string) []keyword {
	out := make([]keyword, len(lits))
	for i, l := range lits {
		out[i] = keyword{lit: l, exact: true, wordStart: true}
	}
	return out
}

// tok wraps a token pattern with a right token boundary: the secret is submatch
// 1. The left boundary is checked by the rule (leftBoundary), which keeps the
// pattern's literal prefix first so the regexp engine can search for it fast.
func tok(re string) string {
	return `(` + re + `)(?:[^A-Za-z0-9_\-]|$)`
}

// assign matches NAME (case-insensitive, with affixes) assigned a VALUE in any of
// the common syntaxes (=, :, :=, =>, ==, whitespace, quoted or not). The value is
// submatch 1.
func assign(names, value string) string {
	return `(?i:` + names + `)[\w.\-]{0,30}['"\]]{0,2}\s*(?:::=|:=|=>|={1,3}|:|\s)\s*@?['"\x60]?(` + value + `)(?:[^A-Za-z0-9_\-]|$)`
}

// p builds a token rule: a prefix-anchored pattern with boundaries.
func p(id, re string, kws ...string) rule {
	return rule{id: id, keywords: kw(kws...), re: regexp.MustCompile(tok(re)), group: 1, leftBoundary: true}
}

// a builds an assignment rule gated by keywords.
func a(id, names, value string, kws ...string) rule {
	return rule{id: id, keywords: kw(kws...), re: regexp.MustCompile(assign(names, value)), group: 1}
}

func withKW(r rule, kws []keyword) rule { r.keywords = kws; return r }

func withEntropy(r rule, bits float64) rule { r.minEnt = bits; return r }

func withValidate(r rule, f func(string) bool) rule { r.validate = f; return r }

const (
	hex32   = `[a-fA-F0-9]{32}`
	uuidPat = `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`
)

// builtinRules returns the rules in priority order (earlier wins on overlap):
// specific provider formats first, generic heuristics last. The rules are
// compiled once; each call returns a fresh slice, so no caller can change the
// shared set.
func builtinRules() []rule { return slices.Clone(compiledRules()) }

var compiledRules = sync.OnceValue(compileRules)

func compileRules() []rule {
	rules := []rule{
		// --- private keys and certificates' keys
		{id: "private-key", keywords: kw("-----begin"), re: regexp.MustCompile(`-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----`)},
		{id: "putty-private-key", keywords: kw("putty-user-key-file-"), re: regexp.MustCompile(`PuTTY-User-Key-File-\d+: [\w-]+`)},
		p("age-secret-key", `AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}`, "age-secret-key-1"),

		// --- cloud providers
		withValidate(rule{id: "aws-access-key-id", keywords: kwExact("AKIA", "ASIA", "ABIA", "ACCA", "A3T"),
			re: regexp.MustCompile(`((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})(?:[^A-Za-z0-9]|$)`), group: 1, leftBoundary: true}, nil),
		a("aws-secret-access-key", `aws[\w.\-]{0,20}(?:secret|access|key)`, `[A-Za-z0-9/+]{40}`, "aws"),
		p("aws-mws-key", `amzn\.mws\.`+uuidPat, "amzn.mws."),
		withKW(p("gcp-api-key", `AIza[0-9A-Za-z_\-]{35}`), kwExact("AIza")),
		p("gcp-oauth-client-secret", `GOCSPX-[A-Za-z0-9_\-]{28}`, "gocspx-"),
		p("google-oauth-access-token", `ya29\.[0-9A-Za-z_\-]{30,}`, "ya29."),
		{id: "gcp-service-account", keywords: kw(`"service_account"`), re: regexp.MustCompile(`"type"\s*:\s*("service_account")`), group: 1},
		a("azure-storage-account-key", `AccountKey`, `[A-Za-z0-9+/]{80,100}={0,2}`, "accountkey"),
		{id: "azure-ad-client-secret", keywords: kw("q~"), re: regexp.MustCompile(`(?:^|[^A-Za-z0-9_~.\-])([a-zA-Z0-9_~.]{3}\dQ~[a-zA-Z0-9_~.\-]{31,34})(?:[^A-Za-z0-9_~.\-]|$)`), group: 1},
		{id: "azure-sas-token", keywords: kw("sig="), re: regexp.MustCompile(`(?i)[?&;]sv=\d{4}-\d{2}-\d{2}[^\s'"]{0,300}?[&;]sig=([A-Za-z0-9%+/=]{30,})`), group: 1},
		withKW(a("azure-devops-pat", `(?:azure|ado|devops|vsts)[\w.\-]{0,20}(?:pat|token)`, `[a-z2-7]{52}`), kwWord("azure", "ado", "devops", "vsts")),
		withKW(p("alibaba-access-key-id", `LTAI[a-zA-Z0-9]{20}`), kwExact("LTAI")),
		p("digitalocean-pat", `dop_v1_[a-f0-9]{64}`, "dop_v1_"),
		p("digitalocean-oauth-token", `doo_v1_[a-f0-9]{64}`, "doo_v1_"),
		p("digitalocean-refresh-token", `dor_v1_[a-f0-9]{64}`, "dor_v1_"),
		// The name is case-insensitive as a whole (IBM-API-KEY); the finding is the key.
		{id: "ibm-cloud-iam-key", keywords: kwWord("ibm", "iam", "cloud"),
			re: regexp.MustCompile(`(?i:ibm|iam|cloud)[\w\-]{0,30}(?i:key|pwd|password|pass|token)['"]?\s*(?:=|:|:=|=>)\s*['"]?([a-zA-Z0-9_\-]{44})(?:[^A-Za-z0-9_\-]|$)`), group: 1},
		a("ibm-cloud-iam-api-key", `apikey`, `[a-zA-Z0-9_\-]{44}`, "apikey"),
		a("ibm-cos-hmac-secret", `(?:(?:ibm)?[\-_]?cos[\-_]?(?:hmac)?|)[\-_]?secret[\-_]?(?:access)?[\-_]?key`, `[a-f0-9]{48}`, "secret_access_key", "secret_key", "secret-key", "secretaccesskey"),
		withKW(a("softlayer-api-key", `(?:softlayer|sl)[\-_]?(?:api)?[\-_]?(?:key|pwd|password|pass|token)?`, `[a-z0-9]{64}`), kwWord("softlayer", "sl_", "sl-", "slapi", "slkey", "slpass")),
		{id: "softlayer-soap-url", keywords: kw("api.softlayer.com"), re: regexp.MustCompile(`(?i)api\.softlayer\.com/soap/v3(?:\.1)?/([a-z0-9]{64})`), group: 1},
		withKW(a("cloudant-password", `(?:cloudant|cl|clou)[\-_]?(?:api)?[\-_]?(?:key|pwd|pw|password|pass|token)`, `[0-9a-f]{64}|[a-z]{24}`), kwWord("cloudant", "clou", "cl_", "cl-")),
		a("heroku-api-key", `heroku`, uuidPat, "heroku"),
		p("heroku-api-key-v2", `HRKU-[A-Za-z0-9_\-]{60}`, "hrku-"),
		p("hashicorp-vault-service-token", `hvs\.[A-Za-z0-9_\-]{90,120}`, "hvs."),
		p("hashicorp-vault-batch-token", `hvb\.[A-Za-z0-9_\-]{138,300}`, "hvb."),
		p("terraform-cloud-token", `[a-zA-Z0-9]{14}\.atlasv1\.[a-zA-Z0-9\-_=]{60,70}`, ".atlasv1."),
		p("fly-io-token", `fo1_[\w\-]{43}`, "fo1_"),
		withKW(p("databricks-token", `dapi[a-h0-9]{32}(?:-\d)?`), kwExact("dapi")),
		p("cloudflare-origin-ca-key", `v1\.0-[a-f0-9]{24}-[a-f0-9]{146}`, "v1.0-"),
		a("cloudflare-api-key", `cloudflare[\w.\-]{0,20}(?:key|token)`, `[a-zA-Z0-9_\-]{37,40}`, "cloudflare"),
		p("supabase-token", `sbp_[a-f0-9]{40}`, "sbp_"),
		p("planetscale-token", `pscale_tkn_[A-Za-z0-9=\-_.]{32,64}`, "pscale_tkn_"),
		p("planetscale-password", `pscale_pw_[A-Za-z0-9=\-_.]{32,64}`, "pscale_pw_"),
		p("planetscale-oauth-token", `pscale_oauth_[A-Za-z0-9=\-_.]{32,64}`, "pscale_oauth_"),
		p("render-api-key", `rnd_[A-Za-z0-9]{32}`, "rnd_"),
		p("scalingo-token", `tk-us-[A-Za-z0-9_\-]{48}`, "tk-us-"),
		p("openshift-token", `sha256~[\w\-]{43}`, "sha256~"),
		withKW(p("pulumi-token", `pul-[a-f0-9]{40}`), kwWord("pul-")),
		p("doppler-token", `dp\.(?:pt|st|sa|ct|scim|audit)\.[a-zA-Z0-9]{40,44}`, "dp.pt.", "dp.st.", "dp.sa.", "dp.ct.", "dp.scim.", "dp.audit."),
		p("tailscale-key", `tskey-(?:api|auth|client|webhook|scim)-[A-Za-z0-9]+-[A-Za-z0-9]{16,}`, "tskey-"),
		withKW(p("onepassword-secret-key", `A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}`), kwExact("A3-")),
		p("onepassword-service-token", `ops_eyJ[A-Za-z0-9+/=_\-]{250,}`, "ops_eyj"),

		// --- source control, CI/CD, package registries
		p("github-pat", `ghp_[A-Za-z0-9]{36}`, "ghp_"),
		p("github-oauth-token", `gho_[A-Za-z0-9]{36}`, "gho_"),
		p("github-app-token", `(?:ghu|ghs)_[A-Za-z0-9]{36}`, "ghu_", "ghs_"),
		p("github-refresh-token", `ghr_[A-Za-z0-9]{36,76}`, "ghr_"),
		p("github-fine-grained-pat", `github_pat_[A-Za-z0-9_]{82}`, "github_pat_"),
		p("gitlab-pat", `glpat-[A-Za-z0-9_\-]{20,50}`, "glpat-"),
		p("gitlab-deploy-token", `gldt-[A-Za-z0-9_\-]{20,50}`, "gldt-"),
		p("gitlab-feed-token", `glft-[A-Za-z0-9_\-]{20,50}`, "glft-"),
		withKW(p("gitlab-runner-registration-token", `GR1348941[A-Za-z0-9_\-]{20,50}`), kwExact("GR1348941")),
		p("gitlab-runner-auth-token", `glrt-[A-Za-z0-9_\-]{20,50}`, "glrt-"),
		p("gitlab-ci-build-token", `glcbt-[A-Za-z0-9_\-]{20,50}`, "glcbt-"),
		p("gitlab-incoming-mail-token", `glimt-[A-Za-z0-9_\-]{25}`, "glimt-"),
		p("gitlab-pipeline-trigger-token", `glptt-[A-Za-z0-9_\-]{40}`, "glptt-"),
		withValidate(p("gitlab-agent-token", `glagent-[A-Za-z0-9_\-]{50,}`, "glagent-"), func(v string) bool { return len(v) <= 8+1024 }),
		p("gitlab-oauth-app-secret", `gloas-[A-Za-z0-9_\-]{64}`, "gloas-"),
		p("gitlab-scim-token", `glsoat-[A-Za-z0-9_\-]{20,50}`, "glsoat-"),
		a("bitbucket-app-password", `bitbucket[\w.\-]{0,20}(?:pass|secret|token)`, `ATBB[A-Za-z0-9_=.\-]{28,}`, "bitbucket"),
		p("atlassian-api-token", `ATATT3[A-Za-z0-9_\-=]{186}`, "atatt3"),
		p("circleci-token", `CCIPAT_[A-Za-z0-9]{22}_[a-f0-9]{40}`, "ccipat_"),
		p("buildkite-token", `bkua_[a-f0-9]{40}`, "bkua_"),
		{id: "npm-auth-token", keywords: kw(":_authtoken"), re: regexp.MustCompile(`//[^\s/]+/[^\s]*:_authToken=\s*((?:npm_[A-Za-z0-9_]+)|[A-Fa-f0-9\-]{36})`), group: 1},
		p("npm-access-token", `npm_[A-Za-z0-9]{36}`, "npm_"),
		p("pypi-token", `pypi-AgEIcHlwaS5vcmc[A-Za-z0-9\-_]{70,}`, "pypi-ageichlwas5vcmc"),
		p("testpypi-token", `pypi-AgENdGVzdC5weXBpLm9yZw[A-Za-z0-9\-_]{70,}`, "pypi-agendgvzdc5wexbplm9yzw"),
		p("rubygems-api-key", `rubygems_[a-f0-9]{48}`, "rubygems_"),
		p("clojars-token", `CLOJARS_[a-z0-9]{60}`, "clojars_"),
		withKW(p("nuget-api-key", `oy2[a-z0-9]{43}`), kwExact("oy2")),
		p("dockerhub-pat", `dckr_pat_[A-Za-z0-9_\-]{27}`, "dckr_pat_"),
		withValidate(rule{id: "docker-config-auth", keywords: kw(`"auth"`), re: regexp.MustCompile(`"auth"\s*:\s*"([A-Za-z0-9+/]{12,}={0,2})"`), group: 1}, decodesToUserPass),
		p("jfrog-identity-token", `cmVmdGtuOjAxOj[A-Za-z0-9]{50,}`, "cmvmdgtuojaxoj"),
		{id: "artifactory-api-key", keywords: kwExact("AKC"), check: artifactoryCheck("artifactory-api-key", 3, 10)},
		{id: "artifactory-password", keywords: kwExact("AP"), check: artifactoryCheck("artifactory-password", 2, 9)},
		withKW(p("octopus-deploy-api-key", `API-[A-Z0-9]{26}`), kwExact("API-")),
		p("sourcegraph-token", `sgp_(?:[a-fA-F0-9]{16}|local)_[a-fA-F0-9]{40}`, "sgp_"),
		p("prefect-api-key", `pnu_[a-zA-Z0-9]{36}`, "pnu_"),
		p("readme-api-key", `rdme_[a-z0-9]{70}`, "rdme_"),
		withKW(p("infracost-api-key", `ico-[a-zA-Z0-9]{32}`), kwWord("ico-")),
		p("frameio-token", `fio-u-[a-zA-Z0-9\-_=]{64}`, "fio-u-"),
		p("settlemint-token", `sm_(?:pat|aat|sat)_[a-zA-Z0-9]{16}`, "sm_pat_", "sm_aat_", "sm_sat_"),

		// --- payments and commerce
		p("stripe-secret-key", `sk_(?:live|test)_[0-9a-zA-Z]{24,99}`, "sk_live_", "sk_test_"),
		p("stripe-restricted-key", `rk_(?:live|test)_[0-9a-zA-Z]{24,99}`, "rk_live_", "rk_test_"),
		p("stripe-webhook-secret", `whsec_[a-zA-Z0-9]{32,}`, "whsec_"),
		p("square-oauth-secret", `sq0csp-[0-9A-Za-z\\\-_]{43}`, "sq0csp-"),
		withKW(p("square-access-token", `(?:sq0atp-[0-9A-Za-z\-_]{22}|EAAA[a-zA-Z0-9_\-]{60})`), append(kw("sq0atp-"), kwExact("EAAA")...)),
		p("braintree-access-token", `access_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32}`, "access_token$"),
		p("razorpay-key", `rzp_(?:live|test)_[A-Za-z0-9]{14}`, "rzp_"),
		p("flutterwave-secret-key", `FLWSECK(?:_TEST)?-[a-hA-H0-9]{32}-X`, "flwseck"),
		p("plaid-access-token", `access-(?:sandbox|development|production)-`+uuidPat, "access-sandbox-", "access-development-", "access-production-"),
		p("shopify-access-token", `shpat_`+hex32, "shpat_"),
		p("shopify-custom-app-token", `shpca_`+hex32, "shpca_"),
		p("shopify-private-app-token", `shppa_`+hex32, "shppa_"),
		p("shopify-shared-secret", `shpss_`+hex32, "shpss_"),
		p("easypost-api-key", `EZ[AT]K[a-zA-Z0-9]{54}`, "ezak", "eztk"),
		p("shippo-api-token", `shippo_(?:live|test)_[a-f0-9]{40}`, "shippo_"),
		p("duffel-api-token", `duffel_(?:test|live)_[A-Za-z0-9_\-=]{43}`, "duffel_"),
		p("coinbase-api-key", `organizations/`+uuidPat+`/apiKeys/`+uuidPat, "/apikeys/"),

		// --- messaging, e-mail, collaboration
		p("slack-config-token", `xoxe\.xox[bp]-\d-[A-Z0-9]{163,166}`, "xoxe.xox"),
		p("slack-bot-token", `xoxb-[0-9]{8,}-[0-9A-Za-z\-]{10,}`, "xoxb-"),
		p("slack-user-token", `xox[pe](?:-[0-9]+)+-[0-9A-Za-z]{10,}`, "xoxp-", "xoxe-"),
		p("slack-legacy-token", `xox[aors](?:-[0-9]+)+-[0-9a-zA-Z]{10,}`, "xoxa-", "xoxo-", "xoxr-", "xoxs-"),
		p("slack-app-token", `(?i:xapp)-\d-[A-Z0-9]+-\d+-[a-z0-9]+`, "xapp-"),
		{id: "slack-webhook", keywords: kw("hooks.slack.com"), re: regexp.MustCompile(`https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_+/]{20,}`)},
		{id: "discord-webhook", keywords: kw("/api/webhooks/"), re: regexp.MustCompile(`https://(?:\w+\.)?discord(?:app)?\.com/api/webhooks/\d+/[\w\-]{60,}`)},
		{id: "teams-webhook", keywords: kw(".webhook.office.com"), re: regexp.MustCompile(`https://[a-z0-9]+\.webhook\.office\.com/webhookb2/[a-z0-9@\-]{30,}/IncomingWebhook/[a-z0-9]{32}/[a-z0-9\-]{36}`)},
		{id: "telegram-bot-token", keywords: kw(":aa"), re: regexp.MustCompile(`(?:^|[^\w:])(\d{8,10}:AA[0-9A-Za-z_\-]{33})(?:[^\w\-]|$)`), group: 1},
		withKW(p("twilio-account-sid", `AC[a-z0-9]{32}`), kwExact("AC")),
		withKW(p("twilio-api-key", `SK[a-z0-9]{32}`), kwExact("SK")),
		withKW(p("sendgrid-api-key", `SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}`), kwExact("SG.")),
		p("sendinblue-api-key", `xkeysib-[a-f0-9]{64}-[a-zA-Z0-9]{16}`, "xkeysib-"),
		withKW(p("mailchimp-api-key", `[0-9a-z]{32}-us[0-9]{1,2}`), kw("-us")),
		a("mailgun-api-key", `mailgun`, `key-[0-9a-f]{32}`, "mailgun"),
		a("postmark-token", `postmark`, uuidPat, "postmark"),
		p("linear-api-key", `lin_api_[a-zA-Z0-9]{40}`, "lin_api_"),
		p("notion-token", `(?:secret_[A-Za-z0-9]{43}|ntn_[0-9]{11}[A-Za-z0-9]{35})`, "secret_", "ntn_"),
		p("figma-pat", `figd_[A-Za-z0-9_\-]{40}`, "figd_"),
		withKW(p("airtable-pat", `pat[A-Za-z0-9]{14}\.[a-f0-9]{64}`), kwExact("pat")),
		a("asana-pat", `asana`, `\d/\d{16}:[a-f0-9]{32}`, "asana"),
		withKW(p("dropbox-token", `sl\.[A-Za-z0-9_\-]{130,}`), kwExact("sl.")),
		p("contentful-token", `CFPAT-[A-Za-z0-9_\-]{43}`, "cfpat-"),
		p("typeform-token", `tfp_[a-zA-Z0-9\-_.=]{59}`, "tfp_"),
		p("facebook-access-token", `EAA[MC][a-zA-Z0-9]{100,}`, "eaam", "eaac"),
		p("twitter-bearer-token", `A{22}[a-zA-Z0-9%]{80,100}`, "aaaaaaaaaaaaaaaaaaaaaa"),
		p("mapbox-secret-token", `sk\.eyJ[A-Za-z0-9_\-]{50,}\.[A-Za-z0-9_\-]{22}`, "sk.eyj"),
		a("zendesk-token", `zendesk`, `[a-zA-Z0-9]{40}`, "zendesk"),

		// --- AI providers
		p("anthropic-api-key", `sk-ant-[a-z]+\d{2}-[A-Za-z0-9_\-]{80,120}`, "sk-ant-"),
		p("openai-api-key", `sk-[A-Za-z0-9_\-]*T3BlbkFJ[A-Za-z0-9_\-]{20,}`, "t3blbkfj"),
		p("openai-project-key", `sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{100,}`, "sk-proj-", "sk-svcacct-", "sk-admin-"),
		withKW(p("huggingface-token", `hf_[A-Za-z]{34}`), kwWord("hf_")),
		p("huggingface-org-token", `api_org_[A-Za-z]{34}`, "api_org_"),
		p("groq-api-key", `gsk_[a-zA-Z0-9]{52}`, "gsk_"),
		withKW(p("replicate-api-token", `r8_[A-Za-z0-9]{37}`), kwWord("r8_")),
		p("perplexity-api-key", `pplx-[a-zA-Z0-9]{48}`, "pplx-"),
		p("xai-api-key", `xai-[a-zA-Z0-9]{80}`, "xai-"),
		p("langsmith-api-key", `lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}`, "lsv2_"),
		p("pinecone-api-key", `pcsk_[A-Za-z0-9_]{50,}`, "pcsk_"),
		a("cohere-api-key", `cohere`, `[a-zA-Z0-9]{40}`, "cohere"),
		a("mistral-api-key", `mistral`, `[a-zA-Z0-9]{32}`, "mistral"),

		// --- observability and operations
		p("grafana-cloud-token", `glc_[A-Za-z0-9+/]{32,400}={0,2}`, "glc_"),
		p("grafana-service-account-token", `glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}`, "glsa_"),
		p("newrelic-user-api-key", `NRAK-[A-Z0-9]{27}`, "nrak-"),
		p("newrelic-insert-key", `NRII-[A-Za-z0-9_\-]{32}`, "nrii-"),
		p("newrelic-browser-key", `NRJS-[a-f0-9]{19}`, "nrjs-"),
		p("sentry-org-token", `sntrys_eyJ[A-Za-z0-9+/=_\-]{50,}`, "sntrys_"),
		p("sentry-user-token", `sntryu_[a-f0-9]{64}`, "sntryu_"),
		p("dynatrace-token", `dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}`, "dt0c01."),
		withKW(a("datadog-api-key", `(?:datadog|dd)[\-_]?(?:api|app)[\-_]?key`, `[a-f0-9]{32}|[a-f0-9]{40}`), kwWord("datadog", "dd_api", "dd-api", "dd_app", "ddapi")),
		a("pagerduty-token", `pagerduty`, `[a-zA-Z0-9_+\-]{20}`, "pagerduty"),
		a("okta-token", `okta`, `00[A-Za-z0-9_\-]{40}`, "okta"),
		a("algolia-api-key", `algolia`, `[a-f0-9]{32}`, "algolia"),
		p("postman-api-key", `PMAK-[a-f0-9]{24}-[a-f0-9]{34}`, "pmak-"),
		p("defined-networking-token", `dnkey-[a-z0-9=_\-]{26}-[a-z0-9=_\-]{52}`, "dnkey-"),

		a("twilio-auth-token", `twilio[\w.\-]{0,20}(?:auth|token|secret)`, `[a-f0-9]{32}`, "twilio"),
		p("sonarqube-token", `(?:squ|sqp|sqa)_[a-f0-9]{40}`, "squ_", "sqp_", "sqa_"),
		a("snyk-token", `snyk`, uuidPat, "snyk"),
		a("vercel-token", `vercel`, `[a-zA-Z0-9]{24}`, "vercel"),
		a("netlify-token", `netlify`, `[a-zA-Z0-9=_\-]{40,46}`, "netlify"),
		a("fastly-api-token", `fastly`, `[a-zA-Z0-9=_\-]{32}`, "fastly"),
		a("discord-client-secret", `discord[\w.\-]{0,20}(?:secret|token)`, `[a-zA-Z0-9=_\-]{32}`, "discord"),
		a("twitch-api-token", `twitch`, `[a-z0-9]{30}`, "twitch"),
		p("adobe-client-secret", `p8e-[a-zA-Z0-9]{32}`, "p8e-"),
		p("deno-deploy-token", `dd[pw]_[a-zA-Z0-9]{36}`, "ddp_", "ddw_"),
		p("harness-api-key", `(?:pat|sat)\.[a-zA-Z0-9_\-]{22}\.[a-zA-Z0-9]{24}\.[a-zA-Z0-9]{20}`, "pat.", "sat."),
		withEntropy(rule{id: "api-key-header", keywords: kw("x-api-key", "api-key:", "apikey:"),
			re: regexp.MustCompile(`(?i:x-api-key|api-key|apikey)["']?\s*:\s*["']?([A-Za-z0-9_\-.~+/=]{16,200})`), group: 1}, 3.5),

		// --- structured credentials
		withValidate(rule{id: "jwt", keywords: kw("eyj"), re: regexp.MustCompile(`(?:^|[^A-Za-z0-9_\-])(eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{4,}(?:\.[A-Za-z0-9_\-]*)?)`), group: 1}, validJWT),
		{id: "connection-string-password", keywords: kw("://"), check: urlCredCheck("connection-string-password", true)},
		{id: "ado-connection-string-password", keywords: kw("password=", "pwd="),
			re: regexp.MustCompile(`(?i)(?:server|data source|host|address|addr)\s*=[^;'"]{1,200};[^'"\n]{0,300}?\b(?:password|pwd)\s*=\s*([^;'"\s]{4,})`), group: 1, validate: notPlaceholderPassword},
		{id: "url-credentials", keywords: kw("://"), check: urlCredCheck("url-credentials", false)},
		withValidate(rule{id: "basic-auth-header", keywords: kw("basic "), re: regexp.MustCompile(`(?i:authorization|proxy-authorization)["']?\s*[:=]\s*["']?(?i:basic)\s+([A-Za-z0-9+/]{8,}={0,2})`), group: 1}, decodesToUserPass),
		withEntropy(rule{id: "bearer-token", keywords: kw("bearer "), re: regexp.MustCompile(`(?i:authorization)["']?\s*[:=]\s*["']?(?i:bearer)\s+([A-Za-z0-9._~+/\-]{20,}=*)`), group: 1}, 3.5),
		{id: "netrc-password", keywords: kw("machine"), re: regexp.MustCompile(`\bmachine\s+\S+\s+login\s+\S+\s+password\s+(\S+)`), group: 1, validate: notPlaceholderPassword},
		withEntropy(rule{id: "url-query-secret", keywords: kw("key=", "token=", "secret=", "password=", "signature="),
			re: regexp.MustCompile(`[?&](?i:api_?key|access_?token|auth_?token|token|client_?secret|secret|password|passwd|signature|sig)=([^&\s'"#<>]{16,})`), group: 1}, 3.5),
	}
	// Tokens with no fixed prefix (Discord bot tokens, high-entropy values) are
	// found by shape in the scanner's token pass; see tokenPass.
	// Generic assignments last: they lose to any specific rule on overlap.
	rules = append(rules, genericRules()...)
	return rules
}

var discordRe = regexp.MustCompile(`[MNO][a-zA-Z\d_\-]{23,25}\.[a-zA-Z\d_\-]{6}\.[a-zA-Z\d_\-]{27,38}`)

// discordAt looks at the token ending at the dot t[dot] and runs the pattern
// only when the token has the shape of a Discord bot token (two dots at the
// right distances).
func discordAt(t string, dot int) []Finding {
	if dot+8 > len(t) || t[dot+7] != '.' {
		return nil
	}
	// The first dot of a token: 23-26 token chars before it.
	i := dot
	for i > 0 && isTokenChar(t[i-1]) && dot-i <= 30 {
		i--
	}
	if dot-i < 24 || dot-i > 30 {
		return nil
	}
	if dot+8 > len(t) || t[dot+7] != '.' {
		return nil
	}
	j := dot + 8
	for j < len(t) && isTokenChar(t[j]) && j-dot < 60 {
		j++
	}
	if j-(dot+8) < 27 {
		return nil
	}
	seg := t[i:j]
	loc := discordRe.FindStringIndex(seg)
	if loc == nil {
		return nil
	}
	return []Finding{{Rule: "discord-bot-token", Start: i + loc[0], End: i + loc[1]}}
}

// artifactoryCheck matches AKC… / AP[0-9A-F]… tokens that stand alone: after
// start, space, '=', ':' or '"', and before end, space or '"'.
func artifactoryCheck(id string, prefix, minRest int) func(w window) []Finding {
	return func(w window) []Finding {
		t, i := w.text, w.hit
		if i > 0 && !strings.ContainsRune(" \t\n\r=:\"", rune(t[i-1])) {
			return nil
		}
		j := i + prefix
		if prefix == 2 {
			if j >= len(t) || !(t[j] >= '0' && t[j] <= '9' || t[j] >= 'A' && t[j] <= 'F') {
				return nil
			}
			j++
		}
		k := j
		for k < len(t) && isAlnum(t[k]) {
			k++
		}
		if k-j < minRest || (k < len(t) && !strings.ContainsRune(" \t\n\r\"", rune(t[k]))) {
			return nil
		}
		return []Finding{{Rule: id, Start: i, End: k}}
	}
}

// dbSchemes are URL schemes of databases, brokers and mail or file servers:
// credentials in them make a connection string.
func dbScheme(scheme string) bool {
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql", "mysql", "mariadb", "mongodb", "mongodb+srv", "redis", "rediss", "amqp", "amqps",
		"mssql", "sqlserver", "oracle", "clickhouse", "couchbase", "couchbases", "neo4j", "neo4j+s", "bolt", "nats", "ldap", "ldaps",
		"ftp", "ftps", "sftp", "smtp", "smtps", "imap", "imaps", "pop3", "kafka", "cassandra", "elasticsearch", "memcached":
		return true
	}
	return false
}

// urlCredCheck finds scheme://user:password@host around a "://" hit. With db
// set it reports only database-like schemes; otherwise only the others.
func urlCredCheck(id string, db bool) func(w window) []Finding {
	return func(w window) []Finding {
		t := w.text
		ss := w.hit
		for ss > 0 && w.hit-ss <= 20 && (isAlnum(t[ss-1]) || t[ss-1] == '+' || t[ss-1] == '.' || t[ss-1] == '-') {
			ss--
		}
		if ss == w.hit || !(t[ss] >= 'a' && t[ss] <= 'z' || t[ss] >= 'A' && t[ss] <= 'Z') {
			return nil
		}
		if dbScheme(t[ss:w.hit]) != db {
			return nil
		}
		colon, at := -1, -1
		i := w.hitEnd
	scan:
		for ; i < len(t) && i-w.hitEnd < 300; i++ {
			switch c := t[i]; c {
			case ':':
				if colon < 0 {
					colon = i
				}
			case '@':
				at = i
				break scan
			case '/', '?', '#', ' ', '\t', '\n', '\r', '"', '\'', '<', '>', '{', '}', '`':
				break scan
			}
		}
		if colon < 0 || at < 0 || at-colon < 2 || at+1 >= len(t) || !(isAlnum(t[at+1]) || t[at+1] == '[') {
			return nil
		}
		pass := t[colon+1 : at]
		if !notPlaceholderPassword(pass) {
			return nil
		}
		return []Finding{{Rule: id, Start: colon + 1, End: at}}
	}
}

func isTokenChar(c byte) bool { return isAlnum(c) || c == '_' || c == '-' }

func validJWT(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return false
	}
	for _, part := range parts[:2] {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(part, "="))
		if err != nil || !json.Valid(b) {
			return false
		}
	}
	return true
}

func decodesToUserPass(s string) bool {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			return false
		}
	}
	u, pw, ok := strings.Cut(string(b), ":")
	if !ok || u == "" || len(pw) < 3 {
		return false
	}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

func notPlaceholderPassword(v string) bool {
	lv := strings.ToLower(v)
	switch {
	case strings.HasPrefix(v, "$"), strings.HasPrefix(v, "%"), strings.HasPrefix(v, "{"), strings.HasPrefix(v, "<"):
		return false
	case strings.Trim(v, "*x•.") == "":
		return false
	}
	switch lv {
	case "pass", "password", "passwd", "pwd", "secret", "pw", "xxx", "changeme", "redacted", "token", "user", "username", "example":
		return false
	}
	return true
}
