//===- Launcher.cpp - llm-launch: N local ranks of one program ------------===//
//
// The supervision loop polls waitpid every few milliseconds rather than
// blocking in it, so forwarding a signal and the SIGKILL deadline need no
// signal-handler logic beyond setting a flag.
//
//===----------------------------------------------------------------------===//

#include "runtime/launch/Launcher.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace llmc::rt {

namespace {

volatile std::sig_atomic_t gStopSignal = 0;

extern "C" void onStopSignal(int sig) { gStopSignal = sig; }

bool parseRanks(const std::string &text, int &out) {
  if (text.empty() || text.size() > 6)
    return false;
  for (char c : text)
    if (c < '0' || c > '9')
      return false;
  out = std::atoi(text.c_str());
  return out >= 1;
}

std::string signalName(int sig) {
  const char *name = ::strsignal(sig);
  return std::string(name ? name : "signal") + " (signal " +
         std::to_string(sig) + ")";
}

/// One started rank.
struct Child {
  pid_t pid = -1;
  bool running = false;
  int status = 0;
};

} // namespace

std::string launchUsage() {
  return "usage: llm-launch -n N [--] BIN [ARGS...]\n"
         "\n"
         "Starts N processes of BIN on this node, one GPU each (device = "
         "local rank),\n"
         "with LLMC_RANK, LLMC_WORLD_SIZE, LLMC_LOCAL_RANK, "
         "LLMC_LOCAL_WORLD_SIZE and\n"
         "LLMC_NCCL_ID_FILE set; NCCL_NVLS_ENABLE=0 is added when unset. If a "
         "rank fails,\n"
         "the others are stopped (SIGTERM, then SIGKILL after "
         "LLMC_LAUNCH_GRACE_S,\n"
         "default 10 s) and llm-launch exits non-zero naming the rank.\n";
}

Expected<LaunchOptions> parseLaunchArgs(const std::vector<std::string> &args) {
  using E = Expected<LaunchOptions>;
  LaunchOptions o;
  if (const char *g = std::getenv("LLMC_LAUNCH_GRACE_S")) {
    char *end = nullptr;
    double v = std::strtod(g, &end);
    if (end == g || *end != '\0' || v < 0)
      return E::fromError(Status::error(std::string("LLMC_LAUNCH_GRACE_S='") +
                                        g + "' is not a number of seconds"));
    o.graceSeconds = v;
  }
  size_t i = 0;
  bool haveN = false;
  for (; i < args.size(); ++i) {
    const std::string &a = args[i];
    std::string value;
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "-h" || a == "--help") {
      o.help = true;
      return o;
    }
    if (a == "-n" || a == "--nproc" || a == "-np") {
      if (i + 1 >= args.size())
        return E::fromError(Status::error(a + " needs a number of ranks"));
      value = args[++i];
    } else if (a.rfind("--nproc=", 0) == 0) {
      value = a.substr(8);
    } else if (a.rfind("-n", 0) == 0 && a.size() > 2 && a[2] != '-') {
      value = a.substr(2);
    } else if (a.rfind("-", 0) == 0) {
      return E::fromError(Status::error("unknown option '" + a + "'"));
    } else {
      break;
    }
    if (!parseRanks(value, o.numRanks))
      return E::fromError(Status::error("-n needs a positive number of "
                                        "ranks, got '" +
                                        value + "'"));
    haveN = true;
  }
  if (!haveN)
    return E::fromError(Status::error("-n N (the number of ranks) is required"));
  o.command.assign(args.begin() + long(i), args.end());
  if (o.command.empty())
    return E::fromError(Status::error("no program to launch"));
  return o;
}

int runLaunch(const LaunchOptions &options, std::ostream &log) {
  // A private folder for the NCCL id: a fresh path per run, so no rank can
  // read a previous run's id.
  const char *tmpRoot = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmpRoot && *tmpRoot ? tmpRoot : "/tmp") + "/llmc-launch-XXXXXX";
  std::vector<char> dir(pattern.begin(), pattern.end());
  dir.push_back('\0');
  if (!::mkdtemp(dir.data())) {
    log << "llm-launch: error: cannot create a temporary folder " << pattern
        << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  std::string idFile = std::string(dir.data()) + "/nccl-id";

  struct sigaction sa {};
  sa.sa_handler = onStopSignal;
  sigemptyset(&sa.sa_mask);
  struct sigaction oldInt {}, oldTerm {}, oldHup {};
  ::sigaction(SIGINT, &sa, &oldInt);
  ::sigaction(SIGTERM, &sa, &oldTerm);
  ::sigaction(SIGHUP, &sa, &oldHup);
  gStopSignal = 0;

  std::string n = std::to_string(options.numRanks);
  bool nvlsSet = std::getenv("NCCL_NVLS_ENABLE") != nullptr;

  std::vector<Child> children(static_cast<size_t>(options.numRanks));
  std::vector<char *> argv;
  for (const std::string &a : options.command)
    argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);

  int failedRank = -1, exitCode = 0;
  auto stopOthers = [&](int sig) {
    for (const Child &c : children)
      if (c.running)
        ::kill(-c.pid, sig);
  };

  std::fflush(nullptr);
  log.flush();
  // Signals stay blocked across fork until the child has restored the
  // default handlers, so a SIGTERM sent right after the fork is not lost in
  // the launcher's handler.
  sigset_t stopSignals, oldMask;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGHUP);
  for (int r = 0; r < options.numRanks; ++r) {
    ::sigprocmask(SIG_BLOCK, &stopSignals, &oldMask);
    pid_t pid = ::fork();
    if (pid != 0)
      ::sigprocmask(SIG_SETMASK, &oldMask, nullptr);
    if (pid < 0) {
      log << "llm-launch: error: cannot start rank " << r << ": "
          << std::strerror(errno) << "\n";
      failedRank = r;
      exitCode = 1;
      break;
    }
    if (pid == 0) {
      ::setpgid(0, 0);
      ::sigaction(SIGINT, &oldInt, nullptr);
      ::sigaction(SIGTERM, &oldTerm, nullptr);
      ::sigaction(SIGHUP, &oldHup, nullptr);
      ::sigprocmask(SIG_SETMASK, &oldMask, nullptr);
      std::string rank = std::to_string(r);
      ::setenv("LLMC_RANK", rank.c_str(), 1);
      ::setenv("LLMC_WORLD_SIZE", n.c_str(), 1);
      ::setenv("LLMC_LOCAL_RANK", rank.c_str(), 1);
      ::setenv("LLMC_LOCAL_WORLD_SIZE", n.c_str(), 1);
      ::setenv("LLMC_NCCL_ID_FILE", idFile.c_str(), 1);
      if (!nvlsSet)
        ::setenv("NCCL_NVLS_ENABLE", "0", 1);
      ::execvp(argv[0], argv.data());
      std::fprintf(stderr, "llm-launch: rank %d: cannot run '%s': %s\n", r,
                   argv[0], std::strerror(errno));
      std::fflush(stderr);
      ::_exit(127);
    }
    // Also set in the parent, so a kill(-pid) right after fork reaches it.
    ::setpgid(pid, pid);
    children[size_t(r)].pid = pid;
    children[size_t(r)].running = true;
  }

  using Clock = std::chrono::steady_clock;
  bool stopping = failedRank >= 0;
  Clock::time_point killAt = Clock::now() +
                             std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(options.graceSeconds));
  bool killed = false;
  if (stopping)
    stopOthers(SIGTERM);
  int forwarded = 0;

  while (true) {
    bool anyRunning = false;
    for (size_t r = 0; r < children.size(); ++r) {
      Child &c = children[r];
      if (!c.running)
        continue;
      int status = 0;
      pid_t got = ::waitpid(c.pid, &status, WNOHANG);
      if (got == 0) {
        anyRunning = true;
        continue;
      }
      c.running = false;
      c.status = status;
      bool ok = got == c.pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
      // Ranks we stopped ourselves are consequences, not failures.
      if (ok || stopping)
        continue;
      failedRank = int(r);
      if (got != c.pid) {
        log << "llm-launch: rank " << r << " (pid " << c.pid
            << ") could not be waited for: " << std::strerror(errno) << "\n";
        exitCode = 1;
      } else if (WIFSIGNALED(status)) {
        log << "llm-launch: rank " << r << " (pid " << c.pid
            << ") was killed by " << signalName(WTERMSIG(status))
            << "; stopping the other ranks\n";
        exitCode = 128 + WTERMSIG(status);
      } else {
        log << "llm-launch: rank " << r << " (pid " << c.pid
            << ") exited with status " << WEXITSTATUS(status)
            << "; stopping the other ranks\n";
        exitCode = WEXITSTATUS(status);
      }
      log.flush();
      stopping = true;
      killAt = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(options.graceSeconds));
      stopOthers(SIGTERM);
    }
    if (!anyRunning)
      break;
    if (gStopSignal && !forwarded) {
      forwarded = gStopSignal;
      log << "llm-launch: received " << signalName(forwarded)
          << "; stopping every rank\n";
      log.flush();
      if (!stopping) {
        stopping = true;
        killAt = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(options.graceSeconds));
      }
      stopOthers(SIGTERM);
    }
    if (stopping && !killed && Clock::now() >= killAt) {
      killed = true;
      for (size_t r = 0; r < children.size(); ++r)
        if (children[r].running)
          log << "llm-launch: rank " << r << " did not stop within "
              << options.graceSeconds << " s; sending SIGKILL\n";
      stopOthers(SIGKILL);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  ::sigaction(SIGINT, &oldInt, nullptr);
  ::sigaction(SIGTERM, &oldTerm, nullptr);
  ::sigaction(SIGHUP, &oldHup, nullptr);
  // The folder is private to this run: remove whatever the ranks left in
  // it (the id file, or a partial one from a rank that was killed).
  if (DIR *d = ::opendir(dir.data())) {
    while (dirent *e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
        ::unlink((std::string(dir.data()) + "/" + e->d_name).c_str());
    ::closedir(d);
  }
  ::rmdir(dir.data());

  if (failedRank >= 0) {
    if (exitCode == 0)
      exitCode = 1;
    log << "llm-launch: error: rank " << failedRank << " of "
        << options.numRanks << " failed (exit status " << exitCode << ")\n";
    return exitCode;
  }
  if (forwarded) {
    log << "llm-launch: stopped by " << signalName(forwarded) << "\n";
    return 128 + forwarded;
  }
  return 0;
}

} // namespace llmc::rt
