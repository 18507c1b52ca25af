// What triage-loadgen sends: the methods it can call, a weighted mix of them (a scenario),
// the bearer token each role's calls carry, and realistic reports to submit and import.
//
// The reports come from the synthetic-data generator of `triagectl generate` (a year's
// worth with its mixes of reporter types, categories, channels, regions, ages and
// description sizes), generated once before the run and then reused in turn, so that making
// a request costs the load generator a copy and not a generation.
#ifndef SAFEGUARDING_TOOLS_LOADGEN_WORKLOAD_H_
#define SAFEGUARDING_TOOLS_LOADGEN_WORKLOAD_H_

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "safeguarding/triage/v1/administration.pb.h"
#include "safeguarding/triage/v1/intake.pb.h"

namespace safeguarding::loadgen {

enum class Method {
  kHealth,   // grpc.health.v1.Health/Check: the no-op baseline
  kSubmit,   // ReportIntake.SubmitReport, a new request id each (durable)
  kGet,      // TriageDesk.GetReport of one report (audited: durable)
  kClaim,    // TriageDesk.ClaimNextReport alone
  kCycle,    // ClaimNextReport then RecordDecision of what it got
  kVolumes,  // Statistics.GetVolumes over the statistics range, by day and reporter type
  kCompare,  // Statistics.CompareVolumes, first half of the range against the second
  kShifts,   // Statistics.DetectShifts over the range, by reporter type
  kImport,   // Administration.ImportReports, a batch of historical, decided reports
  kMix,      // a scenario: each call one of the mix's methods, in proportion to its weight
};

inline constexpr Method kAllMethods[] = {
    Method::kHealth,  Method::kSubmit,  Method::kGet,    Method::kClaim,  Method::kCycle,
    Method::kVolumes, Method::kCompare, Method::kShifts, Method::kImport, Method::kMix};

absl::string_view MethodName(Method method);
std::optional<Method> ParseMethod(absl::string_view name);

// A scenario: methods with whole-number weights. Call n is the method whose share of the
// weights' running total n falls into (n modulo the total), so every stretch of `total`
// calls has exactly the proportions asked for.
class Mix {
 public:
  // "submit:70,cycle:20,volumes:5,compare:3,shifts:2": each part METHOD:WEIGHT (1 to 1000)
  // of a method other than mix, each method once. INVALID_ARGUMENT naming the part.
  [[nodiscard]] static absl::StatusOr<Mix> Parse(absl::string_view text);
  // The single method `method` (weight 1).
  static Mix Only(Method method);

  Method For(int64_t n) const;
  std::vector<Method> methods() const;

 private:
  std::vector<std::pair<Method, int>> parts_;  // method, running total of weights
};

// The token each call carries, by the role its method needs. An empty one sends none.
struct Tokens {
  std::string intake;      // submit
  std::string triager;     // get, claim, cycle
  std::string statistics;  // volumes, compare, shifts (a monitor or a supervisor)
  std::string admin;       // import

  const std::string& For(Method method) const;
  // `fallback` (--token, or TRIAGE_LOADGEN_TOKEN) for every role, each replaced by its own
  // variable when set: TRIAGE_LOADGEN_INTAKE_TOKEN, _TRIAGER_TOKEN, _STATISTICS_TOKEN,
  // _ADMIN_TOKEN. INVALID_ARGUMENT when a token has characters a token cannot have.
  [[nodiscard]] static absl::StatusOr<Tokens> FromEnvironment(const std::string& fallback);
};

// Realistic reports, generated once: `size` submissions of a synthetic year ending at `now`
// (seeded: the same seed gives the same reports).
class ReportPool {
 public:
  ReportPool(int size, uint64_t seed, absl::Time now);

  // The n-th request: report n modulo the pool, with request id "<run_id>-<n>".
  void FillSubmit(const std::string& run_id, int64_t n,
                  triage::v1::SubmitReportRequest& request) const;
  // The same request in its wire form, the bytes FillSubmit's request serializes to: the
  // report's field is serialized once, when the pool is made, and shared (reference
  // counted) by every call that sends it; only the request id is encoded per call. The
  // no-op baseline sends prebuilt bytes too, so the client's cost per call is gRPC's on
  // both sides of the ratio, not a serialization one side pays and the other does not.
  grpc::ByteBuffer SubmitBytes(const std::string& run_id, int64_t n) const;
  // Call n's batch: `batch` historical reports as generated (received within the year,
  // decided or still open), source ids "<run_id>-<n * batch + i>", new to each run.
  void FillImport(const std::string& run_id, int64_t n, int batch,
                  triage::v1::ImportReportsRequest& request) const;

  size_t size() const { return reports_.size(); }
  // Mean length of a description and of a whole submission (serialized), for the summary.
  double mean_description_bytes() const;
  double mean_submission_bytes() const;

 private:
  std::vector<triage::v1::ImportedReport> reports_;
  std::vector<grpc::Slice> submission_fields_;  // SubmitReportRequest.report of each, encoded
};

// The bytes of a buffer, its slices joined ("" if it cannot be read).
std::string WireBytes(const grpc::ByteBuffer& buffer);

// The generic stub does not parse replies. A stored submit's reply names its report, so it
// is never empty; one call in kParseOneSubmitReplyIn has its reply parsed whole (`parse`),
// and it must name a report. Either failing is INTERNAL: a reply that is not what it should
// be is not a success. A status that is not OK is passed on as it is.
inline constexpr int64_t kParseOneSubmitReplyIn = 1000;
grpc::Status CheckSubmitReply(grpc::Status status, const grpc::ByteBuffer& reply, bool parse);

}  // namespace safeguarding::loadgen

#endif  // SAFEGUARDING_TOOLS_LOADGEN_WORKLOAD_H_
