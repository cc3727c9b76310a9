#include "core/sigbus_guard.h"

#include <setjmp.h>
#include <signal.h>

#include <cstring>
#include <mutex>

namespace diffai {

namespace {

// initial-exec: the handler must not trigger lazy TLS allocation (not async-signal-safe). The
// variable is written by GuardedRun before any guarded read, on the same thread.
__attribute__((tls_model("initial-exec"))) thread_local sigjmp_buf* tl_jump = nullptr;

struct sigaction g_previous;

void Handler(int sig, siginfo_t* info, void* context) {
  sigjmp_buf* jump = tl_jump;
  if (jump != nullptr) {
    tl_jump = nullptr;
    siglongjmp(*jump, 1);
  }
  // Not ours: behave as if we were never installed.
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction != nullptr) {
      g_previous.sa_sigaction(sig, info, context);
      return;
    }
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
    return;
  }
  // Default action: restore it and return; the faulting instruction runs again and the kernel
  // delivers SIGBUS with the default disposition (terminate with a core dump).
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGBUS, &dfl, nullptr);
}

}  // namespace

void InstallSigbusHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = Handler;
    sigemptyset(&sa.sa_mask);
    // SA_NODEFER: SIGBUS stays unblocked while the handler runs, so the siglongjmp out of it (with
    // savemask 0, no syscall per guarded call) leaves the thread's signal mask as it was.
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigaction(SIGBUS, &sa, &g_previous);
  });
}

bool GuardedRun(void (*fn)(void*), void* arg) {
  sigjmp_buf buf;
  sigjmp_buf* volatile saved = tl_jump;
  if (sigsetjmp(buf, 0) != 0) {
    tl_jump = saved;
    return false;
  }
  tl_jump = &buf;
  fn(arg);
  tl_jump = saved;
  return true;
}

}  // namespace diffai
