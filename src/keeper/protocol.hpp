// The keeper's wire protocol (keeper.hpp): fixed 32-byte records on a SOCK_SEQPACKET socketpair,
// each carrying at most one descriptor (SCM_RIGHTS). No JSON, no lengths to trust: a record is
// the right size with the right magic and protocol number, or the connection is over.
//
//   daemon → keeper   hold(token, pid, start) + fd   keep a duplicate of fd under token
//                     drop(token)                    close it
//                     bye                            the daemon ends for good (drove kill): when
//                                                    it exits, close everything and exit
//                     ready                          it took everything over and serves: a death
//                                                    after this is not a crash loop
//   keeper → daemon   held(token, pid, start) + fd   one per descriptor kept, at connection
//                     held_end(count)                every held record was sent
//                     exited(pid, wait status)       a child of the keeper (an app whose daemon
//                                                    died) was reaped
//
// `pid` and `start` (its start time in clock ticks since boot, /proc/<pid>/stat field 22) name
// the process a descriptor belongs to, so that a daemon that lost its state can still find the
// process behind every descriptor and check it is the same one.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "base/unique_fd.hpp"

namespace drove::keeper {

inline constexpr std::uint32_t kMagic = 0x4b455052;  // "KEPR"
// Bumped whenever a record changes meaning; a daemon and a keeper that differ refuse each other.
inline constexpr std::uint16_t kProtocol = 1;
// The descriptor number the keeper gives the daemon its end of the socketpair on.
inline constexpr int kDaemonFd = 3;
// A daemon exit status that asks the keeper to start the daemon again at once (`drove update`:
// the binary on disk takes over everything the keeper holds).
inline constexpr int kHandOverStatus = 75;  // EX_TEMPFAIL

enum class Op : std::uint16_t {
  hold = 1,
  drop = 2,
  bye = 3,
  ready = 4,
  held = 10,
  held_end = 11,
  exited = 12,
};

struct Record {
  std::uint32_t magic = kMagic;
  std::uint16_t protocol = kProtocol;
  Op op = Op::hold;
  std::uint64_t token = 0;
  std::int64_t a = 0;  // hold/held: pid; held_end: count; exited: pid
  std::int64_t b = 0;  // hold/held: start time; exited: wait status
};
static_assert(sizeof(Record) == 32);

// Sends one record (with `fd` when >= 0). Blocking; MSG_NOSIGNAL. False on any failure.
bool send_record(int sock, const Record& record, int fd = -1);

enum class Received { record, eof, again, bad };
// Receives one record and its descriptor (close-on-exec). `bad`: wrong size, magic or protocol,
// or more than one descriptor (every descriptor received is closed).
Received receive_record(int sock, Record& record, UniqueFd& fd, bool nonblocking);

}  // namespace drove::keeper
