"""Run moto_server with one request applied at a time, and a Secrets Manager
as strict as AWS where codexgate's token store depends on it.

Serial requests: moto applies a DynamoDB conditional write as
read-check-write without a lock, so its threaded server can grant one lease
to two holders at once, which real DynamoDB never does (single-item writes
are atomic there). This wraps moto's WSGI application in a lock: connections
stay threaded (HTTP/1.1 keep-alive, as moto_server runs by default), but
requests are applied one after another. An unthreaded server would instead
answer HTTP/1.0 and close every connection, which under load loses answers
the SDK then retries.

Deprecated versions: on AWS a version that carries no staging label is
deprecated. DescribeSecret's VersionIdsToStages lists only versions with at
least one label, and ListSecretVersionIds leaves deprecated versions out
unless IncludeDeprecated is true; GetSecretValue(VersionId) still reads them.
moto lists them everywhere; here DescribeSecret and ListSecretVersionIds
answer as AWS does. (ListSecrets' SecretVersionsToStages is left as moto
has it.)

Stale reads, opt-in per secret: AWS documents no read-after-write guarantee
for GetSecretValue of AWSCURRENT after the label moves. For a secret whose
name contains "stale-reads", GetSecretValue without VersionId (VersionStage
AWSCURRENT or none) answers with the version that was AWSCURRENT before the
last move (its VersionId, value and stages as they were then) for
CODEXGATE_MOTO_STALE_SECONDS (default 3) after each move, by
UpdateSecretVersionStage, PutSecretValue, UpdateSecret, CreateSecret or
RotateSecret; then with the version that holds AWSCURRENT. Reads by
VersionId or by another stage, and DescribeSecret, stay exact. Tests of the
refresh protocol name their secrets so; every other secret behaves as in
plain moto (including its quirk that a GetSecretValue without stage keeps
returning the version that was current before an UpdateSecretVersionStage).

Stage moves to a version that does not exist: moto takes AWSCURRENT off
the old version before it finds the new one missing, and leaves the secret
with no current version; AWS refuses the call and changes nothing. Here
UpdateSecretVersionStage checks MoveToVersionId first, as AWS does.

Arguments are moto_server's (-H HOST -p PORT).
"""
import copy
import functools
import json
import os
import sys
import threading
import time

import moto.server as server
from moto.secretsmanager.exceptions import ResourceNotFoundException
from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend
from moto.secretsmanager.responses import SecretsManagerResponse

_run_simple = server.run_simple
_lock = threading.Lock()


def _serial(hostname, port, application, *args, **kwargs):
    def locked(environ, start_response):
        with _lock:
            return list(application(environ, start_response))

    return _run_simple(hostname, port, locked, *args, **kwargs)


server.run_simple = _serial

# --- Deprecated (unlabelled) versions -------------------------------------

_describe_secret = SecretsManagerResponse.describe_secret
_list_secret_version_ids = SecretsManagerResponse.list_secret_version_ids


def _describe_labelled(self):
    body = json.loads(_describe_secret(self))
    stages = body.get("VersionIdsToStages")
    if stages is not None:
        body["VersionIdsToStages"] = {v: s for v, s in stages.items() if s}
    return json.dumps(body)


def _list_versions_labelled(self):
    body = json.loads(_list_secret_version_ids(self))
    if not self._get_bool_param("IncludeDeprecated", False):
        body["Versions"] = [v for v in body["Versions"] if v["VersionStages"]]
    return json.dumps(body)


SecretsManagerResponse.describe_secret = _describe_labelled
SecretsManagerResponse.list_secret_version_ids = _list_versions_labelled

# --- Stale AWSCURRENT reads on secrets named *stale-reads* ----------------

STALE_MARKER = "stale-reads"
STALE_SECONDS = float(os.environ.get("CODEXGATE_MOTO_STALE_SECONDS") or 3)


def _marked(backend, secret_id):
    """Return the FakeSecret secret_id names if it opted in, else None."""
    if not secret_id:
        return None
    secret = backend.secrets.get(secret_id)
    if isinstance(secret, FakeSecret) and STALE_MARKER in secret.name:
        return secret
    return None


def _current_id(secret):
    for version_id, version in secret.versions.items():
        if "AWSCURRENT" in version["version_stages"]:
            return version_id
    return None


def _tracks_current(method):
    """Wrap a backend method that may move AWSCURRENT: when it does on a
    marked secret, keep the version that held it, as it was, for a while."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        secret_id = kwargs.get("secret_id", kwargs.get("name"))
        if secret_id is None and args:
            secret_id = args[0]
        secret = _marked(self, secret_id)
        before = _current_id(secret) if secret is not None else None
        snapshot = copy.deepcopy(secret.versions[before]) if before else None
        result = method(self, *args, **kwargs)
        if snapshot is not None and self.secrets.get(secret_id) is secret:
            if _current_id(secret) != before:
                secret.codexgate_stale = (snapshot, time.monotonic() + STALE_SECONDS)
        return result

    return wrapper


def _checks_target(method):
    """Wrap update_secret_version_stage: a MoveToVersionId that does not
    exist is refused before anything moves."""

    @functools.wraps(method)
    def wrapper(self, secret_id, version_stage, remove_from_version_id, move_to_version_id):
        secret = self.secrets.get(secret_id)
        if secret is not None and move_to_version_id and move_to_version_id not in secret.versions:
            raise ResourceNotFoundException("Secrets Manager can't find the specified secret version.")
        return method(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)

    return wrapper


SecretsManagerBackend.update_secret_version_stage = _checks_target(
    SecretsManagerBackend.update_secret_version_stage
)

for _name in (
    "create_secret",
    "update_secret",
    "put_secret_value",
    "update_secret_version_stage",
    "rotate_secret",
):
    setattr(
        SecretsManagerBackend,
        _name,
        _tracks_current(getattr(SecretsManagerBackend, _name)),
    )

_get_secret_value = SecretsManagerBackend.get_secret_value


def _get_secret_value_stale(self, secret_id, version_id, version_stage):
    secret = _marked(self, secret_id)
    if secret is None or version_id or version_stage not in (None, "", "AWSCURRENT"):
        return _get_secret_value(self, secret_id, version_id, version_stage)
    # By label, not moto's default version: after the window a marked
    # secret reads what AWS would.
    out = _get_secret_value(self, secret_id, None, "AWSCURRENT")
    stale = getattr(secret, "codexgate_stale", None)
    if stale is None or time.monotonic() >= stale[1]:
        return out
    old = stale[0]
    out = {k: v for k, v in out.items() if k not in ("SecretString", "SecretBinary")}
    out["VersionId"] = old["version_id"]
    out["VersionStages"] = list(old["version_stages"])
    out["CreatedDate"] = old["createdate"]
    for key, field in (("secret_string", "SecretString"), ("secret_binary", "SecretBinary")):
        if key in old:
            out[field] = old[key]
    return out


SecretsManagerBackend.get_secret_value = _get_secret_value_stale

server.main(sys.argv[1:])
