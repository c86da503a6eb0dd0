"""Privacy as a property: a secret of any built-in kind, anywhere in any text, never reaches a
cloud server, in chat and in :HybridAsk, in auto and fixed-cloud mode, with the local backend up
or down. Examples come from a seeded generator (the same on every run, different per case)."""

import base64
import random
import string

import pytest

from fakeservers import free_port
from hybrid_core.privacy import PrivacyRules

ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits


def pick(rnd, alphabet, n):
    return "".join(rnd.choice(alphabet) for _ in range(n))


# One generator per built-in kind, each making keys in the provider's real format.
SECRETS = {
    "private key": lambda r: (f"-----BEGIN {r.choice(['RSA ', 'EC ', 'OPENSSH ', '', 'ENCRYPTED ', 'DSA '])}PRIVATE KEY-----\n"
                              f"{pick(r, ALNUM + '+/', 64)}\n-----END PRIVATE KEY-----"),
    "AWS access key": lambda r: r.choice(["AKIA", "ASIA"]) + pick(r, UPPER_DIGITS, 16),
    "AWS secret key": lambda r: f"{r.choice(['aws_secret_access_key', 'AWS_SECRET_ACCESS_KEY'])} = "
                                f"{pick(r, ALNUM + '/+', 40)}",
    "GitHub token": lambda r: f"gh{r.choice('pousr')}_{pick(r, ALNUM, 36)}",
    "GitHub fine-grained token": lambda r: "github_pat_" + pick(r, ALNUM + "_", 82),
    "GitLab token": lambda r: "glpat-" + pick(r, ALNUM + "_-", 20),
    "Slack token": lambda r: f"xox{r.choice('bpa')}-{pick(r, string.digits, 11)}-{pick(r, ALNUM, 24)}",
    "Slack webhook": lambda r: f"https://hooks.slack.com/services/T{pick(r, UPPER_DIGITS, 8)}/B{pick(r, UPPER_DIGITS, 8)}/"
                               f"{pick(r, ALNUM, 24)}",
    "OpenAI key": lambda r: r.choice(["sk-", "sk-proj-", "sk-svcacct-"]) + pick(r, ALNUM + "_-", r.choice([48, 120, 156])),
    "Anthropic key": lambda r: "sk-ant-api03-" + pick(r, ALNUM + "_-", 93) + "AA",
    "Stripe key": lambda r: r.choice(["sk_live_", "rk_live_"]) + pick(r, ALNUM, 24),
    "Google API key": lambda r: "AIza" + pick(r, ALNUM + "_-", 35),
    "JWT": lambda r: "eyJhbGciOiJIUzI1NiJ9.eyJ" + pick(r, ALNUM, 30) + "." + pick(r, ALNUM + "_-", 43),
    "URL password": lambda r: f"{r.choice(['postgres', 'mongodb+srv', 'redis', 'amqp', 'https'])}://app:"
                              f"{pick(r, ALNUM, 10)}9x@db.internal:5432/x",
    "npm token": lambda r: "npm_" + pick(r, string.ascii_uppercase, 4) + pick(r, ALNUM, 28) + "a1b2",
    "PyPI token": lambda r: "pypi-AgEIcHlwaS5vcmc" + pick(r, ALNUM + "_-", 60),
    "Groq key": lambda r: "gsk_" + pick(r, ALNUM, 52),
    "OpenRouter key": lambda r: "sk-or-v1-" + pick(r, "0123456789abcdef", 64),
    "Hugging Face token": lambda r: "hf_" + pick(r, string.ascii_uppercase, 4) + pick(r, string.ascii_letters, 30),
    "password assignment": lambda r: f"\nDB_PASSWORD={pick(r, ALNUM, 8)}!7\n",
    "Authorization header": lambda r: "\nAuthorization: Bearer " + pick(r, ALNUM, 20) + "9aZ\n",
    # Logins in a tool's own syntax, each on its own line as they are written.
    "Go MySQL DSN": lambda r: f'\ndsn := "app:{pick(r, ALNUM, 10)}9!@{r.choice(["tcp(db:3306)", "unix(/tmp/my.sock)"])}/app"\n',
    "Basic credential": lambda r: '\nauth="Basic ' + base64.b64encode(f"svc:{pick(r, ALNUM, 10)}9!".encode()).decode() + '"\n',
    "pgpass line": lambda r: f"\ndb{pick(r, string.digits, 2)}.internal:{r.choice(['5432', '*'])}:app:app_rw:"
                             f"{pick(r, ALNUM, 10)}!\n",
    "connection string": lambda r: f"\nServer=sql01;Database=Sales;User Id=sa;Password=!{pick(r, ALNUM, 10)}#;\n",
    "wp-config salt": lambda r: f"\ndefine( '{r.choice(['AUTH_KEY', 'NONCE_SALT', 'LOGGED_IN_KEY'])}',  "
                                f"'{pick(r, ALNUM + '!#%^&*()-_[]{{}}<>~+=,.;:/?| ', 64)}' );\n",
    "wp-config password": lambda r: f"\ndefine( 'DB_PASSWORD', '{pick(r, ALNUM, 12)}!' );\n",
}

WORDS = ["the", "deploy", "fails", "def", "return", "x = 1", "{", "}", "é", "日本", "→", "\n", "\t", "//", "#", "'", '"',
         "key", "token", "config", "await", "sk", "gh", "AK", "-", "_", "=", ":", "...", "\r\n", "```", "👍"]


def random_text(rnd, max_words=60) -> str:
    out = []
    for _ in range(rnd.randint(0, max_words)):
        out.append(rnd.choice(WORDS) if rnd.random() < 0.6 else pick(rnd, ALNUM + " .,;()", rnd.randint(1, 10)))
        if rnd.random() < 0.5:
            out.append(" ")
    return "".join(out)


def embed(rnd, text, secret) -> str:
    at = rnd.randint(0, len(text))  # anywhere, mid-word included
    return text[:at] + secret + text[at:]


def sensitive_text(rnd) -> tuple[str, list[str]]:
    secrets = [SECRETS[kind](rnd) for kind in rnd.sample(sorted(SECRETS), rnd.randint(1, 2))]
    # Each secret goes somewhere in its own stretch of text, so one never lands inside another.
    return "".join(embed(rnd, random_text(rnd, 30), secret) for secret in secrets), secrets


def test_the_scanner_finds_every_kind_anywhere():
    rules = PrivacyRules()
    rnd = random.Random(7)
    for kind, make in SECRETS.items():
        for _ in range(300):
            text = embed(rnd, random_text(rnd), make(rnd))
            assert rules.check_text(text), f"{kind} missed in {text!r}"


def test_the_scanner_leaves_ordinary_code_alone():
    rules = PrivacyRules()
    ordinary = ["task-management-system-for-users", "risk-assessment-report-final-v2", "desk-lamp", "AKIA is a prefix",
                "ghp_short", "sk-learn is scikit-learn", "BEGIN TRANSACTION; private key column", "xoxo hugs",
                "const api_key = process.env.OPENAI_API_KEY"]
    assert [t for t in ordinary if rules.check_text(t)] == []


@pytest.mark.parametrize("path, rule", [
    ("/home/me/app/.env", ".env is local-only (.env*)"),
    ("/home/me/app/.env.production", ".env.production is local-only (.env*)"),
    ("/etc/ssl/server.pem", "server.pem is local-only (*.pem)"),
    ("/etc/ssl/tls.key", "tls.key is local-only (*.key)"),
    ("/home/me/.ssh/id_rsa", "id_rsa is local-only (id_rsa*)"),
    ("/home/me/.ssh/id_ed25519", "id_ed25519 is local-only (id_ed25519*)"),
    ("/srv/app/client_secret.json", "client_secret.json is local-only (*secret*)"),
    ("/srv/app/prod.sops.yaml", "prod.sops.yaml is local-only (*.sops.yaml)"),
    ("/srv/app/internal/notes.md", "notes.md is local-only (internal/*)"),
])
def test_local_only_paths(path, rule):
    rules = PrivacyRules(paths=["*.sops.yaml", "internal/*"])
    assert rules.check_path(path).rule == rule
    assert rules.check_path("/srv/app/main.py") is None


def config_for(mode: str, local_url: str, cloud_url: str) -> str:
    return (f"defaults: {{backend: {'auto' if mode == 'auto' else 'groq'}}}\n"
            "backend:\n"
            f"  ollama: {{type: ollama, base_url: '{local_url}', default_model: fake-model}}\n"
            f"  groq: {{type: openai, base_url: '{cloud_url}/v1', default_model: fake-model}}\n"
            "privacy:\n  local_only_paths: ['*.sops.yaml']\n")


def ask_payload(rnd, secret_text: str) -> dict:
    """A :HybridAsk payload with the secret in the instruction, the selection or the lines around it."""
    fields = {"instruction": random_text(rnd, 8) or "tidy", "text": random_text(rnd), "before": random_text(rnd),
              "after": random_text(rnd)}
    fields[rnd.choice(sorted(fields))] += "\n" + secret_text
    return {**fields, "mode": "V", "filetype": "python", "filename": "app.py", "path": "/srv/app.py"}


@pytest.mark.in_memory
@pytest.mark.parametrize("local_up", [True, False], ids=["local-up", "local-down"])
@pytest.mark.parametrize("mode", ["auto", "fixed-cloud"])
def test_no_secret_ever_reaches_the_cloud(ollama, openai, monkeypatch, mode, local_up, start_engine):
    monkeypatch.setenv("GROQ_API_KEY", "test-key")
    local_url = ollama.url if local_up else f"http://127.0.0.1:{free_port()}"
    eng, sink, _ = start_engine(config_for(mode, local_url, openai.url))
    rnd = random.Random(f"{mode}-{local_up}")
    sent_secrets, clean_sent = [], 0
    for i in range(40):
        clean = i % 5 == 4  # controls: they must reach the cloud in fixed-cloud mode
        text, secrets = (random_text(rnd), []) if clean else sensitive_text(rnd)
        sent_secrets += secrets
        clean_sent += clean
        if rnd.random() < 0.5:
            eng.chat_send(f"chat{i}", text)
            end = sink.wait(lambda s, i=i: [e for e in s.of("turn_end") if e["chat"] == f"chat{i}"])[0]
        else:
            eng.ask(str(i), ask_payload(rnd, text))
            end = sink.wait(lambda s, i=i: [e for e in s.of("ask_end") if e["id"] == str(i)])[0]
        if not clean and not local_up:
            assert end["status"] == "error" and "not sent to the cloud" in end["message"]
    received = openai.received_text()
    leaked = [s for s in sent_secrets if s in received]
    assert leaked == [], f"{len(leaked)} secrets reached the cloud"
    if mode == "fixed-cloud":
        assert len(openai.chat_requests()) == clean_sent  # the cloud was live all along
    if local_up:
        assert sum(s in ollama.received_text() for s in sent_secrets) == len(sent_secrets)


@pytest.mark.in_memory
@pytest.mark.parametrize("path", ["/app/.env", "/app/.env.local", "/app/deploy/server.pem", "/app/tls.key",
                                  "/home/me/.ssh/id_rsa", "/app/config/secrets.yaml", "/app/prod.sops.yaml"])
@pytest.mark.parametrize("mode", ["auto", "fixed-cloud"])
def test_a_sensitive_file_is_never_sent_to_the_cloud(ollama, openai, monkeypatch, path, mode, start_engine):
    monkeypatch.setenv("GROQ_API_KEY", "test-key")
    eng, sink, _ = start_engine(config_for(mode, ollama.url, openai.url))
    payload = {"instruction": "@cloud review this for security issues", "text": "PASSWORD=hunter2", "before": "",
               "after": "", "mode": "V", "filetype": "sh", "filename": path, "path": path}
    eng.ask("1", payload)
    start = sink.wait(lambda s: s.of("ask_start"))[0]
    sink.wait(lambda s: s.of("ask_end"))
    eng.chat_send("c", "explain\n```sh\nPASSWORD=hunter2\n```", {"path": path})
    sink.wait(lambda s: s.of("turn_end"))
    assert openai.chat_requests() == []
    assert len(ollama.chat_requests()) == 2
    assert start["backend"] == "ollama" and "is local-only" in start["reason"]


@pytest.mark.in_memory
def test_a_chat_that_carried_a_secret_stays_local(ollama, openai, monkeypatch, start_engine):
    monkeypatch.setenv("GROQ_API_KEY", "test-key")
    eng, sink, _ = start_engine(config_for("fixed-cloud", ollama.url, openai.url))
    token = "ghp_Xq7Lm2Pz9Rt4Wv8Ny3Bc6Df1Gh5Jk0Ms2Qa7"
    for n, text in enumerate(["hello", f"my token is {token}", "@cloud and now?", "thanks"], 1):
        eng.chat_send("c", text)
        sink.wait(lambda s, n=n: len(s.of("turn_end")) == n)
    starts = sink.of("turn_start")
    assert [s["backend"] for s in starts] == ["groq", "ollama", "ollama", "ollama"]
    assert starts[3]["reason"] == "a GitHub token in the text"
    assert len(openai.chat_requests()) == 1
    notices = [e["message"] for e in sink.of("notify") if e["level"] == "warn"]
    assert "@cloud ignored: a GitHub token in the text, so it goes to ollama (local)" in notices


@pytest.mark.in_memory
def test_the_other_doors_keep_a_secret_local(ollama, openai, monkeypatch, start_engine):
    """:HybridRetry on the cloud backend, @cloud, and a preset on the cloud backend: the cloud
    server receives nothing of a chat that carried a secret."""
    monkeypatch.setenv("GROQ_API_KEY", "test-key")
    config = config_for("auto", ollama.url, openai.url) + (
        "presets:\n  review: {backend: groq, model: fake-model, system: 'You review code.'}\n")
    eng, sink, _ = start_engine(config)
    rnd = random.Random("doors")
    secrets = [SECRETS[kind](rnd) for kind in sorted(SECRETS)]
    for n, secret in enumerate(secrets):
        chat = f"c{n}"
        eng.chat_send(chat, f"why does this fail? {secret}")
        sink.wait(lambda s, chat=chat: [e for e in s.of("turn_end") if e["chat"] == chat])
        eng.retry(chat, "groq")  # :HybridRetry groq
        sink.wait(lambda s, chat=chat: len([e for e in s.of("turn_end") if e["chat"] == chat]) == 2)
        eng.chat_send(chat, "@cloud and now?")
        sink.wait(lambda s, chat=chat: len([e for e in s.of("turn_end") if e["chat"] == chat]) == 3)
    eng.set_preset("review")
    eng.chat_send("p", "the config: " + secrets[0])
    sink.wait(lambda s: [e for e in s.of("turn_end") if e["chat"] == "p"])
    assert openai.chat_requests() == []
    received = ollama.received_text()
    assert all(s in received for s in secrets)
