"""Secrets in text: the families of the gitleaks and detect-secrets catalogs, as our own rules.

Each rule is a literal anchor (a cheap `in` test that skips the rule for most texts), a regex
that starts with a literal or a rare character (or names the `shapes` its matches start with),
and an optional check on what it matched (formats.py holds those for tools' own syntax). Two
properties keep the scan linear on any input (DESIGN.md: "linear-time on any input"):
  - every quantifier is bounded, so one attempt costs a constant;
  - a regex matches the whole run it scanned, and the check decides afterwards, so a
    rejected candidate is never scanned again (finditer resumes after it). A check only
    rejects when no part of the run could be a secret either.
Keyword rules (password=, Authorization:) run on a lower-cased copy, so they need no
IGNORECASE (which turns off the regex engine's literal-prefix search).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from . import formats as f
from . import values as v

B64 = "A-Za-z0-9+/"
URLSAFE = "A-Za-z0-9_-"


@dataclass(frozen=True)
class SecretRule:
    label: str                  # for the user: "a Stripe key"
    anchors: tuple[str, ...]    # any of these must be in the (lower-cased if `lower`) text
    regex: re.Pattern
    check: Callable[[re.Match, str], str | None] | None = None  # -> a label, or None to reject
    lower: bool = False
    # Where a match can start, written with every digit as 0 (":0000:"), all opening with the same
    # common character: in a text dense with it the fast path finds these instead (fast.py).
    shapes: tuple[str, ...] = ()


def _rule(label, anchors, pattern, check=None, lower=False, shapes=()) -> SecretRule:
    # A regex that starts with a literal finds it as fast as `in` would: no anchors needed.
    if _literal_prefix(pattern) >= 2:
        anchors = ()
    return SecretRule(label, tuple(anchors), re.compile(pattern), check, lower, tuple(shapes))


def _literal_prefix(pattern: str) -> int:
    """How many literal characters the pattern starts with (0 when it has a top-level |)."""
    depth = 0
    for i, ch in enumerate(pattern):
        if ch == "\\":
            continue
        depth += ch == "("
        depth -= ch == ")"
        if ch == "|" and depth == 0 and (i == 0 or pattern[i - 1] != "\\"):
            return 0
    n, i = 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and not pattern[i + 1].isalnum():
            i += 2
        elif ch.isalnum() or ch in "-_:/~@\"'= ":
            i += 1
        else:
            break
        n += 1
    if i < len(pattern) and pattern[i] in "?*{" and n:
        n -= 1  # the last literal is optional or repeated
    return n


# -- checks: (match, original text) -> label or None ----------------------------------------

def _not_example(label):
    def check(m, text):
        return None if "EXAMPLE" in m.group(0) or v.is_placeholder(m.group(0)[4:]) else label
    return check


def _mixed_case(label, group=0):
    def check(m, text):
        value = m.group(group)
        return label if v.has_upper(value) and v.has_lower(value) else None
    return check


def _random(label, group=1, min_len=16):
    def check(m, text):
        return label if v.looks_random(m.group(group), min_len) else None
    return check


_SK_FAMILIES = (("sk-ant-", "an Anthropic key"), ("sk-or-", "an OpenRouter key"), ("sk-proj-", "an OpenAI key"),
                ("sk-svcacct-", "an OpenAI key"), ("sk-admin-", "an OpenAI key"))


def _sk_key(m, text):
    """sk-…: a provider prefix with a real body, or a long mixed run (not kebab-case words)."""
    token = m.group(0)
    for prefix, label in _SK_FAMILIES:
        if token.startswith(prefix):
            return label if not v.is_placeholder(token[len(prefix):]) and len(token) - len(prefix) >= 16 else None
    # Upper, lower and digits mixed (a key inside the run still mixes them); kebab-case words
    # never do. A long lowercase hex body is a key too (DeepSeek and others).
    body = token[3:]
    mixed = v.has_upper(body) and v.has_lower(body) and v.has_digit(body)
    if mixed and v.looks_random(body, 20) or len(body) >= 32 and v.is_hex(body):
        return "an OpenAI-style key"
    return None


_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{32,}")


def _key_block(m, text):
    """A BEGIN … PRIVATE KEY marker with key material after it (a full block, a partial one, or
    one split over string literals). A marker alone (code that parses PEM) is not a key."""
    for run in _BASE64_RUN.finditer(text, m.end(), m.end() + 300):
        body = run.group(0)
        if v.has_digit(body) and v.has_upper(body) and v.has_lower(body):
            return "a private key block"
    return None


def _key_body(m, text):
    """DER or OpenSSH key material that starts like a private key, long enough to be one."""
    run = _BASE64_RUN.match(text, m.start())
    return "a private key" if run and len(run.group(0)) >= 48 else None


_JWT_TAIL = re.compile(r"\.eyJ[A-Za-z0-9_-]{8,}")


def _jwt(m, text):
    """header.payload[.signature]: both halves base64url JSON objects."""
    return "a JSON web token" if _JWT_TAIL.match(text, m.end()) else None


def _telegram(m, text):
    before = text[max(0, m.start() - 10):m.start()]
    return "a Telegram bot token" if re.search(r"\d{8,10}\Z", before) else None


def _mailchimp(m, text):
    before = text[max(0, m.start() - 32):m.start()]
    return "a Mailchimp key" if len(before) == 32 and v.is_hex(before) else None


def _auth_header(m, text):
    """Authorization: Bearer|Basic|… <credential>; credentials are machine-made, so random-looking."""
    value = text[m.start(1):m.end(1)].rstrip(".,:")
    if v.is_expression(value):
        return None
    return "an Authorization header" if v.looks_random(value, 12) else None


# -- password = …, "api_key": "…", DB_PASSWORD=…, secret: …, .netrc's `password …` ----------------

_PASSWORD_WORDS = ("password", "passwd", "passwort", "pwd", "pass", "credential", "secret")
ASSIGNMENT_ANCHORS = ("pass", "pwd", "secret", "token", "key", "credential", "--auth")
# (?=(?P<sfx>…))(?P=sfx) takes the rest of the name in one step: a lookahead is never re-entered,
# so a failed match does not retry every shorter suffix (Python 3.10 has no atomic groups).
ASSIGNMENT = (
    r"(p(?:ass(?:word|wd|wort)?|wd|rivate[_-]?key)|s(?:ecret|igning[_-]?key)|credential|token|"
    r"a(?:pi[_-]?key|pikey|ccess[_-]?key|uth[_-]?key)|encryption[_-]?key|master[_-]?key|-(?:-auth|key)|_key)(?=(?P<sfx>[a-z0-9_.-]{0,30}))(?P=sfx)(?:\\?[\"'\]]){0,2}"
    r"[ \t]{0,5}(:=|=>|=(?!=)|:[ \t]{0,3}[&a-z0-9_<>\[\]' ]{1,24}?=(?!=)|:(?![:/])|>|,(?=[ \t]{0,5}[\"'])|[ \t])"
    r"[ \t]{0,5}\\?(?=([\"'`]?)([^\s\"'`,;(){}\[\]\\]{1,300}))"
)  # the value is looked at, not taken: a rejected one may hold the next name (token x AWS_SECRET=…)
# Names that hold something about a secret, not the secret: token_url, password_field, max_tokens.
_NOT_SECRET_NAME = re.compile(
    r"(?:url|uri|path|file|dir|name|type|env|var|field|prefix|len|length|count|timeout|ttl|expires?|expiry|"
    r"expiration|endpoint|cmd|command|hint|pattern|regex|re|id|ids|header|policy|min|max|size|chars|label|"
    r"placeholder|prompt|help|text|message|msg|error|format|mode|style|class|input|reset|limit|provider|source|"
    r"store|manager|location|ref|kind|enabled|required|set|rotation|version|index|idx|in|out|usage|cache)\Z")
# existingSecret, tlsSecret, credentialsSecret: keys whose value is the name of a Kubernetes Secret.
_SECRET_REFERENCES = frozenset(("existing", "tls", "ssl", "cert", "certificate", "credential", "credentials", "creds",
                                "pull", "env", "sealed", "external"))
_K8S_NAME = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?){0,4}")
_NETRC = re.compile(r"\b(?:machine|login|default)\b")
_NAME_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_IDENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def _line_start(text: str, at: int, back: int = 0) -> int:
    """Where the line holding `at` starts, or the line `back` lines above it."""
    start = text.rfind("\n", 0, at)
    for _ in range(back):
        if start <= 0:
            break
        start = text.rfind("\n", 0, start)
    return max(start + 1, 0)


def _assignment(m, text):
    keyword, suffix, sep, quote = m.group(1), m.group(2), m.group(3), m.group(4)
    close = text.find(quote, m.start(5), m.start(5) + 300) if quote else -1
    if (close - m.start(5) if close > 0 else m.end(5) - m.start(5)) < 6:
        return None  # under six characters: never a secret below (human_password and looks_random)
    start = m.start(1)
    while start > 0 and text[start - 1] in _IDENT_CHARS and m.start(1) - start < 40:
        start -= 1
    name = text[start:m.end(2)]
    low_name = name.lower()
    flag = name.startswith("--")
    name = name.lstrip("-")
    if start == m.start(1) and start > 0 and text[start - 1] in "=:":
        return None  # the keyword is itself a value (-field=password)
    if suffix.startswith(("s", "iz", "en", "ing", "word_", "age", "ed", "ive")) and keyword in ("token", "pass", "secret"):
        return None  # tokens, tokenizer, passenger, passing, secrets.token_hex
    if keyword == "pass" and suffix[:1].isalpha() and not suffix.startswith("phrase"):
        return None  # _PassArg, passenger
    if keyword == "pass" and (suffix.startswith(("through", "thru", "_through", "es", "ed")) or start != m.start(1)
                              and text[m.start(1) - 1].isalpha()):
        return None  # bypass, compass, passthrough
    words = _NAME_WORDS.findall(name)
    last = words[-1].lower() if words else ""
    if _NOT_SECRET_NAME.match(last) or low_name.startswith(("is_", "has_", "no_", "use_", "show_", "get_", "set_")):
        return None
    if sep.strip() == "" and not flag and not (keyword in ("password", "passwd") and _NETRC.search(
            text, _line_start(text, start, back=2), start)):
        return None  # only .netrc's `password value` and --flags are written without a separator
    if sep == "," and not (start >= 2 and text[start - 1] in "\"'" and name.isupper()
                           and text[max(0, start - 12):start - 1].rstrip(" \t").endswith("(")):
        return None  # only define( 'NAME', 'value' ) and setenv("NAME", "value"), not a list of names
    expansion = text[max(0, start - 2):start] == "${"
    if expansion and text[m.end(2):m.end(2) + 2] in (":?", ":+"):
        return None  # ${NAME:?message}, ${NAME:+alternate}: shell expansions, not values
    if quote:
        value = text[m.start(5):close] if close > 0 else text[m.start(5):m.end(5)]
        if v.is_expression(value) and "." in value:
            return None  # "context.eval_ctx": a dotted name in a string
    env_style = False
    if not quote:
        value = text[m.start(5):m.end(5)].split("</")[0]  # <password>x</password>
        if expansion:
            value = value.lstrip("-=")  # ${NAME:-default}: the default is the value
        if value.startswith("!"):
            return None  # a YAML tag: password: !vault |
        env_style = sep == "=" and name.isupper() and text[m.end(2):m.start(5)].strip("\"']") == "="
        if v.is_expression(value) and not (env_style and len(value) >= 8):
            return None
    if _K8S_NAME.fullmatch(value) and any(a.lower() in _SECRET_REFERENCES and b.lower() in ("secret", "secrets")
                                          for a, b in zip(words, words[1:], strict=False)):
        return None  # existingSecret: grafana-admin, existingSecretPasswordKey: redis-password name a Secret
    if f.encodes_stand_in(value):
        return None  # password: Y2hhbmdlbWU= (changeme in a Kubernetes Secret's data)
    if any(word in keyword for word in _PASSWORD_WORDS):
        found = v.human_password(value, lenient=not quote and env_style)
    else:
        found = v.looks_random(value, 16)
    return f"a secret assigned to {name.strip(chr(34) + chr(39))[:40]}" if found else None


NAMED_VALUE = r"(?:value|default)[ \t]{0,5}[:=][ \t]{0,5}(?=([\"']?)([^\s\"',;]{6,300}))"
_SECRET_NAME = re.compile(r"(?:name|variable|key)[\"']?[ \t]{0,5}[:=]?[ \t]{0,5}[\"']?([\w.-]*(?:pass|pwd|secret|token|"
                          r"api[_-]?key|credential)[\w.-]*)")


def _named_value(m, text):
    """The secret's name on one line and its value on the next (k8s env, terraform variables)."""
    before = text[max(0, m.start() - 200):m.start()]
    names = _SECRET_NAME.findall(before.lower())
    if not names:
        return None
    value = text[m.start(2):m.end(2)]
    if m.group(1):
        value = value.rstrip("\"'")
    ok = v.human_password(value) if any(w in names[-1] for w in ("pass", "pwd", "secret", "credential")) \
        else v.looks_random(value, 16)
    return f"a secret assigned to {names[-1][:40]}" if ok and not v.is_expression(value) else None


# -- the catalog --------------------------------------------------------------------------------

RULES: tuple[SecretRule, ...] = (
    # Private keys: PEM / OpenSSH / PGP blocks, and key material without its marker.
    _rule("a private key block", (), r"BEGIN[ A-Z0-9]{0,40}PRIVATE KEY", _key_block),
    _rule("a private key", ("IBA", "AgEAMBMGByqGSM49", "HcCAQEE", "BBQ0w"),
          r"M(?:II[A-Za-z0-9+/]{1,2}[AQgw]IBA(?:AKC|DANBgkqhkiG9w0BAQEFAASC)|IG[A-Za-z0-9+/]AgEAMBMGByqGSM49|HcCAQEE|"
          r"IGkAgEBBDA|II[A-Za-z0-9+/]{2}DBOBgkqhkiG9w0BBQ0w)", _key_body),
    _rule("a private key", (), r"b3BlbnNzaC1rZXktdjE", _key_body),
    _rule("an age secret key", ("AGE-SECRET-KEY-1",), r"AGE-SECRET-KEY-1[0-9A-Z]{58}"),
    # Cloud providers.
    _rule("an AWS access key", (), r"A(?:3T[A-Z0-9]|KIA|SIA|BIA|CCA)[A-Z0-9]{16}", _not_example("an AWS access key")),
    _rule("a Google API key", ("AIza",), r"AIza[0-9A-Za-z_-]{35}"),
    _rule("a Google service-account key", ('service_account"', "service_account'"),
          r"[\"']type[\"']\s{0,9}:\s{0,9}[\"']service_account[\"']"),
    _rule("a Google OAuth secret", ("GOCSPX-",), r"GOCSPX-[A-Za-z0-9_-]{20,40}"),
    _rule("a Google OAuth token", (), r"ya29\.[A-Za-z0-9_-]{30,400}", _random("a Google OAuth token", 0)),
    _rule("a Google OAuth token", (), r"1//0[A-Za-z0-9_-]{30,400}", _random("a Google OAuth token", 0)),
    _rule("an Azure storage key", ("key=",), r"(?:account|sharedaccess)key=[a-z0-9+/]{30,100}", lower=True),
    _rule("an Azure SAS signature", ("sig=",), r"[?&;]sig=([A-Za-z0-9%+/=]{30,200})", _random("an Azure SAS signature", 1, 30)),
    _rule("an Azure client secret", ("Q~",), r"[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}"),
    _rule("an Alibaba Cloud key", ("LTAI",), r"LTAI[A-Za-z0-9]{20}", _mixed_case("an Alibaba Cloud key")),
    _rule("a Tencent Cloud key", ("AKID",), r"AKID[A-Za-z0-9]{32}", _mixed_case("a Tencent Cloud key")),
    _rule("a DigitalOcean token", ("_v1_",), r"do[opr]_v1_[a-f0-9]{64}"),
    _rule("a Heroku key", ("HRKU-",), r"HRKU-[A-Za-z0-9_-]{40,80}"),
    _rule("a Databricks token", ("dapi",), r"dapi[a-f0-9]{32}"),
    _rule("a Terraform Cloud token", (".atlasv1.",), r"\.atlasv1\.[A-Za-z0-9_=-]{40,80}"),
    _rule("a Vault token", ("hvs.", "hvb."), r"hv[sb]\.[A-Za-z0-9_-]{24,200}", _random("a Vault token", 0, 24)),
    _rule("a Pulumi token", ("pul-",), r"pul-[a-f0-9]{40}"),
    _rule("a Doppler token", ("dp.",), r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}"),
    # Payment, VCS, chat, registries.
    _rule("a Stripe key", (), r"_(?:live|test|prod)_[A-Za-z0-9]{20,120}",
          lambda m, t: "a Stripe key" if t[max(0, m.start() - 2):m.start()] in ("sk", "rk") else None),
    _rule("a Square token", (), r"sq0(?:atp|csp)-[A-Za-z0-9_-]{22,80}"),
    _rule("a Square token", (), r"EAAA[A-Za-z0-9_-]{60,80}", _mixed_case("a Square token")),
    _rule("a GitHub token", (), r"gh[pousr]_[A-Za-z0-9]{36}"),
    _rule("a GitHub token", ("github_pat_",), r"github_pat_[A-Za-z0-9_]{22,255}"),
    _rule("a GitLab token", (), r"gl(?:pat|dt|rt|ptt|soat|ft|cbt|imt|agent|oas)-[A-Za-z0-9_-]{20,80}"),
    _rule("a GitLab runner token", (), r"GR1348941[A-Za-z0-9_-]{20,80}"),
    _rule("a Bitbucket or Atlassian token", ("ATATT3", "ATCTT3", "ATBB"), r"AT(?:ATT3|CTT3|BB)[A-Za-z0-9_=-]{24,300}"),
    _rule("a Slack token", (), r"x(?:ox[abposre]|oxe\.xox[bp]|app)-[A-Za-z0-9-]{10,250}",
          lambda m, t: "a Slack token" if sum(map(str.isdigit, m.group(0))) >= 4 else None),
    _rule("a Slack webhook", ("hooks.slack.com/",), r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]{20,120}"),
    _rule("a Discord webhook", ("/api/webhooks/",), r"/api/webhooks/\d{5,25}/[A-Za-z0-9_-]{30,100}"),
    _rule("a Discord bot token", ("iscord", "ISCORD"),
          r"[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,40}"),
    _rule("a Telegram bot token", (":AA",), r":AA[A-Za-z0-9_-]{33}", _telegram),
    _rule("a Twilio key", ("SK", "AC"), r"(?:SK|AC)[0-9a-f]{32}(?![0-9a-fA-F])"),
    _rule("a SendGrid key", ("SG.",), r"SG\.[A-Za-z0-9_-]{20,24}\.[A-Za-z0-9_-]{40,45}"),
    _rule("a Mailchimp key", ("-us",), r"-us\d{1,2}(?![0-9A-Za-z])", _mailchimp),
    _rule("a Mailgun key", ("key-",), r"key-[0-9a-f]{32}"),
    _rule("a Shopify token", ("shpat_", "shpca_", "shppa_", "shpss_"), r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"),
    _rule("an npm token", ("npm_",), r"npm_[A-Za-z0-9]{36}", _mixed_case("an npm token")),
    _rule("a PyPI token", ("pypi-AgE",), r"pypi-AgE[A-Za-z0-9_-]{40,300}"),
    _rule("a Docker Hub token", ("dckr_pat_",), r"dckr_pat_[A-Za-z0-9_-]{20,40}"),
    _rule("a JFrog token", (), r"AKCp[A-Za-z0-9]{50,80}"),
    _rule("a JFrog token", (), r"cmVmdGtu[A-Za-z0-9]{50,80}"),
    _rule("a SonarQube token", ("sqp_", "squ_", "sqa_"), r"sq[pua]_[a-f0-9]{40}"),
    _rule("a Buildkite token", ("bkua_",), r"bkua_[a-f0-9]{40}"),
    _rule("a Postman key", ("PMAK-",), r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}"),
    _rule("a Grafana token", ("glc_", "glsa_"), r"gl(?:c_[A-Za-z0-9+/]{32,400}|sa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})"),
    _rule("a New Relic key", ("NRAK-", "NRJS-", "NRII-"), r"NR(?:AK|JS|II)-[A-Za-z0-9]{19,32}"),
    _rule("a Dynatrace token", ("dt0c01.",), r"dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}"),
    _rule("a PlanetScale token", ("pscale_",), r"pscale_(?:tkn|pw|oauth)_[A-Za-z0-9=._-]{32,64}"),
    _rule("a Supabase token", ("sbp_",), r"sbp_[a-f0-9]{40}"),
    _rule("a Fly.io token", ("fo1_", "fm1", "fm2"), r"f(?:o1_[A-Za-z0-9_-]{43}|m[12][ar]?_[A-Za-z0-9+/]{100,}={0,3})"),
    _rule("a Linear key", ("lin_api_",), r"lin_api_[A-Za-z0-9]{40}"),
    _rule("a Notion token", (), r"ntn_[A-Za-z0-9]{40,50}", _mixed_case("a Notion token")),
    _rule("a Notion token", (), r"secret_[A-Za-z0-9]{43}", _mixed_case("a Notion token")),
    _rule("an Airtable token", ("pat",), r"pat[A-Za-z0-9]{14}\.[a-f0-9]{64}"),
    _rule("a Sentry token", ("sntrys_", "sntryu_"), r"sntry[su]_[A-Za-z0-9+/=_-]{40,300}"),
    _rule("a Mapbox secret token", ("sk.eyJ",), r"sk\.eyJ[A-Za-z0-9_-]{40,}\.[A-Za-z0-9_-]{20,}"),
    _rule("a 1Password token", ("ops_eyJ",), r"ops_eyJ[A-Za-z0-9+/=]{100,}"),
    _rule("a Firebase messaging key", (":APA91b",), r":APA91b[A-Za-z0-9_-]{100,200}"),
    _rule("a Dropbox token", ("sl.",), r"sl\.[A-Za-z0-9_-]{130,160}", _mixed_case("a Dropbox token")),
    _rule("a Twitter bearer token", ("AAAAAAAAAAAAAAAAAAAAA",), r"AAAAAAAAAAAAAAAAAAAAA[A-Za-z0-9%]{30,120}"),
    _rule("a Contentful token", ("CFPAT-",), r"CFPAT-[A-Za-z0-9_-]{43}"),
    # Model providers (the plugin's own world).
    _rule("an OpenAI-style key", ("sk-",), r"sk-[A-Za-z0-9_-]{16,400}", _sk_key),
    _rule("a Perplexity key", (), r"pplx-[A-Za-z0-9]{40,60}"),
    _rule("a Groq key", (), r"gsk_[A-Za-z0-9]{40,60}"),
    _rule("a Hugging Face token", (), r"hf_[A-Za-z]{30,40}", _mixed_case("a Hugging Face token")),
    _rule("a Hugging Face token", (), r"api_org_[A-Za-z]{30,40}", _mixed_case("a Hugging Face token")),
    _rule("a Replicate token", ("r8_",), r"r8_[A-Za-z0-9]{37}", _mixed_case("a Replicate token")),
    # Generic shapes: JWTs, passwords in URLs, Authorization headers.
    _rule("a JSON web token", (), r"eyJ[A-Za-z0-9_-]{8,4000}", _jwt),
    _rule("a password in a URL", ("@",),
          r"://([^\s/?#@:\"'<>`]{0,128}):([^\s/?#@\"'<>`]{1,256})@", f.url_password),
    _rule("a key in a URL (Sentry DSN)", ("@",), r"://([0-9a-f]{32})(?::[0-9a-f]{32})?@", f.url_key),
    # Logins in a tool's own syntax (formats.py reads the rest around the literal part).
    _rule("a password in a database DSN", ("@tcp", "@unix"), r"@(?:tcp6?|unix)\(", f.go_dsn),
    # host:port:database:user:password; Postgres ports have four or five digits (5432, 6432, 25060).
    _rule("a .pgpass line", (), r":(?:[0-9]{4,5}|\*):([A-Za-z0-9_.@$*-]{1,63}):([A-Za-z0-9_.@$*-]{1,63}):", f.pgpass,
          shapes=(":0000:", ":00000:", ":*:")),
    _rule("a password in a connection string", ("password", "pwd"),
          r"(?:password|pwd)[ \t]{0,5}=[ \t]{0,5}(\{[^}\n]{1,200}\}|[^;\"'`\s][^;\"'`\r\n]{0,199})", f.connection_string,
          lower=True),
    _rule("a Basic credential", (), r"basic[ \t]{1,9}([a-z0-9+/]{4,400}={0,2})", f.basic_credential, lower=True),
    _rule("an Authorization header", ("authorization", "bearer ", "bearer\t"),
          r"(?:authorization[\"']?\s{0,9}[:=]?\s{0,9}[\"']?(?:bearer|basic|token|digest|apikey|api-key|sso-key)?|bearer)"
          r"[ \t]{1,9}([A-Za-z0-9._~+/=:-]{8,4000})", _auth_header, lower=True),
    _rule("a registry login (docker config auth)", ('"auth"',), r"\"auth\"\s{0,9}:\s{0,9}\"([A-Za-z0-9+/=]{12,400})\"",
          f.docker_auth, lower=True),
    _rule("a kubeconfig credential", ("client-key-data", "token:"),
          r"(?:client-key-data|\n\s{0,20}token):\s{0,9}([A-Za-z0-9+/=._-]{20,8000})", f.kubeconfig, lower=True),
    _rule("a Kubernetes Secret manifest", ("kind: secret",), r"kind:\s{0,9}secret\s{0,9}\n", f.k8s_secret, lower=True),
    _rule("a credential assignment", ASSIGNMENT_ANCHORS, ASSIGNMENT, _assignment, lower=True),
    _rule("a secret in wp-config.php", (),
          r"define[ \t]{0,5}\([ \t]{0,5}[\"']([a-z0-9_]{0,30}pass(?:word|wd)?|(?:secure_)?auth_(?:key|salt)|"
          r"logged_in_(?:key|salt)|nonce_(?:key|salt))[\"'][ \t]{0,5},[ \t]{0,20}[\"']", f.php_define, lower=True),
    _rule("a credential assignment", ("value", "default"), NAMED_VALUE, _named_value, lower=True),
    _rule("an npm registry login", ("_auth",), r"_auth[ \t]{0,5}=[ \t]{0,5}([a-z0-9+/=]{12,400})", f.npm_auth, lower=True),
)
