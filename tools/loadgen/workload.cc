#include "tools/loadgen/workload.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/triagectl/generate.h"

namespace safeguarding::loadgen {
namespace {

namespace v1 = ::safeguarding::triage::v1;

constexpr absl::string_view kNames[] = {"health",  "submit",  "get",    "claim",  "cycle",
                                        "volumes", "compare", "shifts", "import", "mix"};
static_assert(std::size(kNames) == std::size(kAllMethods));

[[nodiscard]] absl::Status CheckToken(absl::string_view name, absl::string_view token) {
  for (char ch : token) {
    if (ch <= 0x20 || ch >= 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " has characters a token cannot have (spaces, newlines?)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view MethodName(Method method) { return kNames[static_cast<size_t>(method)]; }

std::optional<Method> ParseMethod(absl::string_view name) {
  for (Method m : kAllMethods) {
    if (MethodName(m) == name) return m;
  }
  return std::nullopt;
}

absl::StatusOr<Mix> Mix::Parse(absl::string_view text) {
  Mix mix;
  int total = 0;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    const std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(part, ':');
    std::optional<Method> method = ParseMethod(kv.first);
    int weight = 0;
    const auto error = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("--mix part '", part, "': ", why));
    };
    if (!method || *method == Method::kMix) {
      return error(
          "the method is not one of health, submit, get, claim, cycle, volumes, "
          "compare, shifts, import");
    }
    if (!absl::SimpleAtoi(kv.second, &weight) || weight < 1 || weight > 1000) {
      return error("the weight is a whole number from 1 to 1000 (METHOD:WEIGHT)");
    }
    if (std::any_of(mix.parts_.begin(), mix.parts_.end(),
                    [&](const auto& p) { return p.first == *method; })) {
      return error("the method is already in the mix");
    }
    total += weight;
    mix.parts_.emplace_back(*method, total);
  }
  return mix;
}

Mix Mix::Only(Method method) {
  Mix mix;
  mix.parts_.emplace_back(method, 1);
  return mix;
}

Method Mix::For(int64_t n) const {
  const int64_t slot = n % parts_.back().second;
  for (const auto& [method, running_total] : parts_) {
    if (slot < running_total) return method;
  }
  return parts_.back().first;
}

std::vector<Method> Mix::methods() const {
  std::vector<Method> methods;
  for (const auto& part : parts_) methods.push_back(part.first);
  return methods;
}

const std::string& Tokens::For(Method method) const {
  switch (method) {
    case Method::kSubmit:
      return intake;
    case Method::kVolumes:
    case Method::kCompare:
    case Method::kShifts:
      return statistics;
    case Method::kImport:
      return admin;
    default:
      return triager;
  }
}

absl::StatusOr<Tokens> Tokens::FromEnvironment(const std::string& fallback) {
  if (absl::Status s = CheckToken("the token", fallback); !s.ok()) return s;
  Tokens tokens{fallback, fallback, fallback, fallback};
  const std::pair<const char*, std::string*> own[] = {
      {"TRIAGE_LOADGEN_INTAKE_TOKEN", &tokens.intake},
      {"TRIAGE_LOADGEN_TRIAGER_TOKEN", &tokens.triager},
      {"TRIAGE_LOADGEN_STATISTICS_TOKEN", &tokens.statistics},
      {"TRIAGE_LOADGEN_ADMIN_TOKEN", &tokens.admin}};
  for (const auto& [variable, token] : own) {
    const char* value = std::getenv(variable);
    if (value == nullptr) continue;
    if (absl::Status s = CheckToken(variable, value); !s.ok()) return s;
    *token = value;
  }
  return tokens;
}

ReportPool::ReportPool(int size, uint64_t seed, absl::Time now) {
  tools::GenerateOptions options;
  absl::LoadTimeZone("Europe/London", &options.zone);  // UTC if the zone is not installed
  options.now = now;
  options.start = absl::ToCivilDay(now - absl::Hours(24 * 365), options.zone);
  options.seed = seed;
  options.source_prefix = "loadgen";
  // A year of about 1.2 x size reports, then `size` of them evenly spread over it.
  options.reports_per_day = std::max(1.0, 1.2 * std::max(size, 1) / 365.0);
  std::vector<v1::ImportedReport> year;
  tools::Generate(options, [&](const v1::ImportedReport& r) { year.push_back(r); });
  const size_t wanted = std::min(year.size(), static_cast<size_t>(std::max(size, 1)));
  reports_.reserve(wanted);
  for (size_t i = 0; i < wanted; ++i) {
    reports_.push_back(std::move(year[i * year.size() / wanted]));
    v1::SubmitReportRequest only_report;
    *only_report.mutable_report() = reports_.back().submission();
    submission_fields_.emplace_back(only_report.SerializeAsString());
  }
}

void ReportPool::FillSubmit(const std::string& run_id, int64_t n,
                            v1::SubmitReportRequest& request) const {
  request.set_request_id(absl::StrCat(run_id, "-", n));
  *request.mutable_report() = reports_[static_cast<size_t>(n) % reports_.size()].submission();
}

// Serialized messages concatenate to their merge, and fields in number order are what
// SerializeAsString writes: request_id (1), then report (2).
grpc::ByteBuffer ReportPool::SubmitBytes(const std::string& run_id, int64_t n) const {
  v1::SubmitReportRequest only_id;
  only_id.set_request_id(absl::StrCat(run_id, "-", n));
  const grpc::Slice parts[] = {grpc::Slice(only_id.SerializeAsString()),
                               submission_fields_[static_cast<size_t>(n) % reports_.size()]};
  return grpc::ByteBuffer(parts, std::size(parts));
}

std::string WireBytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!buffer.Dump(&slices).ok()) return bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

grpc::Status CheckSubmitReply(grpc::Status status, const grpc::ByteBuffer& reply, bool parse) {
  if (!status.ok()) return status;
  if (reply.Length() == 0) return grpc::Status(grpc::StatusCode::INTERNAL, "empty reply");
  if (!parse) return status;
  v1::SubmitReportResponse response;
  if (!response.ParseFromString(WireBytes(reply)) || response.report_id().empty()) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "a reply that names no report");
  }
  return status;
}

void ReportPool::FillImport(const std::string& run_id, int64_t n, int batch,
                            v1::ImportReportsRequest& request) const {
  for (int i = 0; i < batch; ++i) {
    const int64_t k = n * batch + i;
    v1::ImportedReport* r = request.add_reports();
    *r = reports_[static_cast<size_t>(k) % reports_.size()];
    r->set_source_id(absl::StrCat(run_id, "-", k));
  }
}

double ReportPool::mean_description_bytes() const {
  if (reports_.empty()) return 0;
  double sum = 0;
  for (const v1::ImportedReport& r : reports_) {
    sum += static_cast<double>(r.submission().description().size());
  }
  return sum / static_cast<double>(reports_.size());
}

double ReportPool::mean_submission_bytes() const {
  if (reports_.empty()) return 0;
  double sum = 0;
  for (const v1::ImportedReport& r : reports_) {
    sum += static_cast<double>(r.submission().ByteSizeLong());
  }
  return sum / static_cast<double>(reports_.size());
}

}  // namespace safeguarding::loadgen
