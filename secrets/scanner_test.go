package secrets

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/guardtest"
)

// Test values are assembled at run time so that this file does not itself look
// like a leaked credential to other scanners.

// rnd returns n characters of a fixed pseudo-random string over alphabet.
func rnd(alphabet string, n int) string {
	var b strings.Builder
	x := uint32(2463534242)
	for range n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b.WriteByte(alphabet[int(x)%len(alphabet)])
	}
	return b.String()
}

const (
	alnum  = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	lowAN  = "abcdefghijklmnopqrstuvwxyz0123456789"
	upAN   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	hexLow = "0123456789abcdef"
	b64    = alnum + "+/"
	urlTok = alnum + "_-"
)

func uuid() string {
	h := rnd(hexLow, 32)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func jwtSample() string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc([]byte(`{"sub":"1234567890","name":"x"}`)) + "." + rnd(urlTok, 43)
}

// ruleSamples holds, for every rule, a line it must find (as that rule).
func ruleSamples() map[string]string {
	return map[string]string{
		"private-key":                      "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIE...",
		"putty-private-key":                "PuTTY-User-Key-File-2: ssh-rsa",
		"age-secret-key":                   "AGE-SECRET-KEY-1" + rnd("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58),
		"aws-access-key-id":                "key: AKIA" + rnd(upAN, 16),
		"aws-secret-access-key":            `aws_secret_access_key = "` + rnd(b64, 40) + `"`,
		"aws-mws-key":                      "amzn.mws." + uuid(),
		"gcp-api-key":                      "AIza" + rnd(urlTok, 35),
		"gcp-oauth-client-secret":          "GOCSPX-" + rnd(urlTok, 28),
		"google-oauth-access-token":        "ya29." + rnd(urlTok, 60),
		"gcp-service-account":              `{"type": "service_account", "project_id": "p"}`,
		"azure-storage-account-key":        "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=" + rnd(b64, 86) + "==;",
		"azure-ad-client-secret":           "client_secret=" + rnd(alnum, 3) + "8Q~" + rnd(alnum, 32),
		"azure-sas-token":                  "https://x.blob.core.windows.net/c?sv=2021-08-06&ss=b&srt=co&sp=r&sig=" + rnd(alnum, 43) + "%3D",
		"azure-devops-pat":                 "AZURE_DEVOPS_PAT=" + rnd("abcdefghijklmnopqrstuvwxyz234567", 52),
		"alibaba-access-key-id":            "LTAI" + rnd(alnum, 20),
		"digitalocean-pat":                 "dop_v1_" + rnd(hexLow, 64),
		"digitalocean-oauth-token":         "doo_v1_" + rnd(hexLow, 64),
		"digitalocean-refresh-token":       "dor_v1_" + rnd(hexLow, 64),
		"ibm-cloud-iam-key":                "ibm_cloud_iam_key: " + rnd(urlTok, 44),
		"ibm-cloud-iam-api-key":            "apikey:" + rnd(urlTok, 44),
		"ibm-cos-hmac-secret":              "cos_hmac_secret_key = " + rnd(hexLow, 48),
		"softlayer-api-key":                "softlayer_api_key: " + rnd(lowAN, 64),
		"softlayer-soap-url":               "http://api.softlayer.com/soap/v3/" + rnd(lowAN, 64),
		"cloudant-password":                "cloudant_key = " + rnd("abcdefghijklmnopqrstuvwxyz", 24),
		"heroku-api-key":                   "HEROKU_API_KEY=" + uuid(),
		"heroku-api-key-v2":                "HRKU-" + rnd(urlTok, 60),
		"hashicorp-vault-service-token":    "hvs." + rnd(urlTok, 95),
		"hashicorp-vault-batch-token":      "hvb." + rnd(urlTok, 140),
		"terraform-cloud-token":            rnd(alnum, 14) + ".atlasv1." + rnd(urlTok, 65),
		"fly-io-token":                     "fo1_" + rnd(urlTok, 43),
		"databricks-token":                 "dapi" + rnd("abcdefgh0123456789", 32),
		"cloudflare-origin-ca-key":         "v1.0-" + rnd(hexLow, 24) + "-" + rnd(hexLow, 146),
		"cloudflare-api-key":               "cloudflare_api_token = " + rnd(urlTok, 40),
		"supabase-token":                   "sbp_" + rnd(hexLow, 40),
		"planetscale-token":                "pscale_tkn_" + rnd(urlTok, 43),
		"planetscale-password":             "pscale_pw_" + rnd(urlTok, 43),
		"planetscale-oauth-token":          "pscale_oauth_" + rnd(urlTok, 43),
		"render-api-key":                   "rnd_" + rnd(alnum, 32),
		"scalingo-token":                   "tk-us-" + rnd(urlTok, 48),
		"openshift-token":                  "sha256~" + rnd(urlTok, 43),
		"pulumi-token":                     "pul-" + rnd(hexLow, 40),
		"doppler-token":                    "dp.pt." + rnd(alnum, 43),
		"tailscale-key":                    "tskey-auth-" + rnd(alnum, 10) + "-" + rnd(alnum, 30),
		"onepassword-secret-key":           "A3-" + rnd(upAN, 6) + "-" + rnd(upAN, 11) + "-" + rnd(upAN, 5) + "-" + rnd(upAN, 5) + "-" + rnd(upAN, 5),
		"onepassword-service-token":        "ops_eyJ" + rnd(b64, 260),
		"github-pat":                       "ghp_" + rnd(alnum, 36),
		"github-oauth-token":               "gho_" + rnd(alnum, 36),
		"github-app-token":                 "ghs_" + rnd(alnum, 36),
		"github-refresh-token":             "ghr_" + rnd(alnum, 36),
		"github-fine-grained-pat":          "github_pat_" + rnd(alnum+"_", 82),
		"gitlab-pat":                       "glpat-" + rnd(urlTok, 20),
		"gitlab-deploy-token":              "gldt-" + rnd(urlTok, 20),
		"gitlab-feed-token":                "glft-" + rnd(urlTok, 20),
		"gitlab-runner-registration-token": "GR1348941" + rnd(urlTok, 20),
		"gitlab-runner-auth-token":         "glrt-" + rnd(urlTok, 20),
		"gitlab-ci-build-token":            "glcbt-" + rnd(urlTok, 20),
		"gitlab-incoming-mail-token":       "glimt-" + rnd(urlTok, 25),
		"gitlab-pipeline-trigger-token":    "glptt-" + rnd(urlTok, 40),
		"gitlab-agent-token":               "glagent-" + rnd(urlTok, 50),
		"gitlab-oauth-app-secret":          "gloas-" + rnd(urlTok, 64),
		"gitlab-scim-token":                "glsoat-" + rnd(urlTok, 20),
		"bitbucket-app-password":           "BITBUCKET_APP_PASSWORD=ATBB" + rnd(alnum, 32),
		"atlassian-api-token":              "ATATT3" + rnd(urlTok, 186),
		"circleci-token":                   "CCIPAT_" + rnd(alnum, 22) + "_" + rnd(hexLow, 40),
		"buildkite-token":                  "bkua_" + rnd(hexLow, 40),
		"npm-auth-token":                   "//npm.internal.example/:_authToken=" + uuid(),
		"npm-access-token":                 "npm_" + rnd(alnum, 36),
		"pypi-token":                       "pypi-AgEIcHlwaS5vcmc" + rnd(urlTok, 80),
		"testpypi-token":                   "pypi-AgENdGVzdC5weXBpLm9yZw" + rnd(urlTok, 80),
		"rubygems-api-key":                 "rubygems_" + rnd(hexLow, 48),
		"clojars-token":                    "CLOJARS_" + rnd(lowAN, 60),
		"nuget-api-key":                    "oy2" + rnd(lowAN, 43),
		"dockerhub-pat":                    "dckr_pat_" + rnd(urlTok, 27),
		"docker-config-auth":               `{"auths":{"r.io":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("user:"+rnd(alnum, 12))) + `"}}}`,
		"jfrog-identity-token":             "cmVmdGtuOjAxOj" + rnd(alnum, 60),
		"artifactory-api-key":              "X-JFrog-Art-Api: AKC" + rnd(alnum, 20),
		"artifactory-password":             "password=AP6" + rnd(alnum, 20),
		"octopus-deploy-api-key":           "API-" + rnd(upAN, 26),
		"sourcegraph-token":                "sgp_" + rnd(hexLow, 16) + "_" + rnd(hexLow, 40),
		"prefect-api-key":                  "pnu_" + rnd(alnum, 36),
		"readme-api-key":                   "rdme_" + rnd(lowAN, 70),
		"infracost-api-key":                "ico-" + rnd(alnum, 32),
		"frameio-token":                    "fio-u-" + rnd(urlTok, 64),
		"settlemint-token":                 "sm_pat_" + rnd(alnum, 16),
		"stripe-secret-key":                "sk_live_" + rnd(alnum, 24),
		"stripe-restricted-key":            "rk_live_" + rnd(alnum, 24),
		"stripe-webhook-secret":            "whsec_" + rnd(alnum, 32),
		"square-oauth-secret":              "sq0csp-" + rnd(urlTok, 43),
		"square-access-token":              "sq0atp-" + rnd(urlTok, 22),
		"braintree-access-token":           "access_token$production$" + rnd(lowAN, 16) + "$" + rnd(hexLow, 32),
		"razorpay-key":                     "rzp_live_" + rnd(alnum, 14),
		"flutterwave-secret-key":           "FLWSECK_TEST-" + rnd("abcdefgh0123456789", 32) + "-X",
		"plaid-access-token":               "access-sandbox-" + uuid(),
		"shopify-access-token":             "shpat_" + rnd(hexLow, 32),
		"shopify-custom-app-token":         "shpca_" + rnd(hexLow, 32),
		"shopify-private-app-token":        "shppa_" + rnd(hexLow, 32),
		"shopify-shared-secret":            "shpss_" + rnd(hexLow, 32),
		"easypost-api-key":                 "EZAK" + rnd(alnum, 54),
		"shippo-api-token":                 "shippo_live_" + rnd(hexLow, 40),
		"duffel-api-token":                 "duffel_live_" + rnd(urlTok, 43),
		"coinbase-api-key":                 "organizations/" + uuid() + "/apiKeys/" + uuid(),
		"slack-bot-token":                  "xoxb-" + rnd("0123456789", 11) + "-" + rnd(alnum, 24),
		"slack-user-token":                 "xoxp-" + rnd("0123456789", 11) + "-" + rnd("0123456789", 11) + "-" + rnd(alnum, 24),
		"slack-legacy-token":               "xoxs-523423-234243-234233-" + rnd(hexLow, 18),
		"slack-app-token":                  "xapp-1-A" + rnd(upAN, 10) + "-" + rnd("0123456789", 13) + "-" + rnd(hexLow, 64),
		"slack-config-token":               "xoxe.xoxp-1-" + rnd(upAN, 164),
		"slack-webhook":                    "https://hooks.slack.com/services/T" + rnd(upAN, 8) + "/B" + rnd(upAN, 8) + "/" + rnd(alnum, 24),
		"discord-webhook":                  "https://discord.com/api/webhooks/" + rnd("0123456789", 18) + "/" + rnd(urlTok, 68),
		"teams-webhook":                    "https://acme.webhook.office.com/webhookb2/" + uuid() + "@" + uuid() + "/IncomingWebhook/" + rnd(hexLow, 32) + "/" + uuid(),
		"telegram-bot-token":               "bot token " + rnd("0123456789", 9) + ":AA" + rnd(urlTok, 33),
		"twilio-account-sid":               "AC" + rnd(lowAN, 32),
		"twilio-api-key":                   "SK" + rnd(lowAN, 32),
		"sendgrid-api-key":                 "SG." + rnd(urlTok, 22) + "." + rnd(urlTok, 43),
		"sendinblue-api-key":               "xkeysib-" + rnd(hexLow, 64) + "-" + rnd(alnum, 16),
		"mailchimp-api-key":                rnd(lowAN, 32) + "-us12",
		"mailgun-api-key":                  "MAILGUN_API_KEY=key-" + rnd(hexLow, 32),
		"postmark-token":                   "POSTMARK_SERVER_TOKEN=" + uuid(),
		"linear-api-key":                   "lin_api_" + rnd(alnum, 40),
		"notion-token":                     "ntn_" + rnd("0123456789", 11) + rnd(alnum, 35),
		"figma-pat":                        "figd_" + rnd(urlTok, 40),
		"airtable-pat":                     "pat" + rnd(alnum, 14) + "." + rnd(hexLow, 64),
		"asana-pat":                        "ASANA_TOKEN=1/" + rnd("0123456789", 16) + ":" + rnd(hexLow, 32),
		"dropbox-token":                    "sl." + rnd(urlTok, 140),
		"contentful-token":                 "CFPAT-" + rnd(urlTok, 43),
		"typeform-token":                   "tfp_" + rnd(urlTok, 59),
		"facebook-access-token":            "EAAC" + rnd(alnum, 120),
		"twitter-bearer-token":             strings.Repeat("A", 22) + rnd(alnum, 90),
		"mapbox-secret-token":              "sk.eyJ" + rnd(alnum, 60) + "." + rnd(alnum, 22),
		"zendesk-token":                    "ZENDESK_API_TOKEN=" + rnd(alnum, 40),
		"anthropic-api-key":                "sk-ant-api03-" + rnd(urlTok, 93),
		"openai-api-key":                   "sk-" + rnd(alnum, 20) + "T3BlbkFJ" + rnd(alnum, 20),
		"openai-project-key":               "sk-proj-" + rnd(urlTok, 120),
		"huggingface-token":                "hf_" + rnd("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 34),
		"huggingface-org-token":            "api_org_" + rnd("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 34),
		"groq-api-key":                     "gsk_" + rnd(alnum, 52),
		"replicate-api-token":              "r8_" + rnd(alnum, 37),
		"perplexity-api-key":               "pplx-" + rnd(alnum, 48),
		"xai-api-key":                      "xai-" + rnd(alnum, 80),
		"langsmith-api-key":                "lsv2_pt_" + rnd(hexLow, 32) + "_" + rnd(hexLow, 10),
		"pinecone-api-key":                 "pcsk_" + rnd(alnum+"_", 60),
		"cohere-api-key":                   "COHERE_API_KEY=" + rnd(alnum, 40),
		"mistral-api-key":                  "MISTRAL_API_KEY=" + rnd(alnum, 32),
		"grafana-cloud-token":              "glc_" + rnd(b64, 60),
		"grafana-service-account-token":    "glsa_" + rnd(alnum, 32) + "_" + rnd(hexLow, 8),
		"newrelic-user-api-key":            "NRAK-" + rnd(upAN, 27),
		"newrelic-insert-key":              "NRII-" + rnd(urlTok, 32),
		"newrelic-browser-key":             "NRJS-" + rnd(hexLow, 19),
		"sentry-org-token":                 "sntrys_eyJ" + rnd(b64, 80),
		"sentry-user-token":                "sntryu_" + rnd(hexLow, 64),
		"dynatrace-token":                  "dt0c01." + rnd(upAN, 24) + "." + rnd(upAN, 64),
		"datadog-api-key":                  "DD_API_KEY=" + rnd(hexLow, 32),
		"pagerduty-token":                  "PAGERDUTY_TOKEN=" + rnd(alnum, 20),
		"okta-token":                       "OKTA_API_TOKEN=00" + rnd(urlTok, 40),
		"algolia-api-key":                  "ALGOLIA_ADMIN_KEY=" + rnd(hexLow, 32),
		"postman-api-key":                  "PMAK-" + rnd(hexLow, 24) + "-" + rnd(hexLow, 34),
		"defined-networking-token":         "dnkey-" + rnd(lowAN, 26) + "-" + rnd(lowAN, 52),
		"jwt":                              "Authorization token " + jwtSample(),
		"twilio-auth-token":                "TWILIO_AUTH_TOKEN=" + rnd(hexLow, 32),
		"sonarqube-token":                  "squ_" + rnd(hexLow, 40),
		"snyk-token":                       "SNYK_TOKEN=" + uuid(),
		"vercel-token":                     "VERCEL_TOKEN=" + rnd(alnum, 24),
		"netlify-token":                    "NETLIFY_AUTH_TOKEN=" + rnd(alnum, 43),
		"fastly-api-token":                 "FASTLY_API_TOKEN=" + rnd(alnum, 32),
		"discord-client-secret":            "DISCORD_CLIENT_SECRET=" + rnd(alnum, 32),
		"twitch-api-token":                 "TWITCH_TOKEN=" + rnd(lowAN, 30),
		"adobe-client-secret":              "p8e-" + rnd(alnum, 32),
		"deno-deploy-token":                "ddp_" + rnd(alnum, 36),
		"harness-api-key":                  "pat." + rnd(alnum, 22) + "." + rnd(alnum, 24) + "." + rnd(alnum, 20),
		"api-key-header":                   "X-API-Key: " + rnd(alnum, 32),
		"connection-string-password":       "DATABASE_URL=postgres://app:" + rnd(alnum, 16) + "@db.internal:5432/app",
		"ado-connection-string-password":   "Server=tcp:db.example.net,1433;Database=app;User ID=app;Password=" + rnd(alnum, 16) + ";",
		"url-credentials":                  "git clone https://bot:" + rnd(alnum, 20) + "@git.example.net/repo.git",
		"basic-auth-header":                "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+rnd(alnum, 12))),
		"bearer-token":                     "Authorization: Bearer " + rnd(alnum, 40),
		"netrc-password":                   "machine api.example.net login bot password " + rnd(alnum, 16),
		"url-query-secret":                 "GET /v1/data?api_key=" + rnd(alnum, 32) + "&q=1",
		"discord-bot-token":                "MTk4NjIyNDgzNDcxOTI1MjQ4." + rnd(urlTok, 6) + "." + rnd(urlTok, 27),
		"high-entropy-assignment":          "session_blob = '" + rnd(b64, 40) + "'",
		"generic-password":                 `db_password = "` + rnd(alnum, 14) + `"`,
		"xml-secret-element":               "<db><password>" + rnd(alnum, 12) + "</password></db>",
		"mysql-cli-password":               "mysql -u root -p" + rnd(alnum, 12) + " shop",
		"generic-token":                    `refresh_token: "` + rnd(alnum, 32) + `"`,
	}
}

func newTestScanner(t testing.TB) *Scanner {
	t.Helper()
	s, err := NewScanner(ScannerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRuleCount(t *testing.T) {
	if n := len(RuleIDs()); n < 100 {
		t.Errorf("%d rules, want at least 100", n)
	}
}

// Every rule finds its own sample, and reports the value's offsets.
func TestRuleSamples(t *testing.T) {
	s := newTestScanner(t)
	samples := ruleSamples()
	for _, id := range RuleIDs() {
		t.Run(id, func(t *testing.T) {
			text, ok := samples[id]
			if !ok {
				t.Fatalf("no sample for rule %q", id)
			}
			fs := s.Scan("some text before\n" + text + "\nand after")
			found := false
			for _, f := range fs {
				if f.Rule == id {
					found = true
				}
				if f.Start < 0 || f.End <= f.Start {
					t.Errorf("bad offsets %+v", f)
				}
			}
			if !found {
				t.Errorf("rule %q did not find its sample %.100q; got %v", id, text, fs)
			}
		})
	}
}

// Near misses and ordinary text that must not be reported.
func TestScannerNegatives(t *testing.T) {
	s := newTestScanner(t)
	for name, text := range map[string]string{
		"prose":               "Please reset your password using the link we sent; the API key page lists your tokens.",
		"go code":             "func (c *Client) Token() (string, error) {\n\ttoken, err := c.src.Token()\n\tpassword := r.FormValue(\"password\")\n\tif password == \"\" {\n",
		"env reference":       `password = os.Getenv("DB_PASSWORD")`,
		"template":            `password: ${DB_PASSWORD}`,
		"placeholder":         `api_key = "your_api_key_here"`,
		"redacted":            `password = "********"`,
		"empty":               `secret = ""`,
		"short ghp":           "ghp_" + rnd(alnum, 20),
		"pk stripe":           "pk_live_" + rnd(alnum, 24),
		"prefixed AKIA":       "xAKIA" + rnd(upAN, 16),
		"camel identifier":    "handler = loong64RegisterNumberTable",
		"hash":                "sha256 = \"" + rnd(hexLow, 64) + "\"",
		"uuid id":             "request_id = \"" + uuid() + "\"",
		"url without creds":   "see https://example.com:8443/path?x=1 for details",
		"url with user only":  "ssh://git@github.com/org/repo.git",
		"url placeholder":     "postgres://user:password@localhost/db",
		"jwt-ish invalid":     "eyJAAAAAAAAAAAA.eyJBBBBBBBBBB",
		"allowlist pragma":    `password = "` + rnd(alnum, 14) + `" # pragma: allowlist secret`,
		"sentence":            `error_message = "the password you entered is not correct, try again"`,
		"header name":         `const tokenHeader = "X-Auth-Token"`,
		"alphabet":            `alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"`,
		"discord-ish 5 chars": "MZ1yGvKTjE0rY0cV8i47CjAa.uHQPq.Xb1Mk2nEhe-4icrGOuegj57zMC",
		"empty input":         "",
		"placeholder syntax":  `{"key":"${secret:PAY_KEY}","pw":"${secret:db/password}"}`,
	} {
		t.Run(name, func(t *testing.T) {
			if fs := s.Scan(text); len(fs) > 0 {
				t.Errorf("false positive in %q: %v", text, fs)
			}
		})
	}
}

// Secrets in the shapes an attacker (or a careless tool) would use to slip them
// past the scanner.
func TestScannerAdversarial(t *testing.T) {
	s := newTestScanner(t)
	tok := "ghp_" + rnd(alnum, 36)
	for name, text := range map[string]string{
		"start of input":   tok,
		"end of input":     "x " + tok,
		"in json":          `{"t":"` + tok + `"}`,
		"in url":           "https://x.test/?t=" + tok,
		"after crlf":       "a\r\n" + tok + "\r\n",
		"long line":        strings.Repeat("a ", 5000) + tok + strings.Repeat(" b", 5000),
		"upper keyword":    `PASSWORD = "` + rnd(alnum, 14) + `"`,
		"yaml":             "db:\n  password: " + rnd(alnum, 14) + "\n",
		"quoted key json":  `{"client_secret": "` + rnd(alnum, 24) + `"}`,
		"reverse compare":  `if ("` + rnd(alnum, 14) + `" == password) {`,
		"go short assign":  `apiKey := "` + rnd(alnum, 24) + `"`,
		"private key utf8": "ключ: -----BEGIN OPENSSH PRIVATE " + "KEY-----",
		"two secrets":      tok + " and sk_live_" + rnd(alnum, 24),
		"yaml short":       "password: hunter2",
		"conn string pwd":  "Server=db;Database=app;User Id=sa;Password=Passw0rd1;",
		"env":              "DB_PASSWORD=s3cr3tP@ss",
		"spring property":  "spring.datasource.password=Winter2024!",
	} {
		t.Run(name, func(t *testing.T) {
			if fs := s.Scan(text); len(fs) == 0 {
				t.Errorf("missed secret in %.200q", text)
			}
		})
	}
	// Offsets point at the value.
	text := "token: " + tok + "\n"
	fs := s.Scan(text)
	if len(fs) != 1 || text[fs[0].Start:fs[0].End] != tok || fs[0].Rule != "github-pat" {
		t.Errorf("got %v", fs)
	}
}

func TestScannerConfig(t *testing.T) {
	if _, err := NewScanner(ScannerConfig{Disable: []string{"nope"}}); err == nil {
		t.Error("unknown rule accepted")
	}
	s, err := NewScanner(ScannerConfig{Disable: []string{"github-pat", "high-entropy-assignment"}})
	if err != nil {
		t.Fatal(err)
	}
	if fs := s.Scan("ghp_" + rnd(alnum, 36)); len(fs) != 0 {
		t.Errorf("disabled rule ran: %v", fs)
	}
}

func TestScannerFilterOutput(t *testing.T) {
	tok := "sk_live_" + rnd(alnum, 24)
	block := newTestScanner(t)
	v, err := block.FilterOutput(context.Background(), &guard.Output{Text: "key " + tok})
	if err != nil || v.Action != guard.Block || strings.Contains(v.Reason, tok) {
		t.Errorf("got %+v, %v", v, err)
	}
	v, err = block.FilterOutput(context.Background(), &guard.Output{Text: "all fine"})
	if err != nil || v.Action != guard.Allow {
		t.Errorf("got %+v, %v", v, err)
	}
	red, err := NewScanner(ScannerConfig{Redact: true})
	if err != nil {
		t.Fatal(err)
	}
	v, err = red.FilterOutput(context.Background(), &guard.Output{Text: "key " + tok + "."})
	if err != nil || v.Action != guard.Rewrite || v.Text != "key [REDACTED:stripe-secret-key]." {
		t.Errorf("got %+v, %v", v, err)
	}
	if _, err := red.FilterOutput(context.Background(), nil); err == nil {
		t.Error("nil output accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := red.FilterOutput(ctx, &guard.Output{Text: "x"}); err == nil {
		t.Error("cancelled context ignored")
	}
}

func FuzzScan(f *testing.F) {
	for _, s := range ruleSamples() {
		f.Add(s)
	}
	f.Add("password = \"\\\"")
	f.Add("\"x\" == password")
	f.Add("://:@")
	f.Add("a=\xff\xfe" + strings.Repeat("A", 30))
	s := newTestScanner(f)
	f.Fuzz(func(t *testing.T, text string) {
		fs := s.Scan(text)
		prev := -1
		for _, f := range fs {
			if f.Start < 0 || f.End > len(text) || f.Start >= f.End {
				t.Fatalf("bad offsets %+v for %q", f, text)
			}
			if f.Start < prev {
				t.Fatalf("overlapping or unsorted findings %v", fs)
			}
			prev = f.End
		}
		red, _ := s.Redact(text)
		if len(fs) > 0 && red == text {
			t.Fatal("redaction changed nothing")
		}
		if utf8.ValidString(text) && !utf8.ValidString(red) {
			t.Fatalf("redaction broke UTF-8: %q", red)
		}
	})
}

func TestScannerValidateArgs(t *testing.T) {
	s := newTestScanner(t)
	tok := "sk_live_" + rnd(alnum, 24)
	ok := []string{`{"key":"${secret:PAY_KEY}","amount":5}`, ``, `{"note":"the password reset page"}`, `[1,2,"x"]`}
	bad := []string{`{"key":"` + tok + `"}`, `{"nested":{"list":["a","Bearer ` + tok + `"]}}`, `{"` + tok + `":1}`, `{"k":"\u0073k_live_` + rnd(alnum, 24) + `"}`, `{`}
	for _, a := range ok {
		if err := s.ValidateArgs(context.Background(), &guard.Call{Tool: "t", Args: []byte(a)}); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	for _, a := range bad {
		err := s.ValidateArgs(context.Background(), &guard.Call{Tool: "t", Args: []byte(a)})
		if err == nil || strings.Contains(err.Error(), tok) {
			t.Errorf("%s: %v", a, err)
		}
	}
	mw, err := guard.ValidateArgs(s)
	if err != nil {
		t.Fatal(err)
	}
	guardtest.TestMiddleware(t, mw,
		[]*guard.Call{{ID: "1", Tool: "charge", Args: []byte(`{"key":"${secret:PAY_KEY}"}`)}},
		[]*guard.Call{{ID: "2", Tool: "send_email", Args: []byte(`{"body":"key: ` + tok + `"}`)}})
}
