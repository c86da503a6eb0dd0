"""Credentials-type files: sensitive by their name or place, whatever they hold.

Names are matched case-insensitively (`.ENV` is `.env`) and a symlink is judged by both its
own name and its target's, so a link called notes.txt that points at .env is still .env.
"""

from __future__ import annotations

import fnmatch
import os

# Globs on the file name, or (with a /) on the end of the path.
BUILTIN_PATHS = (
    # env files and generic secrets
    ".env*", "*.env", "*secret*", "*credential*", ".envrc", ".flaskenv",
    # configs and histories that hold passwords more often than not
    "database.yml", "wp-config.php", "sftp-config.json", ".ftpconfig", "rclone.conf", ".m2/settings.xml",
    ".*_history", "*.ovpn",
    # keys, certificates with keys, keystores
    "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore", "*.bks", "*.p8", "*.ppk", "*.kdbx", "*.kdb",
    "*.gpg", "*.pgp", "secring.*", "*.ovpn", "*.tpm",
    # SSH keys of every type (their .pub halves are public, see PUBLIC)
    "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", "id_xmss*", "*_rsa", "*_ed25519", "*_ecdsa", ".ssh/*",
    "*_key", "*-key.json", "*_key.json", "key.json", "age-key*", "sops/age/*", "*.age",
    # cloud and cluster credentials
    ".aws/credentials", ".aws/config", ".aws/sso/cache/*", ".config/gcloud/*", "*service-account*.json",
    "*service_account*.json", "client_secret*.json", ".azure/*", ".kube/config", "kubeconfig*", "*.kubeconfig",
    ".oci/config", ".s3cfg", ".boto", ".passwd-s3fs",
    # registries, package managers, VCS
    ".npmrc", ".yarnrc.yml", ".pypirc", ".netrc", "_netrc", ".git-credentials", ".docker/config.json",
    ".dockercfg", ".gem/credentials", ".cargo/credentials*", ".composer/auth.json", "auth.json",
    ".config/gh/hosts.yml", ".vault-token", ".terraformrc", "terraform.rc", ".m2/settings-security.xml",
    ".gradle/gradle.properties",
    # terraform state and variables
    "*.tfstate", "*.tfstate.*", "*.tfvars", "*.tfvars.json",
    # password files
    ".pgpass", ".my.cnf", ".htpasswd", "htpasswd", "*.htpasswd", "shadow", "gshadow", "master.key",
)
# Public halves and lists that only look like the above.
PUBLIC = ("*.pub", "known_hosts*", "authorized_keys*", "*.pem.pub", "*.crt", "*.cer")
# The broad globs (*secret*, *credential*) do not take source code and prose about secrets:
# their content is still scanned like any text.
BROAD = ("*secret*", "*credential*")
NOT_DATA = (".md", ".rst", ".txt", ".adoc", ".html", ".py", ".go", ".js", ".ts", ".rb", ".java", ".kt", ".rs",
            ".c", ".h", ".cpp", ".cs", ".php", ".lua", ".swift", ".ex", ".exs", ".scala", ".sh", ".vim", ".tsx", ".jsx")


def _hit(glob: str, name: str, path: str) -> bool:
    if "/" in glob:
        return fnmatch.fnmatchcase(path, "*/" + glob) or fnmatch.fnmatchcase(path, glob)
    return fnmatch.fnmatchcase(name, glob)


def match_path(path: str, globs: tuple[str, ...]) -> tuple[str, str] | None:
    """(the name that matched, the glob) for the first sensitive glob, or None."""
    for candidate in _forms(path):
        low = candidate.lower().replace("\\", "/")
        name = os.path.basename(low)
        if any(_hit(p, name, low) for p in PUBLIC):
            continue
        for glob in globs:
            if glob in BROAD and name.endswith(NOT_DATA):
                continue
            if _hit(glob.lower(), name, low):
                return os.path.basename(candidate), glob
    return None


def _forms(path: str) -> list[str]:
    """The path as given, expanded, and with symlinks resolved: any of them may be sensitive."""
    expanded = os.path.expanduser(path)
    forms = [path, expanded]
    try:
        real = os.path.realpath(expanded)
    except (OSError, ValueError):
        real = expanded
    if real != expanded:
        forms.append(real)
    return forms
