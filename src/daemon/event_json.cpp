#include "daemon/event_json.hpp"

#include "process/exit_status.hpp"

namespace drove::daemon {
namespace {

namespace ev = supervisor::events;

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;  // clang 14 has no aggregate CTAD

}  // namespace

nlohmann::json event_json(const supervisor::Event& event) {
  nlohmann::json out = {{"id", event.id}, {"name", event.name}, {"pid", event.pid}, {"at", event.at_ms}};
  std::visit(Overloaded{
                 [&out](const ev::Spawn& e) {
                   out["event"] = "spawn";
                   out["pid"] = e.pid;
                   out["incoming"] = e.incoming;
                 },
                 [&out](const ev::Exit& e) {
                   out["event"] = "exit";
                   out["pid"] = e.pid;
                   out["code"] = e.code;
                   out["signal"] = e.signal ? process::signal_name(e.signal) : "";
                   out["uptime_ms"] = e.uptime_ms;
                 },
                 [&out](const ev::StateChanged& e) {
                   out["event"] = "state";
                   out["status"] = supervisor::to_string(e.status);
                 },
                 [&out](const ev::Listening& e) {
                   out["event"] = "listening";
                   out["address"] = e.address ? nlohmann::json(*e.address) : nlohmann::json();
                   out["port"] = e.port;
                 },
                 [&out](const ev::BindError& e) {
                   out["event"] = "bind_error";
                   out["key"] = e.key;
                   out["errno"] = e.negative_errno;
                 },
                 [&out](const ev::Message& e) {
                   out["event"] = "message";
                   out["data"] = e.data;
                 },
                 [&out](const ev::Restart& e) {
                   out["event"] = "restart";
                   out["reason"] = e.reason;
                 },
                 [&out](const ev::Deleted&) { out["event"] = "delete"; },
                 [&out](const ev::StartFailed& e) {
                   out["event"] = "start_failed";
                   out["error"] = e.error;
                 },
                 [&out](const ev::ReloadFailed& e) {
                   out["event"] = "reload_failed";
                   out["error"] = e.error;
                 },
                 [&out](const ev::Scaled& e) {
                   out["event"] = "scale";
                   out["action"] = e.action;
                   out["from"] = e.from;
                   out["to"] = e.to;
                   out["metric"] = e.metric;
                   out["value"] = e.value;
                   out["target"] = e.target;
                   out["reason"] = e.reason;
                 },
             },
             event.data);
  return out;
}

}  // namespace drove::daemon
