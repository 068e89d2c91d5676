// Bad ecosystem files: every mistake is one line naming file:line (and the column when the
// parser knows it), and nothing of the file loads.
#include <gtest/gtest.h>

#include "base/json_limits.hpp"
#include "config/json_document.hpp"
#include "config/yaml_document.hpp"
#include "config_test_support.hpp"

namespace drove::config {
namespace {

using testing::corpus_dir;
using testing::error_of;
using testing::shell_in;
using testing::TempDir;

std::string load_error(const std::string& file, const LoadContext& context) {
  return error_of([&] { (void)load_ecosystem(file, nlohmann::json::object(), context); });
}

TEST(ConfigErrors, MalformedJsonNamesLineAndColumn) {
  EXPECT_EQ(load_error("bad/malformed.json", shell_in(corpus_dir())),
            "bad/malformed.json:6:7: syntax error while parsing object - unexpected string literal; expected '}'");
}

TEST(ConfigErrors, MalformedYamlNamesLineAndColumn) {
  EXPECT_EQ(load_error("bad/malformed.yml", shell_in(corpus_dir())),
            "bad/malformed.yml:4:4: end of sequence not found");
}

// Found by the ecosystem_yaml fuzz target: YAML takes any bytes, and quoting a value that holds
// invalid UTF-8 in a message threw nlohmann's type_error 316 instead of a ConfigError.
TEST(ConfigErrors, InvalidUtf8InAQuotedValueIsAConfigErrorNotACrash) {
  const auto context = shell_in(corpus_dir());
  const auto yaml_error = [&](const std::string& text) {
    return error_of([&] {
      const Document doc = parse_yaml_document(text, "bad.yml", context.cwd);
      (void)load_ecosystem_document(doc, nlohmann::json::object(), context);
    });
  };
  EXPECT_EQ(yaml_error("appsr.js\n erv\xff\xffxec_\xff"),
            "bad.yml: expected {apps: [...]}, a list of apps or one app, got \"appsr.js "
            "erv\xef\xbf\xbd\xef\xbf\xbdxec_\xef\xbf\xbd\"");
  EXPECT_NE(yaml_error("apps: \"\xfe\""), "");
  EXPECT_NE(yaml_error("apps:\n  - \"\xfe\"\n"), "");
  EXPECT_NE(yaml_error("apps:\n  - name: a\n    script: apps/server.js\n    instances: [\"\xc3\"]\n"), "");
  EXPECT_NE(yaml_error("apps:\n  - name: a\n    script: apps/server.js\n    listen: [{x: \"\xc3\"}]\n"), "");
}

// PM2 evaluates .json files as JavaScript: object literals load as they do there.
TEST(ConfigJson, JavaScriptObjectLiteralsInDotJsonLoadAsUnderPm2) {
  EXPECT_EQ(relax_js_literal(R"({"a": [1, 2.5e3, -1], "b": "x'y", "c": true, "d": null})"),
            R"({"a": [1, 2.5e3, -1], "b": "x'y", "c": true, "d": null})");  // JSON: unchanged
  EXPECT_EQ(relax_js_literal("{apps: [{name: 'a\"b', $x_1: 'it\\'s', n: 1e3,}, ], // c: 'd',\n}"),
            "{\"apps\": [{\"name\": \"a\\\"b\", \"$x_1\": \"it's\", \"n\": 1e3 }  ]  // c: 'd',\n}");
  const auto context = shell_in(corpus_dir());
  const Document doc = parse_json_document(
      "// process.json, written as PM2 users do\n{\n  apps: [{\n    name: 'api',\n    script: 'apps/server.js',\n"
      "    instances: 2,\n    env: {NODE_ENV: 'production',},\n  },],\n}\n",
      "process.json", context.cwd);
  const Loaded loaded = load_ecosystem_document(doc, nlohmann::json::object(), context);
  ASSERT_EQ(loaded.apps.size(), 1u);
  EXPECT_EQ(loaded.apps[0].name, "api");
  EXPECT_EQ(loaded.apps[0].instances, 2);
  EXPECT_EQ(loaded.apps[0].env.at("NODE_ENV"), "production");
  EXPECT_EQ(doc.locate("/apps/0/instances").line, 6);  // lines stay where they were
  // A bare word that is not a key is still an error, with its line.
  EXPECT_EQ(error_of([&] { (void)parse_json_document("{\n  a: undefined\n}", "u.json", "/"); }).rfind("u.json:2:", 0),
            0u);
}

// Found by the ecosystem_json fuzzer (regressions/ecosystem_json/comment-ended-by-nul): nlohmann
// ends a line comment at '\n', '\r' or NUL; the depth pre-scan and the position pass ended it
// at '\n' only, so they skipped code the parser read (the position pass then threw, and a deep
// nesting after "//\r" would have passed the depth limit).
TEST(ConfigJson, LineCommentsEndWhereTheParserEndsThem) {
  EXPECT_EQ(json_nesting_depth("// x\r[[[]]]"), 3u);
  EXPECT_EQ(json_nesting_depth(std::string("// x\0[[]]", 10)), 2u);
  const std::string deep = "{\"a\": 1 // hidden?\r, \"b\": " + std::string(100, '[') + std::string(100, ']') + "}";
  const std::string error = error_of([&] { (void)parse_json_document(deep, "d.json", "/"); });
  EXPECT_EQ(error.rfind("d.json:1:", 0), 0u) << error;
  EXPECT_NE(error.find("nested deeper than 64 levels"), std::string::npos) << error;
  const std::string nul_comment("{\n  // note\0 \"apps\": [{\"name\": \"a\", \"script\": \"apps/server.js\"}]\n}", 66);
  const auto context = shell_in(corpus_dir());
  const Document doc = parse_json_document(nul_comment, "n.json", context.cwd);
  const Loaded loaded = load_ecosystem_document(doc, nlohmann::json::object(), context);
  ASSERT_EQ(loaded.apps.size(), 1u);
  EXPECT_EQ(loaded.apps[0].name, "a");
  EXPECT_EQ(doc.locate("/apps/0/name").line, 2);
}

// Found by the ecosystem_json fuzzer (regressions/ecosystem_json/number-overflow): a number no
// double holds made nlohmann throw out_of_range, which escaped as something else than ConfigError.
TEST(ConfigErrors, NumberBeyondADoubleIsAConfigErrorWithItsLine) {
  const auto error =
      error_of([] { (void)parse_json_document("{\n  \"apps\": [\n    {\"instances\": 1e999}]}", "n.json", "/"); });
  EXPECT_EQ(error, "n.json:3:19: number out of range: 1e999");
}

// Found by the ecosystem_yaml fuzzer (regressions/ecosystem_yaml/name-from-script-with-leading-space.yml):
// a shell command starting with a space gives no name, and with no 'name' either the CLI
// dereferenced a missing option and crashed.
TEST(ConfigErrors, NoNameDerivableFromTheScriptIsAnErrorNotACrash) {
  const auto context = shell_in(corpus_dir());
  const std::string error = error_of([&] {
    const Document doc = parse_yaml_document("apps:\n  - script: \" echo hi && sleep 100\"\n", "s.yml", context.cwd);
    (void)load_ecosystem_document(doc, nlohmann::json::object(), context);
  });
  EXPECT_EQ(error, "s.yml:2: no name can be derived from 'script'; set 'name'");
}

// Found by the ecosystem_yaml fuzzer (tests/fuzz/regressions/ecosystem_yaml/multiline-config-error.yml):
// a key holding a NUL and a newline was quoted verbatim, so the "one-line" error spanned lines.
TEST(ConfigErrors, AnErrorQuotingANewlineStaysOneLine) {
  const auto context = shell_in(corpus_dir());
  const std::string text("kill_timeoutapps:\n - name: api\n\0\n   scri@pt: server.js\n YYYYYYYYYY: 2\n", 69);
  const std::string error = error_of([&] {
    const Document doc = parse_yaml_document(text, "odd\nname.yml", context.cwd);
    (void)load_ecosystem_document(doc, nlohmann::json::object(), context);
  });
  EXPECT_NE(error, "");
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_EQ(error.rfind("odd\\nname.yml", 0), 0u) << error;
  EXPECT_EQ(Diagnostic(SourceLocation{"f.yml", 3, 0}, "bad key \"a\nb\x01\"").str(), "f.yml:3: bad key \"a\\nb\\x01\"");
}

TEST(ConfigErrors, JsExceptionShowsItsMessageAndWhereItWasThrown) {
  EXPECT_EQ(load_error("bad/throws.config.js", shell_in(corpus_dir())),
            "bad/throws.config.js:2:33: Error: DATABASE_URL_FOR_DROVE_TEST is not set");
}

TEST(ConfigErrors, JsSyntaxErrorNamesTheLine) {
  EXPECT_EQ(load_error("bad/syntax.config.js", shell_in(corpus_dir())),
            "bad/syntax.config.js:3: SyntaxError: Unexpected identifier 'script'");
}

TEST(ConfigErrors, JsWithoutNodeSaysNodeIsRequired) {
  auto context = shell_in(corpus_dir());
  context.node_binary = "drove-test-no-node";
  EXPECT_EQ(load_error("ecosystem.config.js", context),
            "ecosystem.config.js: node is required to load .js ecosystem files, but 'drove-test-no-node' "
            "was not found in PATH");
}

TEST(ConfigErrors, JsThatExitsOrExportsNoAppsIsAnError) {
  TempDir tmp;
  tmp.write("exits.config.js", "console.error('bye'); process.exit(3);\n");
  tmp.write("number.config.js", "module.exports = 42;\n");
  EXPECT_EQ(load_error("exits.config.js", shell_in(tmp.path())),
            "exits.config.js: node exited with status 3 before producing the config: bye");
  EXPECT_EQ(load_error("number.config.js", shell_in(tmp.path())),
            "number.config.js: expected {apps: [...]}, a list of apps or one app, got 42");
}

TEST(ConfigErrors, MissingScriptNamesTheResolvedPathAndNothingLoads) {
  EXPECT_EQ(load_error("bad/missing-script.json", shell_in(corpus_dir())),
            "bad/missing-script.json:4: script not found: " + corpus_dir() + "/bad/does-not-exist.js");
}

TEST(ConfigErrors, DuplicateNamesInOneFile) {
  EXPECT_EQ(load_error("bad/duplicate-names.json", shell_in(corpus_dir())),
            "bad/duplicate-names.json:4: duplicate app name 'api' (first defined at line 2)");
}

TEST(ConfigErrors, WrongInstancesAsInTheManual) {
  EXPECT_EQ(load_error("bad/wrong-instances.json", shell_in(corpus_dir())),
            "bad/wrong-instances.json:4: 'instances' must be a number or \"max\", got \"abc\"");
}

TEST(ConfigErrors, UnreadableFile) {
  EXPECT_EQ(load_error("nope.json", shell_in(corpus_dir())), "nope.json: cannot read: No such file or directory");
  EXPECT_EQ(load_error("apps", shell_in(corpus_dir())), "apps: is a directory, not an ecosystem file");
}

TEST(ConfigWarnings, UnknownKeysAreWarningsWithSuggestionsAndTheAppStillLoads) {
  const Loaded loaded = load_ecosystem("bad/unknown-keys.yml", nlohmann::json::object(), shell_in(corpus_dir()));
  ASSERT_EQ(loaded.apps.size(), 1u);
  EXPECT_EQ(loaded.apps[0].max_restarts, 3);
  std::vector<std::string> messages;
  for (const auto& warning : loaded.warnings) messages.push_back(warning.str());
  EXPECT_EQ(messages, (std::vector<std::string>{
                          "bad/unknown-keys.yml:10: option 'vizion' has no effect in drove (ignored)",
                          "bad/unknown-keys.yml:12: unknown option 'instance' (did you mean 'instances'?)",
                          "bad/unknown-keys.yml:13: unknown option 'maxRestart' (did you mean 'maxRestarts'?)",
                          "bad/unknown-keys.yml:14: unknown option 'frobnicate'",
                      }));
}

TEST(ConfigWarnings, TwoSpellingsOfOneOptionKeepTheCanonicalOne) {
  TempDir tmp;
  tmp.write("app.js", "");
  tmp.write("ecosystem.json", "{\"script\": \"app.js\",\n \"out\": \"a.log\",\n \"out_file\": \"b.log\"}");
  const Loaded loaded = load_ecosystem("ecosystem.json", nlohmann::json::object(), shell_in(tmp.path()));
  EXPECT_EQ(loaded.apps[0].out_file, tmp.path() + "/b.log");
  ASSERT_EQ(loaded.warnings.size(), 1u);
  EXPECT_EQ(loaded.warnings[0].str(), "ecosystem.json:3: 'out_file' and 'out' set the same option; using 'out_file'");
}

// One option per case, written on line 3 of ecosystem.json next to a valid script.
struct BadOption {
  const char* key_and_value;
  std::string message;  // after "ecosystem.json:3: "
};

void PrintTo(const BadOption& bad, std::ostream* out) { *out << bad.key_and_value; }

class ConfigBadOption : public ::testing::TestWithParam<BadOption> {};

TEST_P(ConfigBadOption, IsAnErrorAtItsLine) {
  TempDir tmp;
  tmp.write("app.js", "");
  tmp.write("dir/.keep", "");
  tmp.write("ecosystem.json",
            std::string("{\"apps\": [{\n  \"script\": \"app.js\",\n  ") + GetParam().key_and_value + "\n}]}\n");
  std::string expected = GetParam().message;
  const std::string marker = "$TMP";
  if (auto at = expected.find(marker); at != std::string::npos) expected.replace(at, marker.size(), tmp.path());
  EXPECT_EQ(load_error("ecosystem.json", shell_in(tmp.path())), "ecosystem.json:3: " + expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConfigBadOption,
    ::testing::Values(
        BadOption{R"("instances": true)", R"('instances' must be a number or "max", got true)"},
        BadOption{R"("instances": 1.5)", R"('instances' must be a number or "max", got 1.5)"},
        BadOption{R"("autorestart": "yes")", R"('autorestart' must be true or false, got "yes")"},
        BadOption{R"("kill_timeout": "soon")",
                  R"('kill_timeout' must be a duration (milliseconds, or "500ms", "10s", "2m", "1h"), got "soon")"},
        BadOption{R"("minUptime": -5)",
                  R"('minUptime' must be a duration (milliseconds, or "500ms", "10s", "2m", "1h"), got -5)"},
        BadOption{R"("max_memory_restart": "lots")",
                  R"('max_memory_restart' must be a size (bytes, or "10K", "500M", "1G"), got "lots")"},
        BadOption{R"("exec_mode": "forky")", R"('exec_mode' must be "fork" or "cluster", got "forky")"},
        BadOption{R"("lb": "random")",
                  R"('lb' must be round-robin, shared, reuseport or least-connections, got "random")"},
        BadOption{R"("cron": "61 * * * *")",
                  "'cron' is not a valid cron expression: field 1 (minute): 61 is out of range 0-59"},
        BadOption{R"("env": "FOO=1")", R"('env' must be an object of variables, got "FOO=1")"},
        BadOption{R"("env_production": [1])", R"('env_production' must be an object of variables, got [1])"},
        BadOption{R"("port": 70000)", "'port' must be between 1 and 65535, got 70000"},
        BadOption{R"("max_restarts": -1)", "'max_restarts' must be between 0 and 1000000000, got -1"},
        BadOption{R"("name": 42)", "'name' must be a string, got 42"},
        BadOption{R"("args": {})", "'args' must be a string or an array of strings, got {}"},
        BadOption{R"("args": "--name 'open")", "'args' has an unterminated quote"},
        BadOption{R"("kill_signal": "SIGFOO")",
                  R"('kill_signal' must be a signal name such as "SIGTERM", got "SIGFOO")"},
        BadOption{R"("stop_exit_codes": ["x"])",
                  R"('stop_exit_codes' must be an exit code (0-255) or a list of them, got ["x"])"},
        BadOption{R"("instance_var": "1BAD")", R"('instance_var' must be a variable name, got "1BAD")"},
        BadOption{R"("log_type": "xml")", R"('log_type' must be "json" or "text", got "xml")"},
        BadOption{
            R"("listen": ["nonsense"])",
            R"('listen' entries must be a port, "host:port", a unix socket path or {address, port, name}, got "nonsense")"},
        BadOption{R"("filter_env": 3)", "'filter_env' must be a string or an array of strings, got 3"},
        BadOption{R"("cwd": "nowhere")", "cwd is not a directory: $TMP/nowhere"},
        BadOption{R"("interpreter": "/nonexistent/python")", "interpreter not found: /nonexistent/python"},
        BadOption{R"("uid": [0])", "'uid' must be a name or a number, got [0]"}));

TEST(ConfigErrors, ScriptProblemsPointAtTheScriptKey) {
  TempDir tmp;
  tmp.write("apps/.keep", "");
  tmp.write("dir.json", "[\n {\"name\": \"a\",\n  \"script\": \"apps\"}]");
  tmp.write("none.json", "[\n {\"name\": \"a\",\n  \"script\": \"nope.js\"}]");
  tmp.write("empty.json", "[\n {\"name\": \"a\",\n  \"script\": \"\"}]");
  EXPECT_EQ(load_error("dir.json", shell_in(tmp.path())), "dir.json:3: script is a directory: " + tmp.path() + "/apps");
  EXPECT_EQ(load_error("none.json", shell_in(tmp.path())), "none.json:3: script not found: " + tmp.path() + "/nope.js");
  EXPECT_EQ(load_error("empty.json", shell_in(tmp.path())), "empty.json:3: 'script' is empty");
}

TEST(ConfigErrors, ShapeProblems) {
  TempDir tmp;
  tmp.write("neither.json", "{\"apps\": [\n  {\"instances\": 2}\n]}");
  tmp.write("noscript.yml", "apps:\n  - name: api\n    instances: 2\n");
  tmp.write("notalist.json", "{\"apps\": 3}");
  tmp.write("notanobject.json", "[\n  1\n]");
  tmp.write("empty.json", "[]");
  tmp.write("empty.yml", "");
  EXPECT_EQ(load_error("neither.json", shell_in(tmp.path())), "neither.json:2: app has neither 'script' nor 'name'");
  EXPECT_EQ(load_error("noscript.yml", shell_in(tmp.path())), "noscript.yml:2: app 'api' has no 'script'");
  EXPECT_EQ(load_error("notalist.json", shell_in(tmp.path())), "notalist.json:1: 'apps' must be a list of apps, got 3");
  EXPECT_EQ(load_error("notanobject.json", shell_in(tmp.path())),
            "notanobject.json:2: app #1 must be an object, got 1");
  EXPECT_EQ(load_error("empty.json", shell_in(tmp.path())), "empty.json: no apps defined");
  EXPECT_EQ(load_error("empty.yml", shell_in(tmp.path())),
            "empty.yml: expected {apps: [...]}, a list of apps or one app, got nothing");
}

TEST(ConfigErrors, YamlValueErrorsNameTheLine) {
  TempDir tmp;
  tmp.write("app.js", "");
  tmp.write("ecosystem.yaml", "apps:\n  - script: app.js\n    # comment\n    max_memory_restart: 1T\n");
  EXPECT_EQ(load_error("ecosystem.yaml", shell_in(tmp.path())),
            R"(ecosystem.yaml:4: 'max_memory_restart' must be a size (bytes, or "10K", "500M", "1G"), got "1T")");
}

}  // namespace
}  // namespace drove::config

namespace drove::config {
namespace {

TEST(ConfigWarnings, LinesStayRightAfterAByteOrderMark) {
  testing::TempDir tmp;
  tmp.write("app.js", "");
  tmp.write("ecosystem.json", "\xEF\xBB\xBF{\"apps\": [\n {\"script\": \"app.js\",\n  \"instance\": 2}]}");
  const Loaded loaded = load_ecosystem("ecosystem.json", nlohmann::json::object(), testing::shell_in(tmp.path()));
  ASSERT_EQ(loaded.warnings.size(), 1u);
  EXPECT_EQ(loaded.warnings[0].str(), "ecosystem.json:3: unknown option 'instance' (did you mean 'instances'?)");
}

}  // namespace
}  // namespace drove::config
