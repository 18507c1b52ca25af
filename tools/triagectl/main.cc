// triagectl: the command-line client for staff and administrators.
//
//   triagectl [--server HOST:PORT] [--token T] [--ca CA.pem [--cert C --key K]] [--json]
//             COMMAND ...
//   triagectl submit --reporter child --category grooming --description "..."
//   triagectl submit --file report.json        # protobuf JSON of SubmitReportRequest
//   triagectl show REPORT_ID
//   triagectl audit [--report ID] [--principal P] [--since T] [--until T] [--limit N]
//   triagectl admin add-token --credentials-file F --principal P --role R
//   triagectl admin verify-audit [--anchor SEQ:HASH ...]
//   triagectl admin rotate-key | keys
//   triagectl admin backup | backups | verify-backup ID      (server's --backup_dir)
//   triagectl admin restore --backup-dir D --data-dir X [--backup-id N] [--audit-anchor-file A]
//   triagectl admin purge [--dry-run] [--closed-before T]   (server's --retention)
//   triagectl generate [--out FILE] [--shift TYPE:PERCENT@YYYY-MM-DD ...]   # synthetic data
//   triagectl [--ca CA.pem --server-name NAME] health     # exit 0 only when SERVING
//
// Exit codes: 0 ok, 1 other error, 2 usage, 3 rejected or not found, 4 unavailable,
// 5 audit trail broken or backup damaged.
#include <grpcpp/grpcpp.h>
#include <openssl/rand.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "safeguarding/triage/v1/intake.grpc.pb.h"
#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"
#include "tools/triagectl/admin_commands.h"
#include "tools/triagectl/connection.h"
#include "tools/triagectl/desk_commands.h"
#include "tools/triagectl/enum_names.h"
#include "tools/triagectl/generate.h"
#include "tools/triagectl/health_command.h"
#include "tools/triagectl/import_command.h"
#include "tools/triagectl/render.h"
#include "tools/triagectl/stats_commands.h"

namespace {

namespace v1 = ::safeguarding::triage::v1;
using safeguarding::tools::ConnectionOptions;
using safeguarding::tools::EnumFlagNames;
using safeguarding::tools::NewCallContext;
using safeguarding::tools::OpenChannel;
using safeguarding::tools::ParseEnumFlag;
using safeguarding::tools::ReadFileOrStdin;
using safeguarding::tools::RenderJson;
using safeguarding::tools::ReportCallError;
using safeguarding::tools::UsageError;

constexpr int kExitUsage = 2;

struct Options {
  ConnectionOptions connection;
  bool json = false;
};

// Flags of `submit`, kept as text until the request is assembled.
struct SubmitFlags {
  std::string file;
  std::string request_id;
  std::string reporter;
  std::string role;
  std::optional<int> age;
  std::vector<std::string> categories;
  std::vector<std::string> channels;
  std::string platform;
  std::string region;
  bool immediate_danger = false;
  bool ongoing_contact = false;
  bool planned_meeting = false;
  std::string description;
  std::string description_file;
  std::string contact_name, contact_email, contact_phone;
};

std::string NewRequestId() {  // a random (version 4) UUID
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("no randomness for request id");
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return absl::StrFormat("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                         b[12], b[13], b[14], b[15]);
}

template <typename Enum>
Enum EnumOrUsage(const google::protobuf::EnumDescriptor* type, const std::string& text,
                 const char* flag) {
  std::optional<int> v = ParseEnumFlag(type, text);
  if (!v) {
    throw UsageError(absl::StrFormat("--%s: unknown value '%s' (one of: %s)", flag, text,
                                     absl::StrJoin(EnumFlagNames(type), ", ")));
  }
  return static_cast<Enum>(*v);
}

v1::SubmitReportRequest BuildSubmitRequest(const SubmitFlags& f) {
  v1::SubmitReportRequest request;
  if (!f.file.empty()) {
    auto status = google::protobuf::util::JsonStringToMessage(ReadFileOrStdin(f.file), &request);
    if (!status.ok()) {
      throw UsageError(absl::StrFormat("--file %s: not a SubmitReportRequest in JSON: %s", f.file,
                                       status.message().as_string()));
    }
  } else {
    v1::ReportSubmission& s = *request.mutable_report();
    if (!f.reporter.empty()) {
      s.mutable_reporter()->set_type(
          EnumOrUsage<v1::ReporterType>(v1::ReporterType_descriptor(), f.reporter, "reporter"));
    }
    if (!f.role.empty()) {
      s.mutable_reporter()->set_professional_role(
          EnumOrUsage<v1::ProfessionalRole>(v1::ProfessionalRole_descriptor(), f.role, "role"));
    }
    if (!f.contact_name.empty() || !f.contact_email.empty() || !f.contact_phone.empty()) {
      v1::ContactDetails& c = *s.mutable_reporter()->mutable_contact();
      c.set_name(f.contact_name);
      c.set_email(f.contact_email);
      c.set_phone(f.contact_phone);
    }
    if (f.age) s.set_child_age(*f.age);
    for (const auto& c : f.categories) {
      s.add_categories(
          EnumOrUsage<v1::ConcernCategory>(v1::ConcernCategory_descriptor(), c, "category"));
    }
    for (const auto& c : f.channels) {
      s.add_channels(EnumOrUsage<v1::Channel>(v1::Channel_descriptor(), c, "channel"));
    }
    s.set_platform(f.platform);
    s.set_region(f.region);
    s.set_immediate_danger(f.immediate_danger);
    s.set_ongoing_contact(f.ongoing_contact);
    s.set_planned_meeting(f.planned_meeting);
    s.set_description(f.description_file.empty() ? f.description
                                                 : ReadFileOrStdin(f.description_file));
  }
  if (!f.request_id.empty()) request.set_request_id(f.request_id);
  if (request.request_id().empty()) request.set_request_id(NewRequestId());
  return request;
}

int RunSubmit(const Options& g, const SubmitFlags& f) {
  v1::SubmitReportRequest request = BuildSubmitRequest(f);
  auto stub = v1::ReportIntake::NewStub(OpenChannel(g.connection));
  v1::SubmitReportResponse response;
  grpc::Status status = stub->SubmitReport(NewCallContext(g.connection).get(), request, &response);
  if (!status.ok()) {
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
      std::fprintf(stderr, "triagectl: retry with --request-id %s so it is stored only once\n",
                   request.request_id().c_str());
    }
    return ReportCallError(status);
  }
  if (g.json) {
    // stdout stays the response; the request id (needed to retry safely) goes to stderr.
    std::fprintf(stderr, "request id: %s\n", request.request_id().c_str());
    std::cout << RenderJson(response);
  } else {
    std::cout << safeguarding::tools::RenderSubmitted(response, request.request_id());
  }
  return 0;
}

int RunShow(const Options& g, const std::string& report_id) {
  auto stub = v1::TriageDesk::NewStub(OpenChannel(g.connection));
  v1::GetReportRequest request;
  request.set_report_id(report_id);
  v1::Report report;
  grpc::Status status = stub->GetReport(NewCallContext(g.connection).get(), request, &report);
  if (!status.ok()) return ReportCallError(status);
  std::cout << (g.json ? RenderJson(report) : safeguarding::tools::RenderReport(report));
  return 0;
}

// The flags before the subcommand: where the server is, how to authenticate, the output.
void AddGlobalFlags(CLI::App& app, Options& g) {
  ConnectionOptions& c = g.connection;
  if (const char* env = std::getenv("TRIAGECTL_SERVER"); env != nullptr && *env != '\0') {
    c.server = env;
  }
  if (const char* env = std::getenv("TRIAGECTL_TOKEN"); env != nullptr) c.token = env;
  app.add_option("--server", c.server, "server address host:port (env TRIAGECTL_SERVER)")
      ->capture_default_str();
  app.add_option("--token", c.token,
                 "bearer token (env TRIAGECTL_TOKEN; prefer the variable: arguments are "
                 "visible to other users in ps)");
  app.add_option("--ca", c.ca_file, "CA certificate (PEM) to verify the server: use TLS");
  app.add_option("--cert", c.cert_file, "client certificate (PEM) for mutual TLS");
  app.add_option("--key", c.key_file, "client private key (PEM) for mutual TLS");
  app.add_option("--server-name", c.server_name,
                 "TLS: the name the server's certificate must have, when it is not the "
                 "--server host (e.g. a health check on 127.0.0.1)");
  app.add_flag("--json", g.json, "print replies as protobuf JSON");
  app.add_option("--timeout", c.timeout_seconds, "deadline per call, in seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

CLI::App* AddSubmitCommand(CLI::App& app, SubmitFlags& f) {
  CLI::App* submit = app.add_subcommand("submit", "submit a report (flags, or --file JSON)");
  CLI::Option* file =
      submit->add_option("--file", f.file, "SubmitReportRequest as protobuf JSON ('-' = stdin)");
  submit->add_option("--request-id", f.request_id,
                     "idempotency key; reuse it to retry safely (default: a new UUID)");
  submit->add_option("--reporter", f.reporter, "child | parent-carer | professional | other-adult");
  submit->add_option("--role", f.role,
                     "for professionals: teacher | social-worker | health | police | other");
  submit->add_option("--age", f.age, "age of the child, 0-17");
  submit->add_option("--category", f.categories,
                     "grooming | sexual-extortion | indecent-images | live-streamed-abuse | "
                     "contact-abuse | inappropriate-content | other (repeatable)");
  submit->add_option("--channel", f.channels,
                     "social-media | online-chat | online-gaming | streaming | messaging | "
                     "offline | other (repeatable)");
  submit->add_option("--platform", f.platform, "app, game or site involved");
  submit->add_option("--region", f.region, "area, e.g. a police force area");
  submit->add_flag("--immediate-danger", f.immediate_danger, "a child is in danger now");
  submit->add_flag("--ongoing-contact", f.ongoing_contact, "the suspect is still in contact");
  submit->add_flag("--planned-meeting", f.planned_meeting, "a meeting has been planned");
  auto* description = submit->add_option("--description", f.description, "what happened");
  submit
      ->add_option("--description-file", f.description_file,
                   "read the description from a file ('-' = stdin)")
      ->excludes(description);
  submit->add_option("--contact-name", f.contact_name, "reporter's name (optional)");
  submit->add_option("--contact-email", f.contact_email, "reporter's e-mail (optional)");
  submit->add_option("--contact-phone", f.contact_phone, "reporter's phone (optional)");
  // A file is the whole report: field flags beside it would be silently ignored.
  for (CLI::Option* option : submit->get_options()) {
    const std::string& name = option->get_name();
    if (option != file && name != "--request-id" && name != "--help") file->excludes(option);
  }
  return submit;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"triagectl: staff and admin client of the safeguarding triage service"};
  app.require_subcommand(1);
  Options g;
  AddGlobalFlags(app, g);
  SubmitFlags f;
  CLI::App* submit = AddSubmitCommand(app, f);

  std::string report_id;
  CLI::App* show = app.add_subcommand("show", "show one report");
  show->add_option("report_id", report_id, "report reference from submit")->required();

  safeguarding::tools::DeskCommands desk(app);
  safeguarding::tools::AdminCommands admin(app);
  safeguarding::tools::GenerateCommand generate(app);
  safeguarding::tools::StatsCommands stats(app);
  safeguarding::tools::ImportCommand import(app);
  safeguarding::tools::HealthCommand health(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e);
    return kExitUsage;
  }

  try {
    if (submit->parsed()) return RunSubmit(g, f);
    if (show->parsed()) return RunShow(g, report_id);
    if (desk.parsed()) return desk.Run(g.connection, g.json);
    if (admin.parsed()) return admin.Run(g.connection, g.json);
    if (generate.parsed()) return generate.Run();
    if (stats.parsed()) return stats.Run(g.connection, g.json);
    if (import.parsed()) return import.Run(g.connection, g.json);
    if (health.parsed()) return health.Run(g.connection);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "triagectl: %s\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "triagectl: %s\n", e.what());
    return 1;
  }
  return kExitUsage;
}
