#include "services/metrics.h"

#include <netdb.h>
#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <exception>
#include <optional>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/descriptor.h"
#include "services/log.h"
#include "services/net_address.h"
#include "triage/statistics_groups.h"

namespace safeguarding::services {
namespace {

using prometheus::ClientMetric;
using prometheus::Counter;
using prometheus::Family;
using prometheus::Histogram;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr int kGrpcCodes = 17;  // OK .. UNAUTHENTICATED

// Latencies from half a millisecond to ten seconds; fsyncs from a tenth of one.
const Histogram::BucketBoundaries kRpcSeconds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                 0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const Histogram::BucketBoundaries kSyncSeconds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};
const Histogram::BucketBoundaries kBatchSizes = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};

// The series that count reports, which small-count suppression applies to.
constexpr const char* kReportCounts[] = {"triage_reports_received_total", "triage_claims_total",
                                         "triage_decisions_total",        "triage_queue_depth",
                                         "triage_queue_claimed",          "triage_queue_past_due",
                                         "triage_reports_purged_total"};

const char* CodeName(int code) {
  static constexpr const char* kNames[kGrpcCodes] = {"OK",
                                                     "CANCELLED",
                                                     "UNKNOWN",
                                                     "INVALID_ARGUMENT",
                                                     "DEADLINE_EXCEEDED",
                                                     "NOT_FOUND",
                                                     "ALREADY_EXISTS",
                                                     "PERMISSION_DENIED",
                                                     "RESOURCE_EXHAUSTED",
                                                     "FAILED_PRECONDITION",
                                                     "ABORTED",
                                                     "OUT_OF_RANGE",
                                                     "UNIMPLEMENTED",
                                                     "INTERNAL",
                                                     "UNAVAILABLE",
                                                     "DATA_LOSS",
                                                     "UNAUTHENTICATED"};
  return code >= 0 && code < kGrpcCodes ? kNames[code] : "UNKNOWN";
}

// The slot of enum value `number` in a table of `size`: values this build does not know
// share the zero value's, so a label never carries an arbitrary number.
template <typename Enum>
size_t Slot(Enum value, size_t size, const google::protobuf::EnumDescriptor* type) {
  const int number = static_cast<int>(value);
  if (number < 0 || static_cast<size_t>(number) >= size) return 0;
  return type->FindValueByNumber(number) == nullptr ? 0 : static_cast<size_t>(number);
}

// A label child made on first use: after that, one atomic load.
template <typename T>
class Lazy {
 public:
  template <typename Make>
  T& Get(absl::Mutex& mu, Make make) {
    T* child = child_.load(std::memory_order_acquire);
    if (child != nullptr) return *child;
    absl::MutexLock lock(&mu);
    child = child_.load(std::memory_order_relaxed);
    if (child == nullptr) {
      child = &make();
      child_.store(child, std::memory_order_release);
    }
    return *child;
  }

 private:
  std::atomic<T*> child_{nullptr};
};

// The method label of an RPC: "ReportIntake/SubmitReport".
std::string MethodName(const triage::Rpc& rpc) {
  if (rpc.descriptor() != nullptr) {
    return absl::StrCat(rpc.descriptor()->service()->name(), "/", rpc.descriptor()->name());
  }
  return std::string(absl::StripPrefix(rpc.path(), "/"));
}

// host:port with a numeric port, as civetweb takes it ("127.0.0.1:9464", "[::1]:0"). A bare
// port would listen on every interface, and civetweb reads suffixes and commas as options.
bool IsHostPort(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  const absl::string_view host = absl::string_view(listen).substr(0, colon);
  const absl::string_view port = absl::string_view(listen).substr(colon + 1);
  uint32_t number = 0;
  if (port.empty() || !std::all_of(port.begin(), port.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(port, &number) || number > 65535) {
    return false;
  }
  return host.find_first_of(", ") == absl::string_view::npos;
}

// Connects to host:port and hangs up at once (a wildcard host as loopback).
void Knock(absl::string_view host, int port) {
  std::string target(absl::StripSuffix(absl::StripPrefix(host, "["), "]"));
  if (target == "0.0.0.0") target = "127.0.0.1";
  if (target == "::") target = "::1";
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(target.c_str(), absl::StrCat(port).c_str(), &hints, &found) != 0) return;
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    (void)::connect(fd, found->ai_addr, found->ai_addrlen);
    ::close(fd);
  }
  ::freeaddrinfo(found);
}

ClientMetric GaugeSample(std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric sample;
  sample.label = std::move(labels);
  sample.gauge.value = value;
  return sample;
}

ClientMetric CounterSample(double value) {
  ClientMetric sample;
  sample.counter.value = value;
  return sample;
}

MetricFamily GaugeFamily(std::string name, std::string help) {
  return MetricFamily{.name = std::move(name), .help = std::move(help), .type = MetricType::Gauge};
}

// Drops every sample of a report-counting family whose value is 1..k-1.
void SuppressSmallCounts(std::vector<MetricFamily>& families, uint64_t k) {
  static const absl::flat_hash_set<std::string> kCounting(std::begin(kReportCounts),
                                                          std::end(kReportCounts));
  for (MetricFamily& family : families) {
    if (!kCounting.contains(family.name)) continue;
    const MetricType type = family.type;
    auto small = [type, k](const ClientMetric& sample) {
      double value = 0;
      if (type == MetricType::Counter) {
        value = sample.counter.value;
      } else if (type == MetricType::Gauge) {
        value = sample.gauge.value;
      } else {
        return true;  // not a count of ours: fail closed
      }
      return value > 0 && value < static_cast<double>(k);
    };
    family.metric.erase(std::remove_if(family.metric.begin(), family.metric.end(), small),
                        family.metric.end());
  }
}

}  // namespace

struct ServerMetrics::State {
  explicit State(uint64_t k);

  struct RpcSlot {
    std::string method;
    std::array<Lazy<Counter>, kGrpcCodes> calls;
    Lazy<Histogram> seconds;
  };
  RpcSlot& SlotOf(const triage::Rpc& rpc);

  const std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  Family<Counter>& rpcs;
  Family<Histogram>& rpc_seconds;
  Family<Counter>& received;
  Counter& claims;
  Family<Counter>& decisions;
  Histogram& batch_sizes;
  Histogram& sync_seconds;
  Counter& changes_dropped;

  absl::Mutex mu;  // held only while a label child or an RpcSlot is made
  // Every RPC of the contract, made up front: looked up without a lock.
  absl::flat_hash_map<const triage::Rpc*, std::unique_ptr<RpcSlot>> contract_rpcs;
  absl::flat_hash_map<const triage::Rpc*, std::unique_ptr<RpcSlot>> other_rpcs ABSL_GUARDED_BY(mu);
  std::array<std::array<Lazy<Counter>, v1::Priority_ARRAYSIZE>, v1::ReporterType_ARRAYSIZE>
      received_by;
  std::array<Lazy<Counter>, v1::Outcome_ARRAYSIZE> decisions_by;

  MetricSources sources;  // set before serving, then read only
  std::shared_ptr<ScrapeView> view;
  std::string host;  // of the address served
  std::unique_ptr<prometheus::Exposer> exposer;
};

// The families of the registry, small counts filtered out, and the gauges computed now.
class ServerMetrics::ScrapeView final : public prometheus::Collectable {
 public:
  ScrapeView(const State* state, uint64_t k) : state_(state), k_(k) {}

  std::vector<MetricFamily> Collect() const override {
    std::vector<MetricFamily> families = state_->registry->Collect();
    AddStoreWritable(families);
    AddAuditTrailIntact(families);
    AddLastBackup(families);
    AddRetention(families);
    AddCallBudgets(families);
    AddUnauditedRefusals(families);
    AddWriteBacklog(families);
    AddQueueGauges(families);
    SuppressSmallCounts(families, k_);
    return families;
  }

 private:
  void AddStoreWritable(std::vector<MetricFamily>& families) const {
    if (!state_->sources.store_writable) return;
    MetricFamily& family = families.emplace_back(
        GaugeFamily("triage_store_writable",
                    "1 while the store can write, 0 while writes fail (health NOT_SERVING)"));
    family.metric.push_back(GaugeSample({}, state_->sources.store_writable() ? 1 : 0));
  }
  void AddAuditTrailIntact(std::vector<MetricFamily>& families) const {
    if (!state_->sources.audit_trail_intact) return;
    MetricFamily& family = families.emplace_back(
        GaugeFamily("triage_audit_trail_intact",
                    "1 while no damage to the audit trail is known; 0 once the check at start or a "
                    "VerifyAuditLog found it damaged (until a restart checks again)"));
    family.metric.push_back(GaugeSample({}, state_->sources.audit_trail_intact() ? 1 : 0));
  }
  void AddLastBackup(std::vector<MetricFamily>& families) const {
    if (!state_->sources.last_backup_time) return;
    const std::optional<absl::Time> last = state_->sources.last_backup_time();
    MetricFamily& family = families.emplace_back(GaugeFamily(
        "triage_backup_last_success_timestamp_seconds",
        "When the newest backup in --backup_dir was taken (Unix seconds); 0 while there is none"));
    family.metric.push_back(
        GaugeSample({}, last ? static_cast<double>(absl::ToUnixSeconds(*last)) : 0));
  }
  void AddRetention(std::vector<MetricFamily>& families) const {
    if (!state_->sources.reports_purged) return;
    families.push_back(MetricFamily{
        .name = "triage_reports_purged_total",
        .help = "Reports whose contents retention purged since start (--retention)",
        .type = MetricType::Counter,
        .metric = {CounterSample(static_cast<double>(state_->sources.reports_purged()))}});
    families.push_back(MetricFamily{
        .name = "triage_retention_purge_failures_total",
        .help = "Purges (requested or daily) that ended in an error since start",
        .type = MetricType::Counter,
        .metric = {CounterSample(static_cast<double>(state_->sources.purge_failures()))}});
  }
  void AddWriteBacklog(std::vector<MetricFamily>& families) const {
    if (!state_->sources.write_backlog) return;
    MetricFamily& family = families.emplace_back(GaugeFamily(
        "triage_write_backlog_seconds",
        "How long the oldest change queued for the disk has waited; intake and desk calls "
        "are refused while it is over --max_write_backlog"));
    family.metric.push_back(
        GaugeSample({}, absl::ToDoubleSeconds(state_->sources.write_backlog())));
  }
  void AddUnauditedRefusals(std::vector<MetricFamily>& families) const {
    if (!state_->sources.refusals_unaudited) return;
    families.push_back(MetricFamily{
        .name = "triage_refusals_unaudited_total",
        .help = "Failed authentications answered without an audit entry (over the per-address or "
                "the global limit), since start",
        .type = MetricType::Counter,
        .metric = {CounterSample(static_cast<double>(state_->sources.refusals_unaudited()))}});
  }
  void AddCallBudgets(std::vector<MetricFamily>& families) const {
    const CallBudgets* budgets = state_->sources.call_budgets;
    if (budgets == nullptr) return;
    MetricFamily in_flight = GaugeFamily("triage_calls_in_flight",
                                         "Calls being worked on now, per budget (call_budget.h)");
    MetricFamily limit = GaugeFamily("triage_calls_in_flight_limit",
                                     "The most calls a budget admits at once (0: no limit)");
    MetricFamily shed{.name = "triage_calls_shed_total",
                      .help =
                          "Calls refused with RESOURCE_EXHAUSTED because their budget "
                          "was full, since start",
                      .type = MetricType::Counter};
    for (int i = 0; i < kCallClasses; ++i) {
      const auto c = static_cast<CallClass>(i);
      const std::vector<ClientMetric::Label> labels = {
          {.name = "budget", .value = std::string(CallClassName(c))}};
      in_flight.metric.push_back(GaugeSample(labels, static_cast<double>(budgets->in_flight(c))));
      limit.metric.push_back(GaugeSample(labels, static_cast<double>(budgets->limit(c))));
      ClientMetric sample = CounterSample(static_cast<double>(budgets->refused(c)));
      sample.label = labels;
      shed.metric.push_back(std::move(sample));
    }
    families.push_back(std::move(in_flight));
    families.push_back(std::move(limit));
    families.push_back(std::move(shed));
  }
  void AddQueueGauges(std::vector<MetricFamily>& families) const;

  const State* const state_;
  const uint64_t k_;
};

void ServerMetrics::ScrapeView::AddQueueGauges(std::vector<MetricFamily>& families) const {
  const MetricSources& sources = state_->sources;
  if (sources.queues == nullptr) return;
  const absl::Time now = sources.clock != nullptr ? sources.clock->Now() : absl::Now();
  std::vector<std::string> declared;
  if (sources.policy != nullptr) declared = sources.policy->Get()->queues();
  const std::vector<storage::QueueTierCounts> counts =
      sources.queues->CountsByTier(declared, absl::ToUnixMicros(now));
  MetricFamily depth =
      GaugeFamily("triage_queue_depth", "Reports waiting (not claimed), per queue and priority");
  MetricFamily claimed =
      GaugeFamily("triage_queue_claimed", "Reports claimed now, per queue and priority");
  MetricFamily past_due = GaugeFamily("triage_queue_past_due",
                                      "Waiting reports already past their due time (SLA breached)");
  MetricFamily oldest = GaugeFamily(
      "triage_queue_oldest_wait_seconds",
      "Seconds the oldest waiting report has waited since it was received; 0 when none waits");
  // A time, like the oldest wait, so never left out: the SLA alert must see one late report.
  MetricFamily overdue = GaugeFamily(
      "triage_queue_most_overdue_seconds",
      "Seconds the most overdue waiting report is past its due time; 0 when none is past due");
  for (const storage::QueueTierCounts& queue : counts) {
    for (size_t tier = 0; tier < queue.tiers.size(); ++tier) {
      const storage::QueueTierCounts::Tier& t = queue.tiers[tier];
      // Tier 0 holds only records naming no known priority: shown if it has any.
      if (tier == 0 && t.waiting == 0 && t.claimed == 0) continue;
      const std::vector<ClientMetric::Label> labels = {
          {"queue", queue.queue}, {"priority", triage::ValueName(v1::Priority_descriptor(), tier)}};
      double wait = 0;
      if (t.oldest_waiting) {
        wait = std::max(0.0, absl::ToDoubleSeconds(now - t.oldest_waiting->time()));
      }
      depth.metric.push_back(GaugeSample(labels, static_cast<double>(t.waiting)));
      claimed.metric.push_back(GaugeSample(labels, static_cast<double>(t.claimed)));
      past_due.metric.push_back(GaugeSample(labels, static_cast<double>(t.past_due)));
      oldest.metric.push_back(GaugeSample(labels, wait));
      double late = 0;
      if (t.earliest_past_due_micros) {
        late = std::max(
            0.0, absl::ToDoubleSeconds(now - absl::FromUnixMicros(*t.earliest_past_due_micros)));
      }
      overdue.metric.push_back(GaugeSample(labels, late));
    }
  }
  for (MetricFamily* family : {&depth, &claimed, &past_due, &oldest, &overdue}) {
    families.push_back(std::move(*family));
  }
}

ServerMetrics::State::State(uint64_t k)
    : rpcs(prometheus::BuildCounter()
               .Name("triage_rpcs_total")
               .Help("RPCs finished, by method (Service/Method) and gRPC status code")
               .Register(*registry)),
      rpc_seconds(prometheus::BuildHistogram()
                      .Name("triage_rpc_duration_seconds")
                      .Help("Time from the start of an RPC to its end, by method (for "
                            "WatchQueues, the life of the stream)")
                      .Register(*registry)),
      received(prometheus::BuildCounter()
                   .Name("triage_reports_received_total")
                   .Help("Reports accepted, by reporter type and priority (left out while "
                         "1 to k-1, see triage_metrics_minimum_count)")
                   .Register(*registry)),
      claims(prometheus::BuildCounter()
                 .Name("triage_claims_total")
                 .Help("Reports handed out by ClaimNextReport (left out while 1 to k-1)")
                 .Register(*registry)
                 .Add({})),
      decisions(prometheus::BuildCounter()
                    .Name("triage_decisions_total")
                    .Help("Decisions recorded, by outcome (left out while 1 to k-1)")
                    .Register(*registry)),
      batch_sizes(prometheus::BuildHistogram()
                      .Name("triage_commit_batch_size")
                      .Help("Changes made durable by one group commit (one fsync)")
                      .Register(*registry)
                      .Add({}, kBatchSizes)),
      sync_seconds(prometheus::BuildHistogram()
                       .Name("triage_commit_sync_duration_seconds")
                       .Help("Time of one group commit's synced write (with its fsync)")
                       .Register(*registry)
                       .Add({}, kSyncSeconds)),
      changes_dropped(prometheus::BuildCounter()
                          .Name("triage_changes_dropped_total")
                          .Help("Changes the committer dropped unwritten because their call "
                                "had been cancelled or had passed its deadline")
                          .Register(*registry)
                          .Add({})) {
  prometheus::BuildGauge()
      .Name("triage_metrics_minimum_count")
      .Help("k: series counting reports are left out of the scrape while 1 to k-1")
      .Register(*registry)
      .Add({})
      .Set(static_cast<double>(k));
  for (const triage::Rpc* rpc : triage::ContractRpcs()) {
    auto slot = std::make_unique<RpcSlot>();
    slot->method = MethodName(*rpc);
    contract_rpcs.emplace(rpc, std::move(slot));
  }
}

ServerMetrics::State::RpcSlot& ServerMetrics::State::SlotOf(const triage::Rpc& rpc) {
  if (auto it = contract_rpcs.find(&rpc); it != contract_rpcs.end()) return *it->second;
  absl::MutexLock lock(&mu);  // an RPC outside the contract: its calls are all refused
  std::unique_ptr<RpcSlot>& slot = other_rpcs[&rpc];
  if (slot == nullptr) {
    slot = std::make_unique<RpcSlot>();
    slot->method = MethodName(rpc);
  }
  return *slot;
}

ServerMetrics::ServerMetrics(uint64_t minimum_count)
    : minimum_count_(std::max<uint64_t>(1, minimum_count)),
      state_(std::make_unique<State>(minimum_count_)) {
  state_->view = std::make_shared<ScrapeView>(state_.get(), minimum_count_);
  // The values every accepted report or decision has are shown (at 0) from the start, so
  // increase() sees where each series began.
  for (int type = 1; type < v1::ReporterType_ARRAYSIZE; ++type) {
    if (!v1::ReporterType_IsValid(type)) continue;
    for (int priority = 1; priority < v1::Priority_ARRAYSIZE; ++priority) {
      if (v1::Priority_IsValid(priority)) {
        ReportReceivedCounter(static_cast<v1::ReporterType>(type),
                              static_cast<v1::Priority>(priority));
      }
    }
  }
  for (int outcome = 1; outcome < v1::Outcome_ARRAYSIZE; ++outcome) {
    if (v1::Outcome_IsValid(outcome)) DecisionCounter(static_cast<v1::Outcome>(outcome));
  }
}

ServerMetrics::~ServerMetrics() { StopServing(); }

void ServerMetrics::SetSources(MetricSources sources) { state_->sources = std::move(sources); }

absl::Status ServerMetrics::Serve(const std::string& listen) {
  if (listen.empty()) return absl::OkStatus();
  if (!IsHostPort(listen)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--metrics_listen ", listen, ": expected host:port, e.g. 127.0.0.1:9464 (empty: off)"));
  }
  try {
    auto exposer = std::make_unique<prometheus::Exposer>(listen, /*num_threads=*/2);
    exposer->RegisterCollectable(state_->view);
    const std::vector<int> ports = exposer->GetListeningPorts();
    port_ = ports.empty() ? 0 : ports.front();
    state_->host = listen.substr(0, listen.rfind(':'));
    state_->exposer = std::move(exposer);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("--metrics_listen ", listen,
                                               ": cannot serve metrics (address in use or "
                                               "invalid): ",
                                               e.what()));
  }
  if (!IsLoopbackAddress(listen)) {
    Log(Severity::kWarning,
        "metrics served on %s, not loopback: /metrics has no authentication; limit who can "
        "reach it (network policy or an authenticating reverse proxy)",
        listen);
  }
  return absl::OkStatus();
}

void ServerMetrics::StopServing() {
  if (state_->exposer == nullptr) return;
  // Destroying the exposer stops civetweb, which waits for the scrapes in progress; but its
  // listener sees the stop only when its poll (up to 2 s) returns. Knocking on the port
  // ends that poll, so stopping takes milliseconds.
  std::atomic<bool> stopped{false};
  std::thread knocker([&stopped, host = state_->host, port = port_] {
    while (!stopped.load()) {
      Knock(host, port);
      absl::SleepFor(absl::Milliseconds(10));
    }
  });
  state_->exposer.reset();
  stopped = true;
  knocker.join();
  port_ = 0;
}

std::string ServerMetrics::Scrape() const {
  return prometheus::TextSerializer().Serialize(state_->view->Collect());
}

void ServerMetrics::RpcDone(const triage::Rpc& rpc, grpc::StatusCode code,
                            absl::Duration elapsed) const {
  State& state = *state_;
  State::RpcSlot& slot = state.SlotOf(rpc);
  const int index = static_cast<int>(code) >= 0 && static_cast<int>(code) < kGrpcCodes
                        ? static_cast<int>(code)
                        : static_cast<int>(grpc::StatusCode::UNKNOWN);
  slot.calls[index]
      .Get(state.mu,
           [&]() -> Counter& {
             return state.rpcs.Add({{"method", slot.method}, {"code", CodeName(index)}});
           })
      .Increment();
  slot.seconds
      .Get(state.mu,
           [&]() -> Histogram& {
             return state.rpc_seconds.Add({{"method", slot.method}}, kRpcSeconds);
           })
      .Observe(absl::ToDoubleSeconds(elapsed));
}

void ServerMetrics::ReportReceived(v1::ReporterType reporter_type, v1::Priority priority) const {
  ReportReceivedCounter(reporter_type, priority).Increment();
}

void ServerMetrics::ReportClaimed() const { state_->claims.Increment(); }

void ServerMetrics::DecisionRecorded(v1::Outcome outcome) const {
  DecisionCounter(outcome).Increment();
}

void ServerMetrics::ChangesDropped(size_t changes) const {
  state_->changes_dropped.Increment(static_cast<double>(changes));
}

void ServerMetrics::BatchSynced(size_t changes, absl::Duration sync) const {
  state_->batch_sizes.Observe(static_cast<double>(changes));
  state_->sync_seconds.Observe(absl::ToDoubleSeconds(sync));
}

prometheus::Counter& ServerMetrics::ReportReceivedCounter(v1::ReporterType reporter_type,
                                                          v1::Priority priority) const {
  State& state = *state_;
  const size_t type =
      Slot(reporter_type, v1::ReporterType_ARRAYSIZE, v1::ReporterType_descriptor());
  const size_t tier = Slot(priority, v1::Priority_ARRAYSIZE, v1::Priority_descriptor());
  return state.received_by[type][tier].Get(state.mu, [&]() -> Counter& {
    return state.received.Add(
        {{"reporter_type",
          triage::ValueName(v1::ReporterType_descriptor(), static_cast<int>(type))},
         {"priority", triage::ValueName(v1::Priority_descriptor(), static_cast<int>(tier))}});
  });
}

prometheus::Counter& ServerMetrics::DecisionCounter(v1::Outcome outcome) const {
  State& state = *state_;
  const size_t slot = Slot(outcome, v1::Outcome_ARRAYSIZE, v1::Outcome_descriptor());
  return state.decisions_by[slot].Get(state.mu, [&]() -> Counter& {
    return state.decisions.Add(
        {{"outcome", triage::ValueName(v1::Outcome_descriptor(), static_cast<int>(slot))}});
  });
}

}  // namespace safeguarding::services
