"""Checks for credentials written in a tool's own syntax (the rules are in `secrets.py`):
passwords in URLs, registry logins (docker config, .npmrc), kubeconfigs, Kubernetes Secret
manifests, Go MySQL DSNs, .pgpass lines, ADO.NET / ODBC connection strings, `Basic <base64>`
anywhere and PHP define()s. Each takes (match, original text) and returns a label, or None
to reject.

A rule's regex matches the literal part (`@tcp(`, `:5432:db:user:`, `password=`); the check
reads the rest around it, within a bounded window, so a rejected candidate costs a constant.
"""

from __future__ import annotations

import base64
import binascii
import re

from . import values as v

_TOKEN = re.compile(r"[^\s\"'`]{1,253}")


def _b64(value: str) -> str:
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4)).decode("latin-1")
    except (binascii.Error, ValueError):
        return ""


_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def encodes_stand_in(value: str) -> bool:
    """Y2hhbmdlbWU= is changeme: a placeholder in base64, as a Kubernetes Secret's data holds it."""
    if len(value) < 8 or not _BASE64.fullmatch(value):
        return False
    decoded = _b64(value)
    return decoded.isprintable() and v.is_placeholder(decoded)


def _token_before(text: str, at: int) -> str:
    """The run of non-space, non-quote characters that ends at `at` (at most 253 of them)."""
    run = _TOKEN.match(text[max(0, at - 253):at][::-1])
    return run.group(0)[::-1] if run else ""


def _login(user: str, password: str) -> bool:
    """user:password is a real login: a password that is not empty, the user's name, a dev
    default or a stand-in (${DB_PASS}, %s, <password>)."""
    return bool(password) and password != user and not v.stands_in(password)


def url_password(m, text):
    user, password = m.group(1), m.group(2)
    if password.lower() in v.DEV_DEFAULTS or password == user or v.is_placeholder(password) and len(password) < 12:
        return None
    if password.startswith(("$", "{", "<", "%")) or v.is_expression(password) and len(password) < 12:
        return None
    return "a password in a URL"


def url_key(m, text):
    return "a key in a URL (Sentry DSN)" if v.has_digit(m.group(1)) else None


def docker_auth(m, text):
    value = text[m.start(1):m.end(1)]
    return "a registry login (docker config auth)" if v.looks_random(value, 12) or ":" in _b64(value) else None


def npm_auth(m, text):
    return "an npm registry login (_auth)" if ":" in _b64(text[m.start(1):m.end(1)]) else None


def kubeconfig(m, text):
    value = text[m.start(1):m.end(1)]
    return "a kubeconfig credential" if len(value) >= 20 and not v.is_placeholder(value) else None


def basic_credential(m, text):
    """`Basic <base64>` in any header, log line or config: the base64 decodes to user:password."""
    decoded = _b64(text[m.start(1):m.end(1)])
    if not decoded.isprintable() or ":" not in decoded:
        return None
    user, _, password = decoded.partition(":")
    return "a Basic credential (user:password in base64)" if _login(user, password) else None


def go_dsn(m, text):
    """user:password@tcp(host)/db, the Go MySQL driver's DSN: the login is the token before `@`
    (the password may hold `@` and `:`; the user holds neither)."""
    head, colon, password = _token_before(text, m.start()).partition(":")
    user = head.rpartition("=")[2]  # DSN=user:…, --dsn=user:…
    return "a password in a database DSN" if colon and _login(user, password) else None


_PGPASS_HOST = re.compile(r"[A-Za-z0-9._*-]{1,253}")
_PGPASS_PASSWORD = re.compile(r"(?:\\.|[^\s\"'`\\])+")
_LETTER = re.compile(r"[A-Za-z]")
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")


def pgpass(m, text):
    """host:port:database:user:password, one a line (.pgpass): the rule matches from the port's
    colon to the user's; the password after and the host before are read here."""
    database, user = text[m.start(1):m.end(1)], text[m.start(2):m.end(2)]
    password = _PGPASS_PASSWORD.match(text, m.end())
    if not password or not _login(user, password.group(0)):
        return None
    host = _PGPASS_HOST.match(text[max(0, m.start() - 253):m.start()][::-1])
    host = host.group(0)[::-1] if host else ""
    before = text[m.start() - len(host) - 1] if m.start() > len(host) else "\n"
    if not host or before == ":" or not before.isspace() and before not in "\"'`=>|;(":
        return None  # a sixth field before the host, or the end of some other word
    if not (_LETTER.search(host) or host == "*" or _IPV4.fullmatch(host)) or not all(
            field == "*" or _LETTER.search(field) for field in (database, user)):
        return None  # 12:30:45:…, 2001:db8:… (times and addresses)
    return "a .pgpass line"


# The keys that make `…;Password=…` a connection string (ADO.NET, ODBC, OLE DB, Npgsql).
_CONNECTION_KEYS = frozenset(("server", "data source", "host", "database", "initial catalog", "uid", "user id", "user",
                              "username", "driver", "dsn", "provider", "address", "addr", "port", "trusted_connection"))


def _key(part: str) -> str:
    """The key of one key=value part: connectionString="Data Source=x gives data source."""
    key = part.partition("=")[0]
    return key[max(key.rfind('"'), key.rfind("'"), key.rfind("{")) + 1:].strip().lower()


def _neighbour_keys(text: str, key_at: int, value_end: int) -> set[str]:
    """The keys of the parts either side of Password=…; (User Id before it, or Server after)."""
    keys = set()
    before = text[max(0, key_at - 200):key_at].rstrip(" \t")
    if before.endswith(";"):
        keys.add(_key(before[before.rfind(";", 0, len(before) - 1) + 1:-1]))
    after = text[value_end:value_end + 200].lstrip(" \t")
    if after.startswith(";"):
        keys.add(_key(after[1:].partition(";")[0]))
    return keys


def connection_string(m, text):
    """Password=…; or Pwd=…; beside other connection-string keys. The value runs to `;` (or
    the string's end) and may start with anything: !q2Y#x9, %Sh0p!2023, {p;ss}."""
    value = text[m.start(1):m.end(1)].strip()
    if value.startswith("{") and value.endswith("}"):
        value = value[1:-1]
        if v.is_expression(value):
            return None  # "…;PWD={db_pass}".format(…): a name in braces is code filling it in
    if not _login("", value):
        return None
    lead = text[max(0, m.start() - 80):m.start()].rstrip(" \t")
    if lead and lead[-1] not in ";\"'{\n":
        return None  # db_password=, the end of another name
    keys = _neighbour_keys(text, m.start(), m.end(1))
    return None if _CONNECTION_KEYS.isdisjoint(keys) else "a password in a connection string"


_QUOTED = {"'": re.compile(r"(?:\\.|[^\\'\n]){0,300}'"), '"': re.compile(r'(?:\\.|[^\\"\n]){0,300}"')}


def php_define(m, text):
    """define( 'DB_PASSWORD', '…' ) and WordPress's keys and salts (wp-config.php)."""
    quote = text[m.end() - 1]
    closed = _QUOTED[quote].match(text, m.end())
    if not closed:
        return None
    value, name = closed.group(0)[:-1], text[m.start(1):m.end(1)]
    if name.lower().endswith(("_key", "_salt")):
        # A salt is random over printable ASCII, so a two-character stand-in like "${" may occur
        # in it by chance: only a phrase ("put your unique phrase here") or a filler rejects it.
        low = value.lower()
        if len(value) < 16 or len(set(low)) <= 2 or value.replace(" ", "").isalpha() or any(
                word in low for word in v.PLACEHOLDER_WORDS if len(word) >= 4):
            return None
        return f"a secret assigned to {name}"
    return f"a secret assigned to {name}" if _login("", value) else None


# -- Kubernetes Secret manifests -----------------------------------------------------------------

_DATA_KEY = re.compile(r"([ \t]*)(data|stringData):[ \t]*(.*)")
_ENTRY = re.compile(r"([ \t]*)[^\s#:][^:]*:(?:[ \t]+(.*))?\Z")
_DOC_BACK, _DOC_AHEAD = 4000, 8000


def k8s_secret(m, text):
    """kind: Secret with data, unless it is a template or every data/stringData value stands
    in for one (empty, changeme, <your-password>). Read in the YAML document around the match;
    one that runs past the window, or holds two kinds, is taken as a secret (fail closed)."""
    label = "a Kubernetes Secret manifest"
    start = text.rfind("\n---", max(0, m.start() - _DOC_BACK), m.start())
    end = text.find("\n---", m.end(), m.end() + _DOC_AHEAD)
    if start < 0 and m.start() > _DOC_BACK or end < 0 and len(text) - m.end() > _DOC_AHEAD:
        return label
    doc = text[start + 1 if start >= 0 else 0:end if end >= 0 else len(text)]
    low = doc.lower()
    if "{{" in low or "${" in low:
        return None  # a template (a Helm chart): its values come later
    if low.count("kind:") > 1:
        return label
    values = _data_values(doc)
    return label if values is None or any(not _stands_in_k8s(value, base64) for value, base64 in values) else None


def _data_values(doc: str) -> list[tuple[str, bool]] | None:
    """Every (value, is base64) under data: and stringData:, or None when there is no such map
    or a value is not a plain scalar (a block `|`, a flow map): those count as real."""
    out, found = [], False
    at = doc.find("ata:")  # data: and stringData: (a str search is faster than the regex alone)
    while at >= 0:
        start, end = doc.rfind("\n", 0, at) + 1, doc.find("\n", at)
        end = len(doc) if end < 0 else end
        head, at = _DATA_KEY.fullmatch(doc, start, end), doc.find("ata:", end)
        if not head:
            continue
        found = True
        inline = head.group(3).split(" #")[0].strip()
        if inline and inline != "{}":
            return None
        indent = len(head.group(1))
        for child in doc[head.end() + 1:].split("\n"):
            if not child.strip() or child.lstrip().startswith("#"):
                continue
            if len(child) - len(child.lstrip()) <= indent:
                break
            entry = _ENTRY.match(child)
            value = (entry.group(2) or "").split(" #")[0].strip() if entry else "|"
            if value[:1] in ("|", ">", "{", "["):
                return None
            out.append((value.strip("\"'"), head.group(2) == "data"))
    return out if found else None


def _stands_in_k8s(value: str, encoded: bool) -> bool:
    decoded = _b64(value) if encoded else ""
    plain = decoded if decoded.isprintable() and decoded else value
    return not plain or v.is_placeholder(plain)
