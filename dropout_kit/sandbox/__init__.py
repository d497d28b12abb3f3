"""The bubblewrap sandbox in which grading starts every learner's kernel.

API (the grading executor's)::

    from dropout_kit import sandbox
    sandbox.require()                       # SandboxUnavailable, naming the remedy, if bwrap cannot run
    with sandbox.start_kernel(workdir, sandbox.Policy(read_only=(data,))) as k:
        k.client                            # a ready BlockingKernelClient; k.manager for nbclient
        k.interrupt(); k.is_alive(); k.findings; k.log_tail(4096)
    # leaving the block (or k.stop()) kills everything the sandbox started

``Policy(isolate=False)`` (``--no-sandbox``) starts a plain local kernel through the same API:
no namespaces, no limits, the grader's environment less its secrets. It needs no bwrap.

What the sandbox isolates, and how
----------------------------------
- File system: an allow-list. bwrap builds a new root from read-only binds of /usr, /bin,
  /sbin, /lib*, the loader's cache, /etc/alternatives and the time zone; Python's base install
  (``sys.base_prefix``) and the venv (``sys.prefix``); the ``dropout_kit`` folder at its own
  path (``PYTHONPATH`` is its parent, which inside holds nothing else, so the kernel imports
  exactly the grader's package); and read-only folders the caller names (``Policy.read_only``:
  a dataset, a dataset cache). ``Policy.hidden`` files (a quiz key in the package) read as
  empty, hidden folders as empty; /usr/share/datasets (Debian's datasets, FashionMNIST's test
  labels among them) is always hidden unless ``read_only`` names a folder in it. Writable:
  the learner's folder (``workdir``, the kernel's cwd: a tmpfs of ``Limits.work_bytes`` holding
  read-only binds of what the host's ``workdir`` holds, the notebook), a private tmpfs on /tmp
  (and one on /dev/shm) of ``Limits.tmp_bytes`` each, with ``HOME=/tmp/home``, and the folder of
  the kernel's socket files. Nothing the learner writes reaches the host's disk. Nothing else of the host
  exists inside: not the repository (``solutions/``), the grading workspace (gradebook, other
  learners), /root (beyond the path to the Python install), the host's /tmp, /home, /sys,
  /etc/hosts, resolv.conf or /etc/ssl. The new root and /dev are remounted read-only.
- Network: a network namespace of its own with only a loopback; no host name resolves. The
  grader talks to the kernel over ZeroMQ IPC socket files in a private folder (outside
  workdir), with the connection file beside them.
- Processes: a PID namespace of its own (the kernel is pid 2 and sees only the sandbox's
  processes; it cannot signal the grader), a new session (no TIOCSTI into the grader's terminal,
  CVE-2017-5226), ``--die-with-parent``. ``stop()`` SIGKILLs the namespace's init, and the Linux
  kernel then ends every process in the namespace, including any the learner detached with
  setsid or a double fork (tested).
- Privileges: a user namespace in which the kernel is uid 1000 ``learner`` (passwd and group
  files of its own) with every capability dropped, ``no_new_privs`` set, and no nested user
  namespace (``--disable-userns``, used where bwrap supports it, as bwrap 0.8 does as root).
- Environment: emptied (``--clearenv``), then PATH, HOME, USER, LOGNAME, LANG, TMPDIR,
  PYTHONPATH, PYTHONDONTWRITEBYTECODE=1, OMP_NUM_THREADS / OMP_WAIT_POLICY if the grader sets
  them, and ``Policy.env`` (which refuses DROPOUT_COURSE_DB_URL, PGPASSWORD, PGPASSFILE,
  DATABASE_URL). MPLBACKEND is unset, so ipykernel uses its inline backend.

Limits (``Limits``; defaults fit an honest lesson), and what happens at each
---------------------------------------------------------------------------
The launcher (``launch.py``) joins the cgroups and sets the rlimits, then execs bwrap, so every
process of the sandbox inherits them; soft = hard, so none can be raised.

- ``memory_bytes`` (4 GiB): the whole sandbox's memory (anonymous memory, page cache, tmpfs
  files) in a cgroup (v2 ``memory.max``, or v1 ``memory.limit_in_bytes``) where this process may
  create one. At the limit the kernel's OOM killer kills the largest process, normally the
  kernel; the finding says "memory: the sandbox reached its limit ...". Without a writable
  memory cgroup a host watchdog sums the processes' proportional set sizes every 0.1 s and
  kills the sandbox above the limit (tmpfs files are then bounded by the tmpfs sizes only).
  A lesson's work (FashionMNIST, the course's MLP trained on 5,000 images for 3 epochs, a plot)
  peaked at 677 MiB in the memory cgroup and 14 processes + threads with 2 torch threads
  (``python benchmarks/sandbox_overhead.py --lesson``; max RSS 901 MiB counts torch's
  libraries, whose pages the host had already cached and charged elsewhere).
- ``address_space_bytes`` (16 GiB): RLIMIT_AS of each process; torch alone reserves ~3.4 GB of
  address space. Past it an allocation fails: MemoryError in the cell, the kernel survives.
- ``processes`` (256): processes plus threads of the whole sandbox (ipykernel runs ~10 threads
  and torch one per core unless OMP_NUM_THREADS says otherwise): cgroup ``pids.max`` where
  available, forks past it fail with EAGAIN (BlockingIOError) and the finding counts the
  refusals. Otherwise the watchdog counts the tasks in the sandbox's PID namespace every 0.1 s
  (stopping at the limit, so a fork bomb cannot slow the count) and kills the whole sandbox;
  the sandbox may overshoot for that interval. RLIMIT_NPROC is not used: Linux does not apply
  it to processes whose real uid is root, which the sandbox's are when the grader is root.
- ``file_bytes`` (64 MiB): RLIMIT_FSIZE, for every file written, including the kernel's log.
  A write past it fails with EFBIG ("File too large"); SIGXFSZ is ignored so nobody is killed.
- ``tmp_bytes`` (256 MiB): size of the tmpfs on /tmp and of the one on /dev/shm; ENOSPC past it.
- ``open_files`` (1024): RLIMIT_NOFILE; EMFILE past it. RLIMIT_CORE is 0: no core files.
- The kernel's own stdout and stderr (C-level writes, ``os.write(2, ...)``, subprocesses) go to
  a log file in the private folder, capped by ``file_bytes``; ipykernel's capture of them into
  the notebook is off. ``log_tail()`` reads its end (bounded); the finding "output: the kernel's
  log reached its limit ..." tells that it filled.

``findings`` lists the limits reached (cgroup counters, the watchdog's kills, the log's size);
the kernel's death itself is seen as ``is_alive()`` False.

What is NOT defended
--------------------
- CPU time: nothing limits it here; the caller's wall-clock timeouts (per cell, per notebook)
  end a job that spins. The kernel may use every core.
- Anything the learner's code returns to the grader: outputs and messages are data to judge,
  never code to trust (the grading design's probe / judge split). IOPub output is not capped
  by the sandbox.
- Linux kernel exploits (the sandbox shares the host's kernel; no seccomp filter is applied),
  side channels (timing, /proc/cpuinfo, host-wide figures in /proc such as loadavg and
  meminfo), and reading files in the read-only trees (the venv, Python, /usr): the sandbox's
  uid maps to the grader's, so it reads what the grader can read there.
- ``isolate=False`` defends nothing: the learner's code runs as the grader.

Overhead
--------
Measured with ``python benchmarks/sandbox_overhead.py`` (9 kernels of each kind, alternating,
on a shared 2-core machine, so noisy): start-to-ready 1.61 s sandboxed vs 1.50 s plain
(1.07x); a small cell's round trip 4.7 ms vs 7.9 ms (0.59x: the sandbox's IPC sockets are
faster than the plain kernel's TCP); stop 87 ms vs 52 ms.
"""

from dropout_kit.errors import SandboxError, SandboxUnavailable
from dropout_kit.sandbox.cells import CellResult, KernelDiedError, run_cell
from dropout_kit.sandbox.kernel import SandboxedKernel, start_kernel
from dropout_kit.sandbox.policy import Limits, Policy
from dropout_kit.sandbox.support import available, require

__all__ = ["available", "require", "Limits", "Policy", "start_kernel", "SandboxedKernel", "run_cell",
           "CellResult", "SandboxError", "SandboxUnavailable", "KernelDiedError"]
