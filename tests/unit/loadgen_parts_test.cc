// Tests of triage-loadgen's parts (tools/loadgen): the log-linear histogram's buckets,
// percentiles and merging; a scenario mix's parsing and proportions; tokens by role from
// the environment; the pool of realistic reports; and the summary's text and JSON.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tools/loadgen/histogram.h"
#include "tools/loadgen/summary.h"
#include "tools/loadgen/throttle.h"
#include "tools/loadgen/workload.h"

namespace safeguarding::loadgen {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(LatencyHistogramTest, SmallValuesAreExactAndLargeOnesWithinOneThirtySecond) {
  for (int64_t v = 0; v < 64; ++v) {
    EXPECT_EQ(LatencyHistogram::LowestOf(LatencyHistogram::BucketOf(v)), v);
    EXPECT_EQ(LatencyHistogram::HighestOf(LatencyHistogram::BucketOf(v)), v);
  }
  size_t previous = LatencyHistogram::BucketOf(63);
  for (int64_t v = 64; v < 1 << 20; v += 1 + v / 997) {
    const size_t b = LatencyHistogram::BucketOf(v);
    EXPECT_GE(b, previous) << v;  // monotone
    previous = b;
    EXPECT_LE(LatencyHistogram::LowestOf(b), v);
    EXPECT_GE(LatencyHistogram::HighestOf(b), v);
    const double width =
        static_cast<double>(LatencyHistogram::HighestOf(b) - LatencyHistogram::LowestOf(b) + 1);
    EXPECT_LE(width / static_cast<double>(v), 1.0 / 32) << v;
  }
  // Neighbouring buckets tile the values: no gap, no overlap.
  for (size_t b = 0; b + 1 < LatencyHistogram::BucketOf(LatencyHistogram::kMaxValue); ++b) {
    ASSERT_EQ(LatencyHistogram::HighestOf(b) + 1, LatencyHistogram::LowestOf(b + 1)) << b;
  }
}

TEST(LatencyHistogramTest, PercentilesAreTheirBucketsHighestValueNeverBelowTheTrueOne) {
  std::mt19937_64 random(7);
  std::lognormal_distribution<double> latency(std::log(3000.0), 0.6);  // ~3 ms, long tail
  std::vector<int64_t> values;
  LatencyHistogram h;
  for (int i = 0; i < 20000; ++i) {
    values.push_back(static_cast<int64_t>(latency(random)));
    h.Record(values.back());
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const int64_t exact = values[static_cast<size_t>(std::ceil(q * 20000)) - 1];
    EXPECT_GE(h.Percentile(q), exact) << q;
    EXPECT_LE(static_cast<double>(h.Percentile(q)), static_cast<double>(exact) * (1 + 1.0 / 32))
        << q;
  }
  EXPECT_EQ(h.Percentile(1.0), values.back());
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.min(), values.front());
  EXPECT_EQ(h.count(), 20000);
}

TEST(LatencyHistogramTest, MergingIsRecordingBoth) {
  LatencyHistogram a, b, both;
  for (int64_t v : {5, 700, 12000, 3'000'000}) {
    a.Record(v);
    both.Record(v);
  }
  for (int64_t v : {1, 64, 65, 90'000}) {
    b.Record(v);
    both.Record(v);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), both.count());
  EXPECT_EQ(a.min(), 1);
  EXPECT_EQ(a.max(), 3'000'000);
  EXPECT_DOUBLE_EQ(a.mean(), both.mean());
  for (double q : {0.1, 0.25, 0.5, 0.75, 0.9, 1.0}) EXPECT_EQ(a.Percentile(q), both.Percentile(q));
  LatencyHistogram empty;
  EXPECT_EQ(empty.Percentile(0.99), 0);
  EXPECT_EQ(empty.mean(), 0);
  empty.Record(-5);  // counts as 0
  empty.Record(LatencyHistogram::kMaxValue + 99);
  EXPECT_EQ(empty.min(), 0);
  EXPECT_EQ(empty.max(), LatencyHistogram::kMaxValue);
}

TEST(MixTest, EveryStretchOfTheTotalHasTheProportionsAskedFor) {
  absl::StatusOr<Mix> mix = Mix::Parse("submit:7,cycle:2,volumes:1");
  ASSERT_TRUE(mix.ok()) << mix.status();
  EXPECT_EQ(mix->methods(),
            (std::vector<Method>{Method::kSubmit, Method::kCycle, Method::kVolumes}));
  for (int64_t start : {0, 3, 1000}) {
    std::map<Method, int> seen;
    for (int64_t n = start; n < start + 10; ++n) ++seen[mix->For(n)];
    EXPECT_EQ(seen[Method::kSubmit], 7);
    EXPECT_EQ(seen[Method::kCycle], 2);
    EXPECT_EQ(seen[Method::kVolumes], 1);
  }
  EXPECT_EQ(Mix::Only(Method::kHealth).For(12345), Method::kHealth);
}

TEST(MixTest, AMalformedPartIsRefusedNamingIt) {
  for (const char* bad : {"submit", "submit:0", "submit:1001", "submit:x", "bogus:3", "mix:2",
                          "submit:1,submit:2", "submit:1,"}) {
    absl::StatusOr<Mix> mix = Mix::Parse(bad);
    ASSERT_FALSE(mix.ok()) << bad;
    EXPECT_EQ(mix.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(mix.status().message(), HasSubstr("--mix part")) << bad;
  }
}

TEST(MethodTest, NamesParseBack) {
  for (Method m : kAllMethods) EXPECT_EQ(ParseMethod(MethodName(m)), m);
  EXPECT_FALSE(ParseMethod("Submit").has_value());
}

TEST(TokensTest, EachRoleTakesItsOwnVariableOrTheFallback) {
  setenv("TRIAGE_LOADGEN_TRIAGER_TOKEN", "triager-token", 1);
  setenv("TRIAGE_LOADGEN_ADMIN_TOKEN", "admin-token", 1);
  unsetenv("TRIAGE_LOADGEN_INTAKE_TOKEN");
  unsetenv("TRIAGE_LOADGEN_STATISTICS_TOKEN");
  absl::StatusOr<Tokens> tokens = Tokens::FromEnvironment("fallback");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(tokens->For(Method::kSubmit), "fallback");
  EXPECT_EQ(tokens->For(Method::kCycle), "triager-token");
  EXPECT_EQ(tokens->For(Method::kClaim), "triager-token");
  EXPECT_EQ(tokens->For(Method::kGet), "triager-token");
  EXPECT_EQ(tokens->For(Method::kShifts), "fallback");
  EXPECT_EQ(tokens->For(Method::kImport), "admin-token");
  setenv("TRIAGE_LOADGEN_ADMIN_TOKEN", "two words", 1);
  absl::StatusOr<Tokens> bad = Tokens::FromEnvironment("fallback");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("TRIAGE_LOADGEN_ADMIN_TOKEN"));
  EXPECT_THAT(bad.status().message(), Not(HasSubstr("two words")));  // never the token
  unsetenv("TRIAGE_LOADGEN_TRIAGER_TOKEN");
  unsetenv("TRIAGE_LOADGEN_ADMIN_TOKEN");
}

TEST(ReportPoolTest, RealisticReportsReusedInTurnWithIdsOfTheRun) {
  const ReportPool pool(500, 3, absl::FromUnixSeconds(1'780'000'000));
  ASSERT_EQ(pool.size(), 500u);
  std::set<v1::ReporterType> types;
  std::set<std::string> descriptions;
  for (int64_t n = 0; n < 500; ++n) {
    v1::SubmitReportRequest r;
    pool.FillSubmit("run", n, r);
    EXPECT_EQ(r.request_id(), "run-" + std::to_string(n));
    types.insert(r.report().reporter().type());
    descriptions.insert(r.report().description());
  }
  EXPECT_EQ(types.size(), 4u);  // every reporter type of the generator's mix
  EXPECT_GT(descriptions.size(), 50u);
  EXPECT_GT(pool.mean_description_bytes(), 40);
  v1::SubmitReportRequest first, again;
  pool.FillSubmit("run", 0, first);
  pool.FillSubmit("run", 500, again);
  EXPECT_EQ(first.report().SerializeAsString(), again.report().SerializeAsString());

  v1::ImportReportsRequest batch;
  pool.FillImport("run", 2, 10, batch);
  ASSERT_EQ(batch.reports_size(), 10);
  EXPECT_EQ(batch.reports(0).source_id(), "run-20");
  EXPECT_EQ(batch.reports(9).source_id(), "run-29");
  EXPECT_TRUE(batch.reports(0).has_received_time());
}

TEST(ReportPoolTest, PrebuiltSubmitBytesAreTheRequestSerialized) {
  const ReportPool pool(50, 3, absl::FromUnixSeconds(1'780'000'000));
  for (int64_t n : {int64_t{0}, int64_t{7}, int64_t{49}, int64_t{50}, int64_t{12'345'678'901}}) {
    v1::SubmitReportRequest typed;
    pool.FillSubmit("a-long-run-id-of-the-caller", n, typed);
    const std::string wire = WireBytes(pool.SubmitBytes("a-long-run-id-of-the-caller", n));
    EXPECT_EQ(wire, typed.SerializeAsString()) << n;
    v1::SubmitReportRequest parsed;
    ASSERT_TRUE(parsed.ParseFromString(wire));
    EXPECT_EQ(parsed.request_id(), "a-long-run-id-of-the-caller-" + std::to_string(n));
  }
}

grpc::ByteBuffer BufferOf(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

TEST(CheckSubmitReplyTest, AnOkReplyMustHoldBytesAndWhenParsedNameItsReport) {
  v1::SubmitReportResponse named;
  named.set_report_id("400SH0J9EBRTJ2B6XPPCYZQFYB");
  const grpc::ByteBuffer good = BufferOf(named.SerializeAsString());
  EXPECT_TRUE(CheckSubmitReply(grpc::Status::OK, good, false).ok());
  EXPECT_TRUE(CheckSubmitReply(grpc::Status::OK, good, true).ok());
  // Empty: wrong whether parsed or not.
  const grpc::ByteBuffer empty;
  EXPECT_EQ(CheckSubmitReply(grpc::Status::OK, empty, false).error_code(),
            grpc::StatusCode::INTERNAL);
  // Bytes that do not parse, or a reply that names no report, are caught when parsed.
  v1::SubmitReportResponse unnamed;
  unnamed.set_advice("no id");
  for (const std::string& bad : {std::string("\xff\xff\xff"), unnamed.SerializeAsString()}) {
    EXPECT_TRUE(CheckSubmitReply(grpc::Status::OK, BufferOf(bad), false).ok());
    EXPECT_EQ(CheckSubmitReply(grpc::Status::OK, BufferOf(bad), true).error_code(),
              grpc::StatusCode::INTERNAL);
  }
  // The server's own error passes through as it was.
  const grpc::Status refused(grpc::StatusCode::RESOURCE_EXHAUSTED, "busy");
  EXPECT_EQ(CheckSubmitReply(refused, good, true).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

Phase PhaseOf(std::string scenario, double seconds, std::map<Method, MethodResult> methods) {
  Phase p;
  p.scenario = std::move(scenario);
  p.concurrency = 64;
  p.result.elapsed = absl::Seconds(seconds);
  p.result.methods = std::move(methods);
  p.client_cpu_seconds = 0.5;
  return p;
}

TEST(SummaryTest, TextAndJsonGiveRatesPercentilesErrorsByCodeAndTheRatio) {
  MethodResult health;
  for (int i = 0; i < 1000; ++i) health.latency.Record(1000);
  health.ok = 1000;
  MethodResult submit;
  for (int i = 0; i < 500; ++i) submit.latency.Record(i < 495 ? 4000 : 50'000);
  submit.ok = 495;
  submit.errors[grpc::StatusCode::UNAVAILABLE] = 5;
  Phase baseline = PhaseOf("health", 1.0, {{Method::kHealth, health}});
  Phase run = PhaseOf("submit", 1.0, {{Method::kSubmit, submit}});
  run.server_cpu_seconds = 0.05;

  const std::string text = PhaseText(run, &baseline);
  EXPECT_THAT(text, HasSubstr("method=submit concurrency=64 ok=495 errors=5 seconds=1.00 "
                              "rate_per_s=500 p50_ms=4.03 "));  // 4000's bucket ends at 4031
  EXPECT_THAT(text, HasSubstr("p999_ms=50.00"));
  EXPECT_THAT(text, HasSubstr("errors_by_code=UNAVAILABLE:5"));
  EXPECT_THAT(text, HasSubstr("ratio_to_noop=0.495"));
  EXPECT_THAT(text, HasSubstr("server_cpu_us_per_call=100.0"));
  EXPECT_THAT(text, HasSubstr("client_cpu_us_per_call=1000.0"));

  const std::string json = RunJson(run, &baseline, {500, 120, 260});
  EXPECT_THAT(json, HasSubstr("\"ratio_to_noop\":0.4950"));
  EXPECT_THAT(json, HasSubstr("\"errors_by_code\":{\"UNAVAILABLE\":5}"));
  EXPECT_THAT(json, HasSubstr("\"p99\":4.031"));
  EXPECT_THAT(RunJson(run, nullptr, {500, 120, 260}), HasSubstr("\"baseline\":null"));
  EXPECT_THAT(RunJson(run, nullptr, {500, 120, 260}), HasSubstr("\"ratio_to_noop\":null"));
  EXPECT_THAT(json, HasSubstr("\"reports\":{\"distinct\":500,\"description_bytes_mean\":120.0,"
                              "\"submission_bytes_mean\":260.0}"));
  EXPECT_THAT(PoolText({500, 120, 260}), HasSubstr("# reports: 500 synthetic"));
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
}

// The SRE book's client-side throttling: nothing refused while the server accepts; past K
// requests per accept the client refuses with probability (requests - K*accepts) /
// (requests + 1); and it forgets what is older than its window.
TEST(AdaptiveThrottleTest, RefusesOnlyPastKRequestsPerAcceptAndForgetsOldAnswers) {
  AdaptiveThrottle throttle(2, absl::Seconds(2));
  absl::Time now = absl::FromUnixSeconds(1774258200);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(throttle.Admit(now, 0.0)) << "every answer accepted: never refused";
    throttle.Answered(now, i % 2 == 0 ? grpc::StatusCode::OK : grpc::StatusCode::NOT_FOUND);
  }
  // The server now refuses everything: 100 accepts stand against the requests.
  int sent = 0;
  for (int i = 0; i < 400; ++i) {
    if (throttle.Admit(now, 0.5)) {
      ++sent;
      throttle.Answered(now, grpc::StatusCode::RESOURCE_EXHAUSTED);
    }
  }
  // With R requests before it, one is refused at this draw once (R - 200) / (R + 1) > 0.5,
  // i.e. from R = 402 on: R = 100 to 401 are sent, 302 of them.
  EXPECT_EQ(sent, 302);
  EXPECT_FALSE(throttle.Admit(now, 0.5));
  EXPECT_TRUE(throttle.Admit(now, 0.99));
  for (grpc::StatusCode overload :
       {grpc::StatusCode::RESOURCE_EXHAUSTED, grpc::StatusCode::UNAVAILABLE,
        grpc::StatusCode::DEADLINE_EXCEEDED, grpc::StatusCode::CANCELLED}) {
    EXPECT_TRUE(AdaptiveThrottle::IsOverload(overload));
  }
  EXPECT_FALSE(AdaptiveThrottle::IsOverload(grpc::StatusCode::INVALID_ARGUMENT));

  now += absl::Seconds(3);  // past the window: a fresh start
  EXPECT_TRUE(throttle.Admit(now, 0.0));
}

}  // namespace
}  // namespace safeguarding::loadgen
