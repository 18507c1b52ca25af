// The triage desk as a user works it, with triagectl against the real server binary: list
// the queues, claim the most urgent report (a second triager gets another), add a note,
// decide, read the history, list, and the refusals' exit codes; --json prints the messages.
// Also the statistics as a user reaches them: generate, import, stats compare/shifts/volumes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <regex>

#include "absl/strings/str_cat.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_certs.h"
#include "tests/support/test_credentials.h"
#include "tests/support/test_server.h"

namespace safeguarding {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using ::testing::HasSubstr;
using ::testing::Not;

class DeskCliTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(StartServer()); }
  // Flags a test's server gets besides the fixture's.
  virtual std::vector<std::string> ExtraFlags() const { return {}; }
  void StartServer() {
    std::vector<std::string> flags = {
        "--listen=127.0.0.1:0", "--data_dir=" + dir_.Sub("db"), "--insecure",
        "--key_file=" + testing::TestKeyFile(dir_.Sub("db")),
        "--audit_key_file=" + testing::TestAuditKeyFile(dir_.Sub("db")),
        "--credentials_file=" + credentials_.path(),
        // No daily run: it would change what a test expects.
        "--retention=no_further_action=30d,duplicate=30d", "--purge_daily_at="};
    for (std::string& flag : ExtraFlags()) flags.push_back(std::move(flag));
    server_ = std::make_unique<testing::ServerProcess>(flags, dir_.Sub("server.log"));
    std::optional<std::string> address = server_->WaitUntilListening(absl::Seconds(20));
    ASSERT_TRUE(address) << server_->Log();
    address_ = *address;
  }
  void TearDown() override {
    server_->Signal(SIGTERM);
    EXPECT_EQ(server_->WaitForExit(absl::Seconds(30)), 0) << server_->Log();
  }

  testing::CommandResult Ctl(std::vector<std::string> args, v1::Role role) {
    args.insert(args.begin(), {"--server", address_});
    return testing::RunTriagectl(args, credentials_.token(role));
  }
  std::string Submit(std::vector<std::string> flags) {
    flags.insert(flags.begin(), "submit");
    testing::CommandResult r = Ctl(flags, v1::ROLE_INTAKE);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::smatch id;
    EXPECT_TRUE(std::regex_search(r.output, id, std::regex("[0-9A-HJKMNP-TV-Z]{26}")));
    return id.str();
  }

  testing::TempDir dir_;
  testing::TestCredentials credentials_{dir_.Sub("credentials")};
  std::unique_ptr<testing::ServerProcess> server_;
  std::string address_;
};

TEST_F(DeskCliTest, ATriagerClaimsTheMostUrgentReportNotesDecidesAndReadsItsHistory) {
  const std::string standard = Submit({"--reporter", "parent-carer", "--category", "grooming",
                                       "--description", "messages to my son"});
  const std::string immediate =
      Submit({"--reporter", "child", "--age", "13", "--category", "contact-abuse",
              "--immediate-danger", "--description", "he is outside my house now"});

  testing::CommandResult queues = Ctl({"queues"}, v1::ROLE_TRIAGER);
  ASSERT_EQ(queues.exit_code, 0) << queues.output;
  EXPECT_THAT(queues.output, HasSubstr("immediate"));
  EXPECT_THAT(queues.output, HasSubstr("parent-carer"));

  testing::CommandResult claim = Ctl({"claim", "--lease", "10m"}, v1::ROLE_TRIAGER);
  ASSERT_EQ(claim.exit_code, 0) << claim.output;
  EXPECT_THAT(claim.output, HasSubstr(immediate)) << "IMMEDIATE first";
  EXPECT_THAT(claim.output, HasSubstr("immediate-danger")) << "the rules that placed it";
  EXPECT_THAT(claim.output, HasSubstr("he is outside my house now"));
  std::smatch claim_id;
  ASSERT_TRUE(std::regex_search(claim.output, claim_id, std::regex("clm_[0-9a-f]{32}")));

  testing::CommandResult other = Ctl({"claim"}, v1::ROLE_SUPERVISOR);
  ASSERT_EQ(other.exit_code, 0) << other.output;
  EXPECT_THAT(other.output, HasSubstr(standard)) << "a second claimer gets another report";

  testing::CommandResult note =
      Ctl({"note", immediate, "--text", "police on the way"}, v1::ROLE_TRIAGER);
  EXPECT_EQ(note.exit_code, 0) << note.output;
  testing::CommandResult decided = Ctl({"decide", immediate, "--claim", claim_id.str(), "--outcome",
                                        "referred-to-police", "--note", "999 called"},
                                       v1::ROLE_TRIAGER);
  ASSERT_EQ(decided.exit_code, 0) << decided.output;
  EXPECT_THAT(decided.output, HasSubstr("referred-to-police"));

  testing::CommandResult history = Ctl({"history", immediate}, v1::ROLE_TRIAGER);
  ASSERT_EQ(history.exit_code, 0) << history.output;
  for (const char* step :
       {"submitted", "claimed", "note-added", "police on the way", "decided", "999 called"}) {
    EXPECT_THAT(history.output, HasSubstr(step));
  }
  testing::CommandResult json = Ctl({"--json", "history", immediate}, v1::ROLE_TRIAGER);
  ASSERT_EQ(json.exit_code, 0) << json.output;
  EXPECT_THAT(json.output, HasSubstr("\"REPORT_EVENT_TYPE_DECIDED\""));

  testing::CommandResult listed = Ctl({"list", "--state", "closed"}, v1::ROLE_TRIAGER);
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_THAT(listed.output, HasSubstr(immediate));
  EXPECT_THAT(listed.output, Not(HasSubstr(standard))) << "claimed, not closed";
  EXPECT_THAT(listed.output, Not(HasSubstr("outside my house"))) << "a listing has no contents";
  testing::CommandResult none =
      Ctl({"list", "--state", "closed", "--queue", "no-such-queue"}, v1::ROLE_TRIAGER);
  ASSERT_EQ(none.exit_code, 0) << none.output;
  EXPECT_EQ(none.output, "No reports match.\n") << "no header over nothing";

  testing::CommandResult again =
      Ctl({"decide", immediate, "--claim", claim_id.str(), "--outcome", "no-further-action"},
          v1::ROLE_TRIAGER);
  EXPECT_EQ(again.exit_code, 3) << again.output;  // refused by the server
  EXPECT_THAT(again.output, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_THAT(again.output, HasSubstr("CLOSED"));
  testing::CommandResult bad =
      Ctl({"decide", immediate, "--claim", claim_id.str(), "--outcome", "shrug"}, v1::ROLE_TRIAGER);
  EXPECT_EQ(bad.exit_code, 2) << bad.output;  // a usage error, never sent
  testing::CommandResult monitor = Ctl({"queues"}, v1::ROLE_MONITOR);
  EXPECT_THAT(monitor.output, HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(server_->Log(), Not(HasSubstr("police on the way"))) << "no contents in the log";

  // Who read or changed it, with their roles; a caller without a token has none.
  testing::CommandResult audit = Ctl({"audit", "--report", immediate}, v1::ROLE_SUPERVISOR);
  ASSERT_EQ(audit.exit_code, 0) << audit.output;
  EXPECT_THAT(audit.output, HasSubstr("(intake)"));
  EXPECT_THAT(audit.output, HasSubstr("(triager)"));
  EXPECT_THAT(audit.output, HasSubstr("RecordDecision"));
  testing::CommandResult anonymous =
      testing::RunTriagectl({"--server", address_, "show", immediate}, "");
  EXPECT_THAT(anonymous.output, HasSubstr("UNAUTHENTICATED"));
  EXPECT_THAT(anonymous.output, HasSubstr("triagectl sends the token in TRIAGECTL_TOKEN"));
  testing::CommandResult all = Ctl({"audit"}, v1::ROLE_SUPERVISOR);
  ASSERT_EQ(all.exit_code, 0) << all.output;
  EXPECT_THAT(all.output, HasSubstr("(unauthenticated) (no role)"));
  EXPECT_THAT(all.output, Not(HasSubstr("unspecified")));
}

TEST_F(DeskCliTest, WatchShowsDepthsChangeAndEndsCleanlyOnCtrlC) {
  testing::ServerProcess watch(
      testing::TriagectlBinary(),
      {"--server", address_, "--token", credentials_.token(v1::ROLE_TRIAGER), "--json", "watch",
       "--queue", "child"},
      dir_.Sub("watch.log"));
  auto wait_for = [&](const std::string& text) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (watch.Log().find(text) == std::string::npos && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    return watch.Log().find(text) != std::string::npos;
  };
  ASSERT_TRUE(wait_for("\"queue\":\"child\"")) << "the snapshot: " << watch.Log();
  Submit({"--reporter", "child", "--category", "grooming", "--description", "a message"});
  EXPECT_TRUE(wait_for("\"depth\":\"1\"")) << watch.Log();
  watch.Signal(SIGINT);  // Ctrl-C
  EXPECT_EQ(watch.WaitForExit(absl::Seconds(10)), 0) << watch.Log();

  // The live table lists the queues in the policy's order, as `queues` does.
  testing::ServerProcess table(
      testing::TriagectlBinary(),
      {"--server", address_, "--token", credentials_.token(v1::ROLE_TRIAGER), "watch"},
      dir_.Sub("table.log"));
  // The last table drawn, once it is complete and shows every queue of the snapshot.
  auto last_table = [&table] {
    const std::string log = table.Log();
    const size_t start = log.rfind("QUEUE");
    return start == std::string::npos ? std::string() : log.substr(start);
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while ((last_table().find("professional") == std::string::npos ||
          last_table().find("(watching") == std::string::npos) &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const std::string drawn = last_table();
  ASSERT_NE(drawn.find("(watching"), std::string::npos) << table.Log();
  EXPECT_LT(drawn.find("immediate"), drawn.find("child")) << drawn;
  testing::CommandResult queues = Ctl({"queues"}, v1::ROLE_TRIAGER);
  EXPECT_LT(queues.output.find("immediate"), queues.output.find("child")) << queues.output;
  // The first frame is already whole: every queue, not only the first the stream sent.
  const std::string log = table.Log();
  const size_t first = log.find("QUEUE");
  ASSERT_NE(first, std::string::npos) << log;
  const std::string first_frame = log.substr(first, log.find("(watching", first) - first);
  for (const char* queue : {"immediate", "child", "professional"}) {
    EXPECT_THAT(first_frame, HasSubstr(queue)) << first_frame;
  }
  table.Signal(SIGINT);
  EXPECT_EQ(table.WaitForExit(absl::Seconds(10)), 0) << table.Log();
}

}  // namespace
}  // namespace safeguarding

namespace safeguarding {
namespace {

// The statistics as a user reaches them: generate a synthetic season in which
// professionals' reports fall by half from a date, import it (twice: nothing is imported
// again), see the drop in `stats compare`, `stats shifts` and `stats volumes`, and recount.
// Retention as an operator runs it: a dry run says what would go, per outcome, and changes
// nothing; the purge removes exactly that; a second finds nothing left; the statistics
// still agree with the reports.
TEST_F(DeskCliTest, AnAdminPurgesLastYearsClosedReportsAfterADryRun) {
  const std::string file = dir_.Sub("last-year.jsonl");
  testing::CommandResult generated =
      testing::RunTriagectl({"generate", "--out", file, "--start", "2025-09-01", "--days", "20",
                             "--per-day", "30", "--seed", "3"},
                            "");
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  ASSERT_EQ(Ctl({"import", file}, v1::ROLE_SUPERVISOR).exit_code, 0);

  const std::regex count(
      "(Dry run:|Purged) ([0-9]+) reports (would be purged )?\\(of ([0-9]+) closed");
  const std::string periods =
      "Retention periods in force (after the decision): no-further-action 30d, duplicate 30d; "
      "other outcomes are kept for ever.\n";
  testing::CommandResult dry = Ctl({"admin", "purge", "--dry-run"}, v1::ROLE_ADMIN);
  ASSERT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_THAT(dry.output, HasSubstr(periods));
  EXPECT_THAT(dry.output, HasSubstr("Nothing was changed (dry run).")) << dry.output;
  std::smatch dry_count;
  ASSERT_TRUE(std::regex_search(dry.output, dry_count, count)) << dry.output;
  const int would = std::stoi(dry_count[2]);
  EXPECT_GT(would, 0);
  EXPECT_LT(would, std::stoi(dry_count[4])) << "outcomes without a period stay";
  EXPECT_THAT(dry.output, ::testing::ContainsRegex("no-further-action +[1-9]"));
  EXPECT_THAT(dry.output, Not(HasSubstr("referred-to-police")));

  testing::CommandResult purged = Ctl({"admin", "purge"}, v1::ROLE_ADMIN);
  ASSERT_EQ(purged.exit_code, 0) << purged.output;
  std::smatch purged_count;
  ASSERT_TRUE(std::regex_search(purged.output, purged_count, count)) << purged.output;
  EXPECT_EQ(std::stoi(purged_count[2]), would) << "what the dry run said, no more";
  EXPECT_THAT(purged.output, Not(HasSubstr("Nothing was changed")));
  testing::CommandResult again = Ctl({"admin", "purge"}, v1::ROLE_ADMIN);
  EXPECT_THAT(again.output, HasSubstr("Purged 0 reports")) << again.output;
  // Nothing left to go: the dry run says so, and why (the periods in force).
  testing::CommandResult nothing = Ctl({"admin", "purge", "--dry-run"}, v1::ROLE_ADMIN);
  ASSERT_EQ(nothing.exit_code, 0) << nothing.output;
  EXPECT_THAT(nothing.output, ::testing::StartsWith("Dry run: 0 reports would be purged (of "));
  EXPECT_THAT(nothing.output, ::testing::EndsWith(periods + "Nothing was changed (dry run).\n"));
  // The audit trail records which purges were dry runs (and any closed-before bound).
  testing::CommandResult bounded = Ctl(
      {"admin", "purge", "--dry-run", "--closed-before", "2025-10-01T00:00:00Z"}, v1::ROLE_ADMIN);
  ASSERT_EQ(bounded.exit_code, 0) << bounded.output;
  testing::CommandResult audit = Ctl({"audit", "--limit", "100000", "--principal",
                                      testing::TestCredentials::PrincipalFor(v1::ROLE_ADMIN)},
                                     v1::ROLE_SUPERVISOR);
  ASSERT_EQ(audit.exit_code, 0) << audit.output;
  EXPECT_THAT(audit.output,
              ::testing::ContainsRegex("/PurgeExpiredReports  -  OK  [^\n]*  \\(dry run\\)\n"));
  EXPECT_THAT(audit.output, HasSubstr("  (dry run, closed before 2025-10-01 00:00:00 UTC)\n"));

  EXPECT_EQ(Ctl({"admin", "purge"}, v1::ROLE_SUPERVISOR).exit_code, 3) << "admins only";
  testing::CommandResult recount = Ctl({"admin", "recount"}, v1::ROLE_ADMIN);
  EXPECT_EQ(recount.exit_code, 0) << recount.output;
  EXPECT_THAT(recount.output, HasSubstr("no difference"));
}

// No server needed: the help of `admin purge` says what goes, what stays, and what a dry
// run does.
TEST(DeskCliHelpTest, PurgeHelpSaysWhatGoesWhatStaysAndThatADryRunChangesNothing) {
  testing::CommandResult help = testing::RunTriagectl({"admin", "purge", "--help"}, "");
  ASSERT_EQ(help.exit_code, 0) << help.output;
  // Compared with the line breaks taken out.
  const std::string flat = std::regex_replace(help.output, std::regex("\\s+"), " ");
  for (const char* said :
       {"Deleted from each: the description, the reporter's contact details, the platform "
        "name and the texts of its events",
        "Kept: a tombstone", "the statistics counters", "the audit trail",
        "A purge cannot be undone", "--dry-run deletes nothing and changes nothing"}) {
    EXPECT_THAT(flat, HasSubstr(said)) << help.output;
  }
}

TEST_F(DeskCliTest, AGeneratedSeasonImportedShowsTheProfessionalDropInEveryStatsCommand) {
  const std::string file = dir_.Sub("season.jsonl");
  testing::CommandResult generated = testing::RunTriagectl(
      {"generate", "--out", file, "--start", "2026-01-05", "--days", "140", "--per-day", "150",
       "--seed", "7", "--shift", "professional:-50@2026-03-02"},
      "");
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  testing::CommandResult imported = Ctl({"import", file}, v1::ROLE_SUPERVISOR);
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  EXPECT_THAT(imported.output, HasSubstr(" 0 already imported, 0 refused"));
  testing::CommandResult again = Ctl({"import", file}, v1::ROLE_SUPERVISOR);
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, ::testing::StartsWith("0 imported, "));

  // Five weeks of term before and after (no school holiday in either).
  testing::CommandResult compared = Ctl(
      {"stats", "compare", "--baseline-from", "2026-01-05", "--baseline-to", "2026-02-09",
       "--comparison-from", "2026-04-20", "--comparison-to", "2026-05-25", "--by", "reporter-type"},
      v1::ROLE_MONITOR);
  ASSERT_EQ(compared.exit_code, 0) << compared.output;
  EXPECT_THAT(compared.output,
              ::testing::ContainsRegex("reporter-type=PROFESSIONAL .* significant-drop"));
  EXPECT_THAT(compared.output, ::testing::ContainsRegex("reporter-type=CHILD .* stable"));
  EXPECT_THAT(compared.output, ::testing::ContainsRegex("reporter-type=PARENT_CARER .* stable"));

  testing::CommandResult shifts = Ctl(
      {"stats", "shifts", "--from", "2026-01-05", "--to", "2026-05-25", "--by", "reporter-type"},
      v1::ROLE_MONITOR);
  ASSERT_EQ(shifts.exit_code, 0) << shifts.output;
  EXPECT_THAT(shifts.output,
              ::testing::ContainsRegex("PROFESSIONAL .* fell [4-6][0-9]% from 2026-0(2-2|3-0)"))
      << "found within a few days of 2 March";
  EXPECT_THAT(shifts.output, ::testing::ContainsRegex("CHILD .* no shift"));

  testing::CommandResult chart =
      Ctl({"stats", "volumes", "--from", "2026-01-05", "--to", "2026-05-25", "--granularity",
           "week", "--by", "reporter-type", "--svg", dir_.Sub("volumes.svg")},
          v1::ROLE_SUPERVISOR);
  ASSERT_EQ(chart.exit_code, 0) << chart.output;
  EXPECT_THAT(chart.output, HasSubstr("reporter-type=PROFESSIONAL"));
  EXPECT_THAT(chart.output, HasSubstr("█"));
  EXPECT_THAT(testing::ReadFileOrThrow(dir_.Sub("volumes.svg")), HasSubstr("<svg"));

  // The counters the import kept agree with the imported reports.
  testing::CommandResult recount = Ctl({"admin", "recount"}, v1::ROLE_ADMIN);
  EXPECT_EQ(recount.exit_code, 0) << recount.output;
  EXPECT_THAT(recount.output, ::testing::ContainsRegex("Recounted [1-9][0-9]+ reports; [1-9][0-9]+ "
                                                       "counters compared: no difference"));
  EXPECT_EQ(Ctl({"admin", "recount"}, v1::ROLE_SUPERVISOR).exit_code, 3);  // admins only
}

// Without retention periods a purge is refused, and the refusal says how to set them,
// also for a server started with `make run`.
class DeskCliNoRetentionTest : public DeskCliTest {
 protected:
  std::vector<std::string> ExtraFlags() const override { return {"--retention="}; }
};

TEST_F(DeskCliNoRetentionTest, APurgeWithoutPeriodsSaysHowToSetThem) {
  testing::CommandResult refused = Ctl({"admin", "purge", "--dry-run"}, v1::ROLE_ADMIN);
  EXPECT_EQ(refused.exit_code, 3) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("FAILED_PRECONDITION: no retention period is set"));
  EXPECT_THAT(refused.output, HasSubstr("--retention=no_further_action=400d"));
  EXPECT_THAT(refused.output, HasSubstr("make run RETENTION=no_further_action=400d"));
}

// An import meets a server whose import budget is smaller than triagectl's calls in flight
// (--max_imports_in_flight=1 against --in-flight 4): the refused batches ("server busy")
// are sent again after a short pause, and every report is imported once.
class DeskCliBusyServerTest : public DeskCliTest {
 protected:
  std::vector<std::string> ExtraFlags() const override { return {"--max_imports_in_flight=1"}; }
};

TEST_F(DeskCliBusyServerTest, AnImportRefusedAsBusyIsSentAgainAndCompletes) {
  const std::string file = dir_.Sub("busy.jsonl");
  testing::CommandResult generated =
      testing::RunTriagectl({"generate", "--out", file, "--start", "2026-01-05", "--days", "8",
                             "--per-day", "50", "--seed", "5"},
                            "");
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  testing::CommandResult imported =
      Ctl({"import", file, "--batch", "25", "--in-flight", "4"}, v1::ROLE_SUPERVISOR);
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  EXPECT_THAT(imported.output, ::testing::ContainsRegex("^[1-9][0-9]* imported, 0 already "
                                                        "imported, 0 refused"));
  EXPECT_THAT(server_->Log(), Not(HasSubstr("ImportReports failed")));
  testing::CommandResult again =
      Ctl({"import", file, "--batch", "25", "--in-flight", "4"}, v1::ROLE_SUPERVISOR);
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, ::testing::StartsWith("0 imported, ")) << "each report once";
}

}  // namespace
}  // namespace safeguarding
