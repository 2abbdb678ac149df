"""A real single-node OpenSearch for tests and benchmarks (stdlib only).

The official integration-test distribution of OpenSearch is published on Maven Central as
``org.opensearch.distribution.integ-test-zip:opensearch:<VERSION>:zip``.  It has no bundled JDK,
no security plugin (plain HTTP, no auth) and only the ``transport-netty4`` module, so this module
adds the ``analysis-common`` module (published on Maven Central as
``org.opensearch.plugin:analysis-common:<VERSION>``) which provides ``cjk_bigram``, ``cjk_width``,
``edge_ngram``, the ``lowercase`` filter and friends.

* :func:`ensure_distribution` fetches both artifacts with ``mvn`` once and caches the zip, the jar
  and the unpacked home under ``<repo>/.local/opensearch/`` (see :func:`_cache_dir`); later calls never touch the network.
* :func:`start` runs one node bound to 127.0.0.1 with its config, data, logs and tmp in a fresh
  temporary directory and returns a :class:`Node` (``.url``, ``.stop()``, context manager).

OpenSearch refuses to run as root, so when this process is root the node runs as the user named
by ``CRM_OPENSEARCH_USER`` (default ``nobody``).

CLI::

    python -m devstack.opensearch fetch             # download + unpack only
    python -m devstack.opensearch run [--port N]    # start, print the URL, stop on Ctrl-C/SIGTERM
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pathlib
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import weakref
import zipfile

# Newest 2.x on Maven Central (3.x needs Java 21; the machine has Java 17).
VERSION = os.environ.get("CRM_OPENSEARCH_VERSION", "2.19.6")

REPO = pathlib.Path(__file__).resolve().parent.parent


def _cache_dir() -> pathlib.Path:
    """Where the distribution is cached: CRM_OPENSEARCH_CACHE, else <repo>/.local/opensearch —
    except as root, where the node runs as an unprivileged user who must be able to read the
    home; a clone under a private directory (/root/...) would not be, so the system temp
    directory is used instead."""
    if os.environ.get("CRM_OPENSEARCH_CACHE"):
        return pathlib.Path(os.environ["CRM_OPENSEARCH_CACHE"])
    if os.geteuid() == 0:
        return pathlib.Path(tempfile.gettempdir()) / "crm-opensearch"
    return REPO / ".local" / "opensearch"


CACHE = _cache_dir()

_DIST = "org.opensearch.distribution.integ-test-zip:opensearch:{v}:zip"
_ANALYSIS = "org.opensearch.plugin:analysis-common:{v}:jar"
_MVN_COPY = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy"
_READY = ".crm-ready"  # marker written last: the unpacked home is complete

# Loopback requests must never go through an HTTP proxy from the environment.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --------------------------------------------------------------------------- distribution


def _mvn_copy(artifact: str) -> None:
    """Copy one artifact from Maven Central (or ~/.m2 if already there) into CACHE."""
    mvn = shutil.which("mvn")
    if not mvn:
        raise RuntimeError("mvn not found on PATH; Maven is needed to fetch OpenSearch")
    cmd = [mvn, "-B", "-q", _MVN_COPY, f"-Dartifact={artifact}", f"-DoutputDirectory={CACHE}"]
    # cwd=CACHE: no pom.xml there, so Maven runs the goal without a project.
    done = subprocess.run(cmd, cwd=CACHE, capture_output=True, text=True)
    if done.returncode:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        raise RuntimeError(f"mvn failed to fetch {artifact}:\n{tail}")


def _unzip(zip_path: pathlib.Path, dest: pathlib.Path) -> None:
    """Unzip keeping the executable bits (zipfile drops them) and world-readable modes."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            target = pathlib.Path(zf.extract(info, dest))
            executable = info.is_dir() or (info.external_attr >> 16) & 0o111
            target.chmod(0o755 if executable else 0o644)


def _add_analysis_common(home: pathlib.Path, jar: pathlib.Path, version: str) -> None:
    """Install analysis-common as a module: its jar plus a plugin descriptor."""
    module = home / "modules" / "analysis-common"
    module.mkdir(mode=0o755)
    shutil.copy(jar, module / jar.name)
    (module / "plugin-descriptor.properties").write_text(
        "name=analysis-common\n"
        "description=Adds built-in analyzers (cjk, ngram, lowercase, ...) to OpenSearch\n"
        f"version={version}\n"
        f"opensearch.version={version}\n"
        "java.version=11\n"
        "classname=org.opensearch.analysis.common.CommonAnalysisPlugin\n"
    )
    for path in module.iterdir():
        path.chmod(0o644)


def ensure_distribution(version: str | None = None) -> pathlib.Path:
    """Return the unpacked OpenSearch home, fetching and unpacking it on first use."""
    version = version or VERSION
    home = CACHE / f"opensearch-{version}"
    if (home / _READY).exists():
        return home
    CACHE.mkdir(parents=True, exist_ok=True)
    CACHE.chmod(0o755)
    # One process fetches/unpacks at a time (e.g. parallel test workers).
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (home / _READY).exists():
            return home
        zip_path = CACHE / f"opensearch-{version}.zip"
        jar = CACHE / f"analysis-common-{version}.jar"
        if not zip_path.exists():
            _mvn_copy(_DIST.format(v=version))
        if not jar.exists():
            _mvn_copy(_ANALYSIS.format(v=version))
        # Unpack next to the final place, then rename: never a half-unpacked home.
        staging = pathlib.Path(tempfile.mkdtemp(prefix="unpack-", dir=CACHE))
        try:
            _unzip(zip_path, staging)
            _add_analysis_common(staging / home.name, jar, version)
            (staging / home.name / _READY).write_text(version + "\n")
            shutil.rmtree(home, ignore_errors=True)
            (staging / home.name).rename(home)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return home


# --------------------------------------------------------------------------- node


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _java_home() -> str:
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    java = shutil.which("java")
    if not java:
        raise RuntimeError("no JAVA_HOME and no java on PATH (OpenSearch 2.x needs Java 11+)")
    return str(pathlib.Path(java).resolve().parent.parent)  # <home>/bin/java -> <home>


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged account to run the node as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    return pwd.getpwnam(os.environ.get("CRM_OPENSEARCH_USER", "nobody"))


def _log_tail(path: pathlib.Path, lines: int = 40) -> str:
    """Last lines of the node's console output, without Java stack frames."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no output)"
    kept = [line for line in text if not line.lstrip().startswith("at ")]
    return "\n".join(kept[-lines:])


def _signal_group(pgid: int, sig: int) -> bool:
    """Send sig to the process group; False when the group no longer exists."""
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False


def _shutdown(proc: subprocess.Popen, workdir: pathlib.Path) -> None:
    """Terminate the node's process group, wait for it, remove its directory."""
    pgid = proc.pid  # start_new_session: the node leads its own group
    _signal_group(pgid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        _signal_group(pgid, signal.SIGKILL)
        proc.wait()
    # Stopped during launch, the script's helper JVMs may outlive it briefly.
    deadline = time.monotonic() + 10
    while _signal_group(pgid, 0) and time.monotonic() < deadline:
        time.sleep(0.1)
    _signal_group(pgid, signal.SIGKILL)
    shutil.rmtree(workdir, ignore_errors=True)


class Node:
    """A running OpenSearch node; stopped by ``stop()``, on leaving ``with``, or at exit."""

    def __init__(self, proc: subprocess.Popen, port: int, workdir: pathlib.Path):
        self.proc = proc
        self.pid = proc.pid  # the JVM itself: bin/opensearch execs java
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.workdir = workdir
        self._finalizer = weakref.finalize(self, _shutdown, proc, workdir)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        self._finalizer()  # runs at most once

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<OpenSearch node {self.url} pid={self.pid}>"


def _prepare_workdir(home: pathlib.Path, workdir: pathlib.Path, port: int, transport: int) -> None:
    """Private config (the node writes its keystore there), data, logs and tmp dirs."""
    shutil.copytree(home / "config", workdir / "config")
    for name in ("data", "logs", "tmp"):
        (workdir / name).mkdir()
    (workdir / "config" / "opensearch.yml").write_text(
        "cluster.name: crm-devstack\n"
        "node.name: crm-devstack\n"
        "network.host: 127.0.0.1\n"
        f"http.port: {port}\n"
        f"transport.port: {transport}\n"
        "discovery.type: single-node\n"  # also turns failed bootstrap checks into warnings
        f"path.data: {workdir / 'data'}\n"
        f"path.logs: {workdir / 'logs'}\n"
        # A nearly full disk must not turn test indices read-only.
        "cluster.routing.allocation.disk.threshold_enabled: false\n"
    )
    # jvm.options uses paths relative to the (shared, read-only) home: make them private.
    options = workdir / "config" / "jvm.options"
    options.write_text(
        options.read_text()
        .replace("file=logs/", f"file={workdir}/logs/")
        .replace("ErrorFile=logs/", f"ErrorFile={workdir}/logs/")
        .replace("HeapDumpPath=data", f"HeapDumpPath={workdir}/tmp")
    )


def start(port: int | None = None, heap: str = "512m", timeout: float = 180) -> Node:
    """Start one loopback-only node and wait until its cluster health is at least yellow."""
    home = ensure_distribution()
    if port:
        with socket.socket() as s:  # fail now rather than after the JVM has started
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the JVM does
            try:
                s.bind(("127.0.0.1", port))
            except OSError as exc:
                raise RuntimeError(f"port {port} on 127.0.0.1 is not free: {exc}") from None
    port = port or _free_port()
    transport = _free_port()
    while transport == port:
        transport = _free_port()
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="crm-opensearch-"))
    try:
        _prepare_workdir(home, workdir, port, transport)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise

    env = dict(os.environ)
    env.update(
        JAVA_HOME=_java_home(),
        OPENSEARCH_PATH_CONF=str(workdir / "config"),
        OPENSEARCH_TMPDIR=str(workdir / "tmp"),
        # Later options win over config/jvm.options; no pre-touch keeps RSS near real use.
        OPENSEARCH_JAVA_OPTS=f"-Xms{heap} -Xmx{heap} -XX:-AlwaysPreTouch",
        HOME=str(workdir),
    )
    user = _run_as()
    ids = {}
    if user:
        for path in [workdir, *workdir.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)
        ids = dict(user=user.pw_uid, group=user.pw_gid, extra_groups=[])

    console = workdir / "console.log"
    with open(console, "wb") as out:
        proc = subprocess.Popen(
            [str(home / "bin" / "opensearch")],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **ids,
        )
    node = Node(proc, port, workdir)

    health = f"{node.url}/_cluster/health?wait_for_status=yellow&timeout=1s"
    deadline = time.monotonic() + timeout
    while True:
        if not node.alive():
            problem = f"exited with code {proc.returncode}"
            break
        if time.monotonic() > deadline:
            problem = f"not healthy after {timeout:.0f}s"
            break
        try:
            with _HTTP.open(health, timeout=5) as response:
                if response.status == 200:
                    return node
        except (urllib.error.URLError, OSError):
            pass  # not listening yet, or 408 while the cluster is still forming
        time.sleep(0.2)
    tail = _log_tail(console)
    node.stop()
    raise RuntimeError(f"OpenSearch {problem} (port {port}); last output:\n{tail}")


# --------------------------------------------------------------------------- CLI


def _interrupt(*_) -> None:
    """SIGTERM handler: behave like Ctrl-C so the node is always stopped."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.opensearch", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="download and unpack the distribution only")
    run = sub.add_parser("run", help="start a node and keep it until Ctrl-C / SIGTERM")
    run.add_argument("--port", type=int, default=None)
    run.add_argument("--heap", default="512m")
    args = parser.parse_args(argv)

    if args.command == "fetch":
        print(ensure_distribution())
        return 0

    signal.signal(signal.SIGTERM, _interrupt)
    began = time.monotonic()
    with start(port=args.port, heap=args.heap) as node:
        print(
            f"OpenSearch {VERSION} at {node.url} (pid {node.pid}, started in {time.monotonic() - began:.1f}s); Ctrl-C to stop", flush=True
        )
        try:
            while node.alive():
                time.sleep(0.5)
            print("OpenSearch exited unexpectedly", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("stopping", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
