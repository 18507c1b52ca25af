#include "triage/import.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"
#include "storage/report_id.h"
#include "triage/audit.h"
#include "triage/validation.h"
#include "triage/volume_cells.h"

namespace safeguarding::triage {
namespace {

using google::protobuf::util::TimeUtil;

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(t));
}

bool ValidStamp(const google::protobuf::Timestamp& t) {
  return t.seconds() >= 0 && t.seconds() <= 7258118400 && t.nanos() >= 0 && t.nanos() <= 999999999;
}

void CheckTime(bool present, const google::protobuf::Timestamp& t, const std::string& field,
               absl::Time not_before, absl::Time now, FieldViolations& v) {
  if (!present) {
    v.Add(field, "required");
  } else if (!ValidStamp(t)) {
    v.Add(field, "must be a time after 1970");
  } else if (TimeOf(t) > now) {
    v.Add(field, "must not be in the future");
  } else if (TimeOf(t) < not_before) {
    v.Add(field, "must not be before the report was received");
  }
}

// The violations of reports[i], under its field paths.
FieldViolations Check(const v1::ImportedReport& r, int i, absl::Time now) {
  FieldViolations v;
  const std::string at = absl::StrCat("reports[", i, "]");
  const std::string& id = r.source_id();
  if (id.empty() || id.size() > 128 || !std::all_of(id.begin(), id.end(), [](char c) {
        return absl::ascii_isgraph(static_cast<unsigned char>(c));
      })) {
    v.Add(at + ".source_id", "required: 1 to 128 printable ASCII characters, no spaces");
  }
  CheckTime(r.has_received_time(), r.received_time(), at + ".received_time", absl::UnixEpoch(), now,
            v);
  ValidateSubmission(r.submission(), at + ".submission", v);
  const absl::Time received = ValidStamp(r.received_time()) ? TimeOf(r.received_time()) : now;
  if (!v1::Outcome_IsValid(r.outcome())) {
    v.Add(at + ".outcome", "must be a known value");
  } else if (r.outcome() == v1::OUTCOME_DUPLICATE) {
    v.Add(at + ".outcome", "DUPLICATE cannot be imported (there is no original to name)");
  } else if (r.outcome() != v1::OUTCOME_UNSPECIFIED) {
    CheckTime(r.has_decision_time(), r.decision_time(), at + ".decision_time", received, now, v);
  } else if (r.has_decision_time()) {
    v.Add(at + ".decision_time", "only with an outcome");
  }
  if (r.has_claim_time()) {
    if (r.outcome() == v1::OUTCOME_UNSPECIFIED) {
      v.Add(at + ".claim_time", "only for a decided report");
    } else {
      const absl::Time decided = ValidStamp(r.decision_time()) ? TimeOf(r.decision_time()) : now;
      CheckTime(true, r.claim_time(), at + ".claim_time", received, decided, v);
    }
  }
  return v;
}

void Refuse(const FieldViolations& v, v1::ImportResult& result) {
  result.set_status(v1::IMPORT_STATUS_REFUSED);
  std::vector<std::string> parts;
  for (const auto& [field, description] : v.violations()) {
    result.add_fields(field);
    parts.push_back(absl::StrCat(field, ": ", description));
  }
  result.set_error(absl::StrJoin(parts, "; "));
}

}  // namespace

storage::ImportedRecord ImportedRecordOf(const v1::ImportedReport& r, const TriagePolicy& policy,
                                         const Caller& caller) {
  storage::ImportedRecord record;
  record.source_id = r.source_id();
  const absl::Time received = TimeOf(r.received_time());
  v1::Report& report = record.report;
  report.set_id(storage::ReportId::Generate(received).ToString());
  *report.mutable_received_time() = r.received_time();
  *report.mutable_submission() = r.submission();
  report.mutable_submission()->DiscardUnknownFields();
  *report.mutable_triage() = policy.Evaluate(report.submission(), received);
  report.set_state(v1::REPORT_STATE_QUEUED);
  report.set_source(v1::REPORT_SOURCE_IMPORT);
  report.set_event_count(1);
  const std::string region = policy.StatisticsRegion(report.submission().region());
  record.counts = ReceivedCells(report, region);
  v1::ReportEvent& imported = record.events.emplace_back();
  imported.set_report_id(report.id());
  imported.set_sequence(1);
  *imported.mutable_time() = r.received_time();
  imported.set_type(v1::REPORT_EVENT_TYPE_IMPORTED);
  imported.set_actor(caller.principal);
  imported.set_state(v1::REPORT_STATE_QUEUED);
  imported.set_priority(report.triage().priority());
  if (r.outcome() != v1::OUTCOME_UNSPECIFIED) {
    v1::Report decided = report;
    decided.set_state(v1::REPORT_STATE_CLOSED);
    decided.set_outcome(r.outcome());
    *decided.mutable_closed_time() = r.decision_time();
    if (r.has_claim_time()) *decided.mutable_first_claim_time() = r.claim_time();
    decided.set_event_count(2);
    v1::ReportEvent& event = record.events.emplace_back();
    event.set_report_id(report.id());
    event.set_sequence(2);
    *event.mutable_time() = r.decision_time();
    event.set_type(v1::REPORT_EVENT_TYPE_DECIDED);
    event.set_actor(caller.principal);
    event.set_state(v1::REPORT_STATE_CLOSED);
    event.set_priority(report.triage().priority());
    event.set_outcome(r.outcome());
    event.set_text("imported decision");
    record.counts.Append(DecidedCells(decided, region));
    record.decided = std::move(decided);
  }
  record.audit = AuditEntryFor(caller, report.id(), absl::StatusCode::kOk);
  return record;
}

bool Importer::InFlight::Reserve(const std::string& source_id) {
  absl::MutexLock lock(&mu_);
  return ids_.insert(source_id).second;
}

void Importer::InFlight::Unreserve(const std::vector<std::string>& source_ids) {
  absl::MutexLock lock(&mu_);
  for (const std::string& id : source_ids) ids_.erase(id);
}

struct Importer::Prepared {
  v1::ImportReportsResponse response;
  std::vector<storage::ImportedRecord> records;
  std::vector<std::string> reserved;
};

absl::Status Importer::Prepare(const Caller& caller, const v1::ImportReportsRequest& request,
                               Prepared& out) {
  const absl::Time now = clock_->Now();
  const std::shared_ptr<const TriagePolicy> policy = policy_->Get();
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < request.reports_size(); ++i) {
    const v1::ImportedReport& r = request.reports(i);
    v1::ImportResult& result = *out.response.add_results();
    result.set_source_id(r.source_id());
    FieldViolations v = Check(r, i, now);
    if (v.empty() && !seen.insert(r.source_id()).second) {
      v.Add(absl::StrCat("reports[", i, "].source_id"), "appears twice in this request");
    }
    if (!v.empty()) {
      Refuse(v, result);
      continue;
    }
    absl::StatusOr<std::optional<std::string>> existing =
        store_->reports().ImportedId(r.source_id());
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) {
      result.set_status(v1::IMPORT_STATUS_ALREADY_IMPORTED);
      result.set_report_id(**existing);
      continue;
    }
    if (!in_flight_->Reserve(r.source_id())) {
      v.Add(absl::StrCat("reports[", i, "].source_id"),
            "being imported by a request in flight: send it again");
      Refuse(v, result);
      continue;
    }
    out.reserved.push_back(r.source_id());
    out.records.push_back(ImportedRecordOf(r, *policy, caller));
    result.set_status(v1::IMPORT_STATUS_IMPORTED);
    result.set_report_id(out.records.back().report.id());
  }
  return absl::OkStatus();
}

void Importer::ImportReports(const Caller& caller, const v1::ImportReportsRequest& request,
                             Done done) {
  using Answer = absl::StatusOr<v1::ImportReportsResponse>;
  if (request.reports_size() > kMaxImportBatch) {
    FieldViolations v;
    v.Add("reports", absl::StrCat("at most ", kMaxImportBatch, " per request"));
    FinishAudited(store_->audit(), caller, "", Answer(v.ToStatus()), std::move(done));
    return;
  }
  Prepared prepared;
  if (absl::Status s = Prepare(caller, request, prepared); !s.ok()) {
    in_flight_->Unreserve(prepared.reserved);
    FinishAudited(store_->audit(), caller, "", Answer(s), std::move(done));
    return;
  }
  if (prepared.records.empty()) {  // nothing to write: the call is audited on its own
    FinishAudited(store_->audit(), caller, "", Answer(std::move(prepared.response)),
                  std::move(done));
    return;
  }
  // Each imported report's audit entry is in the batch.
  store_->reports().Import(
      std::move(prepared.records),
      [in_flight = in_flight_, reserved = std::move(prepared.reserved),
       response = std::move(prepared.response), done = std::move(done)](absl::Status s) mutable {
        in_flight->Unreserve(reserved);
        if (s.ok()) {
          std::move(done)(std::move(response));
        } else {
          std::move(done)(std::move(s));
        }
      });
}

}  // namespace safeguarding::triage
