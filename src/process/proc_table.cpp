#include "process/proc_table.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/unique_fd.hpp"

namespace drove::process {
namespace {

long page_size() {
  static const long size = ::sysconf(_SC_PAGESIZE);
  return size;
}

bool read_stat(pid_t pid, ProcEntry& out) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  char buf[1024];
  const ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return false;
  buf[n] = '\0';
  return ProcTable::parse_stat(buf, out);
}

}  // namespace

std::uint64_t start_ticks_of(pid_t pid) {
  ProcEntry entry;
  return read_stat(pid, entry) ? entry.start_ticks : 0;
}

long clock_ticks_per_second() {
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  return ticks;
}

bool ProcTable::parse_stat(const char* text, ProcEntry& out) {
  // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
  //  stime cutime cstime priority nice threads itrealvalue starttime vsize rss ..."
  // comm may contain spaces and parentheses: the fields resume after the LAST ')'.
  out.pid = static_cast<pid_t>(std::strtol(text, nullptr, 10));
  const char* close = std::strrchr(text, ')');
  if (!close || close[1] == '\0') return false;
  const char* p = close + 2;  // the state field
  std::uint64_t fields[24] = {};
  // fields[0] is state (skipped), then 1: ppid, 2: pgrp, ... 11: utime, 12: stime,
  // 17: num_threads, 19: starttime, 21: rss.
  ++p;  // skip state char
  for (int i = 1; i < 24 && *p; ++i) {
    while (*p == ' ') ++p;
    char* end = nullptr;
    fields[i] = std::strtoull(p, &end, 10);
    if (end == p) break;
    p = end;
  }
  out.ppid = static_cast<pid_t>(fields[1]);
  out.pgid = static_cast<pid_t>(fields[2]);
  out.cpu_ticks = fields[11] + fields[12];
  out.threads = static_cast<std::uint32_t>(fields[17]);
  out.start_ticks = fields[19];
  out.rss_bytes = fields[21] * static_cast<std::uint64_t>(page_size());
  return out.pid > 0;
}

ProcTable ProcTable::snapshot() {
  ProcTable table;
  DIR* dir = ::opendir("/proc");
  if (!dir) return table;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    ProcEntry e;
    if (!read_stat(static_cast<pid_t>(std::atoi(entry->d_name)), e)) continue;
    table.children_.emplace(e.ppid, e.pid);
    table.entries_.emplace(e.pid, e);
  }
  ::closedir(dir);
  return table;
}

Footprint footprint_of(pid_t pid) {
  Footprint out;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/statm", static_cast<int>(pid));
  if (UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC)); fd) {
    char buf[256];
    if (const ssize_t n = ::read(fd.get(), buf, sizeof buf - 1); n > 0) {
      buf[n] = '\0';
      unsigned long long size = 0, resident = 0, shared = 0;
      if (std::sscanf(buf, "%llu %llu %llu", &size, &resident, &shared) == 3 && resident >= shared)
        out.private_bytes = (resident - shared) * static_cast<std::uint64_t>(page_size());
    }
  }
  std::snprintf(path, sizeof path, "/proc/%d/fd", static_cast<int>(pid));
  // Linux 6.2 and later give the count as the directory's size: one stat() instead of a listing.
  struct stat st {};
  if (::stat(path, &st) == 0 && st.st_size > 0) {
    out.fds = static_cast<std::uint32_t>(st.st_size);
  } else if (DIR* dir = ::opendir(path)) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') ++out.fds;
    }
    ::closedir(dir);
  }
  return out;
}

std::vector<ProcEntry> ProcTable::tree(pid_t root) const {
  std::vector<ProcEntry> out;
  auto it = entries_.find(root);
  if (it == entries_.end()) return out;
  out.push_back(it->second);
  for (size_t i = 0; i < out.size(); ++i) {
    auto [begin, end] = children_.equal_range(out[i].pid);
    for (auto c = begin; c != end; ++c) {
      if (auto child = entries_.find(c->second); child != entries_.end()) out.push_back(child->second);
    }
  }
  return out;
}

const ProcEntry* ProcTable::find(pid_t pid) const {
  auto it = entries_.find(pid);
  return it == entries_.end() ? nullptr : &it->second;
}

TurnProcTable::TurnProcTable(uv_loop_t* loop) : prepare_(UvHandle<uv_prepare_t>::make()) {
  uv_prepare_init(loop, prepare_.get());
  prepare_->data = this;
  uv_prepare_start(prepare_.get(), [](uv_prepare_t* h) {
    if (auto* self = static_cast<TurnProcTable*>(h->data)) self->table_.reset();
  });
  uv_unref(prepare_.handle());
}

const ProcTable& TurnProcTable::get() {
  if (!table_) table_.emplace(ProcTable::snapshot());
  return *table_;
}

}  // namespace drove::process
