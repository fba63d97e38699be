//===- Subprocess.h - run a program and capture its output ------*- C++ -*-===//
//
// For tests of programs (llm-launch, a model binary): fork/exec with extra
// environment settings, stdout and stderr captured together, and a timeout
// after which the child's process group is killed.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TEST_RUNTIME_SUBPROCESS_H
#define LLMC_TEST_RUNTIME_SUBPROCESS_H

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace llmc::rt::testing {

/// What a finished program did.
struct RunResult {
  int exitCode = -1; ///< -1 when killed by a signal
  int signal = 0;
  std::string output; ///< stdout and stderr interleaved
  double seconds = 0;
  bool timedOut = false;
};

/// Runs `argv` with `env` added to (or, with an empty value and `unset`,
/// removed from) the current environment.
inline RunResult runProgram(const std::vector<std::string> &argv,
                            const std::vector<std::pair<std::string,
                                                        std::string>> &env = {},
                            double timeoutSeconds = 60,
                            const std::vector<std::string> &unset = {}) {
  RunResult result;
  int fds[2];
  if (::pipe(fds) != 0)
    return result;
  auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    for (const std::string &name : unset)
      ::unsetenv(name.c_str());
    for (const auto &[name, value] : env)
      ::setenv(name.c_str(), value.c_str(), 1);
    std::vector<char *> args;
    for (const std::string &a : argv)
      args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  char buf[4096];
  while (true) {
    double elapsed = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start)
                         .count();
    if (elapsed > timeoutSeconds) {
      result.timedOut = true;
      ::kill(-pid, SIGKILL);
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n <= 0)
      break;
    result.output.append(buf, size_t(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  if (WIFEXITED(status))
    result.exitCode = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result.signal = WTERMSIG(status);
  return result;
}

} // namespace llmc::rt::testing

#endif // LLMC_TEST_RUNTIME_SUBPROCESS_H
