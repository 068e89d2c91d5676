// Validation of `cron_restart` expressions, so a typo fails at `start` rather than never
// firing. Accepts what PM2's cron library accepts: 5 fields (minute hour day month weekday) or
// 6 (seconds first), `*`, `a-b`, `*/n`, `a-b/n`, lists, month and day names, and the @ macros.
#pragma once

#include <optional>
#include <string>

namespace drove::config {

// nullopt when valid, else why not ("field 2 (hour): 25 is out of range 0-23").
std::optional<std::string> cron_syntax_error(const std::string& expression);

}  // namespace drove::config
