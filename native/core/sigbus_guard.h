// Turning SIGBUS in kernel code into an error.
//
// Reading a page of a mapping that lies beyond the end of its file (the file was truncated while
// mapped) raises SIGBUS on the reading thread. Unhandled, that kills the process. GuardedRun() runs
// a function with a thread-local jump buffer armed; the process-wide handler installed by
// InstallSigbusHandler() jumps back (siglongjmp) when the faulting thread has one armed, and
// otherwise chains to the handler that was installed before it (or re-raises with the default
// action), so SIGBUS anywhere else behaves as it did before the addon was loaded.
//
// Rules for the guarded function: the jump skips its frames without running destructors, so it must
// not own objects with destructors, hold locks or allocate. Kernel loops over preallocated buffers
// satisfy this.
#pragma once

namespace diffai {

// Installs the handler once per process (idempotent, thread-safe).
void InstallSigbusHandler();

// Runs fn(arg). Returns false when a SIGBUS interrupted it (the function did not finish).
bool GuardedRun(void (*fn)(void*), void* arg);

}  // namespace diffai
