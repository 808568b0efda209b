"""pyfork: the reference Python environment with its heavy libraries imported once.

The test suite runs hundreds of short reference scripts, and each fresh interpreter spends most of its
time importing torch, transformers and sentence-transformers (8-14 s of CPU each on the 2-core CI
machine). `pyfork.py serve` imports them once and then, for every run, forks a child that executes the
script exactly as `python script.py args...` would: the caller's argv, environment, working directory
and standard input/output/error (the file descriptors themselves, passed over a Unix socket), the
script's folder first on sys.path, its exit status. Nothing is simulated: the child is the real
interpreter with the real libraries, only their import is shared.

A run falls back to a fresh interpreter (the client execs the real python) when its environment differs
from the server's in a variable read at import time (HF_*, TRANSFORMERS_*, TORCH*, OMP_*, HOME,
PYTHON*, ...), when it uses interpreter options other than -u/-B, or when the server is unreachable.

    python pyfork.py serve SOCKET PID         start the server (it exits when process PID does)
    python -S pyfork.py run PYTHON SOCKET ARG...   what `python ARG...` does, through the server

scripts/pyfork.sh starts a server and prints the path of a `python` launcher that runs `run`: set
EMBEDTUNE_PYTHON to it. EMBEDTUNE_PYFORK=off turns it off; PYFORK_DEBUG=1 makes each run say on stderr whether
it was forked or got a fresh interpreter (and why). Only the standard library is imported by the `run` side.
"""

import json
import os
import select
import signal
import socket
import struct
import sys

# Environment variables that libraries read when they are imported: a run whose values differ from the
# server's must start a fresh interpreter.
IMPORT_TIME_PREFIXES = (
    "HF_", "HUGGINGFACE", "TRANSFORMERS", "SENTENCE_TRANSFORMERS", "TORCH", "PYTORCH", "CUDA", "NVIDIA",
    "OMP_", "MKL", "KMP_", "OPENBLAS", "NUMEXPR", "TOKENIZERS", "SAFETENSORS", "ACCELERATE", "PEFT",
    "PYTHON", "LD_", "XDG_", "HOME", "LANG", "LC_", "TZ", "NO_PROXY", "HTTP_PROXY", "HTTPS_PROXY",
    "http_proxy", "https_proxy", "no_proxy", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE",
)

PRELOAD = ("numpy", "torch", "safetensors.torch", "tokenizers", "transformers", "sentence_transformers", "peft")


def import_time_diff(env, base):
    """The first import-time variable whose value differs between env and base, or None."""
    for k in sorted(set(env) | set(base)):
        if k.startswith(IMPORT_TIME_PREFIXES) and env.get(k) != base.get(k):
            return k
    return None


def parse_argv(argv):
    """Splits python's command line into (options, mode, target, rest); mode is None when unsupported."""
    opts = []
    i = 0
    while i < len(argv) and argv[i] in ("-u", "-B"):
        opts.append(argv[i])
        i += 1
    if i >= len(argv) or argv[i] == "-":
        return opts, None, None, None
    a = argv[i]
    if a in ("-c", "-m"):
        if i + 1 >= len(argv):
            return opts, None, None, None
        return opts, a[1], argv[i + 1], argv[i + 2:]
    if a.startswith("-"):
        return opts, None, None, None
    return opts, "script", a, argv[i + 1:]


# --- the client: standard library only, started for every run ---------------------------------------

def run(real_python, sock_path, argv):
    def fallback(why):
        if os.environ.get("PYFORK_DEBUG"):
            print(f"pyfork: fresh interpreter ({why})", file=sys.stderr)
        os.execv(real_python, [real_python] + argv)

    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(sock_path)
    except OSError as e:
        fallback(f"server {sock_path}: {e}")
    payload = json.dumps({"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}).encode()
    socket.send_fds(s, [struct.pack("!I", len(payload))], [0, 1, 2])
    s.sendall(payload)
    f = s.makefile("rb")
    line = f.readline().decode().split(" ", 1)
    if line[0] == "fallback":
        s.close()
        fallback(line[1].strip())
    if line[0] != "started":
        print("pyfork: the server did not start the run", file=sys.stderr)
        os._exit(1)
    if os.environ.get("PYFORK_DEBUG"):
        print(f"pyfork: forked (pid {line[1].strip()})", file=sys.stderr, flush=True)

    def forward(sig, _frame):
        try:
            s.sendall(f"signal {sig}\n".encode())
        except OSError:
            pass

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, forward)
    while True:
        line = f.readline().decode().split()  # a forwarded signal interrupts and resumes it (PEP 475)
        if not line:
            print("pyfork: the server went away before the run ended", file=sys.stderr)
            os._exit(1)
        if line[0] == "exit":
            code = int(line[1])
            if code < 0:  # the run was killed by signal -code: so is this process, as the caller expects
                signal.signal(-code, signal.SIG_DFL)
                os.kill(os.getpid(), -code)
                code = 128 - code
            os._exit(code)


# --- the server ---------------------------------------------------------------------------------------

def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError("client closed the connection")
        buf += chunk
    return buf


def serve(sock_path, watch):
    """Imports the libraries, then forks a supervisor per request. Returns only in the child that must run a
    script: (request, descriptors)."""
    import importlib
    base_env = dict(os.environ)  # what the imports saw
    for name in PRELOAD:
        importlib.import_module(name)
    # What the imports changed in os.environ (torch sets KMP_DUPLICATE_LIB_OK, for one): a fresh interpreter's
    # imports would do the same to the caller's environment.
    set_by_imports = {k: v for k, v in os.environ.items() if base_env.get(k) != v}
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped automatically
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    srv.bind(sock_path + ".tmp")
    os.rename(sock_path + ".tmp", sock_path)  # appears only when ready
    srv.listen(64)
    srv.settimeout(2)
    sys.stdout.flush()
    sys.stderr.flush()
    while True:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            try:
                os.kill(watch, 0)
            except ProcessLookupError:  # the test run that started us is gone
                os._exit(0)
            continue
        conn.settimeout(None)
        fds = []
        try:
            head, fds, _, _ = socket.recv_fds(conn, 4, 3)
            if len(head) != 4 or len(fds) != 3:
                raise EOFError("malformed request")
            req = json.loads(recv_exact(conn, struct.unpack("!I", head)[0]))
        except (OSError, EOFError, ValueError):
            for fd in fds:
                os.close(fd)
            conn.close()
            continue
        opts, mode, target, _ = parse_argv(req["argv"])
        why = import_time_diff(req["env"], base_env)
        print("fallback" if why or mode is None else "fork", why or "-", mode, target, flush=True)
        if why or mode is None:
            reason = f"{why} differs from the server's" if why else "interpreter options"
            for fd in fds:
                os.close(fd)
            try:
                conn.sendall(f"fallback {reason}\n".encode())
            except OSError:
                pass
            conn.close()
            continue
        if os.fork() == 0:
            srv.close()
            child = supervise(conn, fds)
            if child:
                req["env"].update(set_by_imports)
                return req, child
            os._exit(0)
        for fd in fds:
            os.close(fd)
        conn.close()


def supervise(conn, fds):
    """In the supervisor: forks the runner and reports its exit status. Returns the descriptors in the
    runner, None in the supervisor when done."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    pid = os.fork()
    if pid == 0:
        conn.close()
        os.setpgid(0, 0)
        return fds
    for fd in fds:
        os.close(fd)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass
    conn.sendall(f"started {pid}\n".encode())
    pending = b""
    while True:
        r, _, _ = select.select([conn], [], [], 0.05)
        if r:
            data = conn.recv(256)
            if not data:  # the client was killed: so is its run
                kill_group(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return None
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                parts = line.split()
                if len(parts) == 2 and parts[0] == b"signal":
                    kill_group(pid, int(parts[1]))
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)  # -N: killed by signal N
            try:
                conn.sendall(f"exit {code}\n".encode())
            except OSError:
                pass
            return None


def kill_group(pid, sig):
    try:
        os.killpg(pid, sig)
    except OSError:
        pass


def become(req, fds):
    """In the runner: takes the caller's descriptors, directory and environment, and runs its command line
    like the interpreter would."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    import tempfile
    tempfile.tempdir = None
    opts, mode, target, rest = parse_argv(req["argv"])
    if "-u" in opts:
        sys.stdout.reconfigure(write_through=True)
        sys.stderr.reconfigure(write_through=True)
    if "-B" in opts:
        sys.dont_write_bytecode = True
    import runpy
    if mode == "script":
        sys.argv = [target] + rest
        sys.path[0] = os.path.dirname(os.path.abspath(target))
        # The script's globals are dropped on return: what it left open is closed (and flushed) now.
        runpy.run_path(target, run_name="__main__").clear()
    elif mode == "m":
        sys.argv = ["-m"] + rest
        sys.path[0] = os.getcwd()
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    else:
        sys.argv = ["-c"] + rest
        sys.path[0] = ""
        import types
        main = types.ModuleType("__main__")
        sys.modules["__main__"] = main
        try:
            exec(compile(target, "<string>", "exec"), main.__dict__)
        finally:
            main.__dict__.clear()


def finish(req, fds):
    """Runs the request in the runner and ends it as the interpreter would: the exit status of SystemExit,
    1 and the traceback (from the script's frames) for an uncaught exception, non-daemon threads joined,
    atexit functions run, standard streams flushed. What it skips is tearing down the imported modules (about
    2 s for torch's), whose only effect would be the process's memory given back."""
    import atexit
    import threading
    code = 0
    try:
        become(req, fds)
    except SystemExit as e:
        code = exit_code(e)
    except BaseException as e:  # noqa: BLE001: reported like the interpreter does
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename in (__file__, "<frozen runpy>"):
            tb = tb.tb_next
        sys.excepthook(type(e), e.with_traceback(tb), tb)
        code = 130 if isinstance(e, KeyboardInterrupt) else 1
    try:
        threading._shutdown()
        atexit._run_exitfuncs()
    except SystemExit as e:
        code = exit_code(e)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001: a closed pipe, as at interpreter exit
            pass
    return code


def exit_code(e):
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code
    print(e.code, file=sys.stderr)
    return 1


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif len(sys.argv) == 4 and sys.argv[1] == "serve":
        req, fds = serve(sys.argv[2], int(sys.argv[3]))
        os._exit(finish(req, fds))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
