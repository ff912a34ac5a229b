// escape_jobs.hpp — a job that really tries to get out of its sandbox (tests/integration/sandbox_test.cpp).
#pragma once

#include <isolate/isolate.hpp>

#include <nlohmann/json.hpp>

#include <string>

namespace isolate::test {

/// Input {"try": WHAT, "path": P, "port": N}; tries WHAT and returns "ok" (with what it read, for
/// "read" and "list": "ok:<bytes>") or the errno name it failed with ("EACCES", ...). WHAT:
/// write, create (O_CREAT|O_EXCL), read, list, remove, rename, truncate, chmod, mkdir, symlink
/// (P: file or directory); connect (TCP to 127.0.0.1:N), connect-unix (to the socket P), udp (send
/// to 127.0.0.1:N); fork, vfork, spawn (posix_spawn /bin/true), exec (/bin/true), ptrace
/// (PTRACE_ATTACH to the parent), unshare (CLONE_NEWNS), setuid, mount (tmpfs on P), bpf,
/// signal-parent (SIGKILL to getppid()), ignore-sigsys-then-fork, block-sigsys-then-fork,
/// thread (starts 4 threads that each compute; "ok:<sum>"), raise-rlimit (RLIMIT_DATA to
/// unlimited), sysv-shm (shmget 1 MiB), ignore-sigxcpu, tiocsti (types a key on stdout),
/// raise-cpu-rlimit (RLIMIT_CPU to unlimited; "no limit to raise" if it has none),
/// disarm-cpu-limit (ignores and blocks SIGXCPU, deletes every POSIX timer, raises RLIMIT_CPU's
/// soft limit to the hard one; "ok"), outlast-cpu-limit (disarm-cpu-limit, then spins for ever),
/// cpu-limit-state ("handled:H blocked:B timers:N": SIGXCPU's handler, mask, timers sending it),
/// forge-pool-answers (for 1.5 s writes a forged answer into every pool control record it can
/// reach; "ok:<pages written through>").
/// A call the sandbox kills for never returns.
extern Job<nlohmann::json, std::string> escape_attempt;

}  // namespace isolate::test
