// The triage desk's workflow (triage/desk.h): claim order, ageing, leases (renew, release,
// expiry, restart), decisions, every refused transition with its code, who may act on
// whose claim, reprioritising, notes, queue summaries and listings.
#include <map>
#include <set>

#include "tests/support/bad_request.h"
#include "tests/unit/desk_fixture.h"

namespace safeguarding::triage::desk_testing {
namespace {

TEST_F(DeskTest, ClaimOrderIsImmediateFirstThenEarliestDueThenArrival) {
  // Reports in (at minutes 0, 1, 2, ...), claim order out (any queue).
  const std::string standard_0 = Submit(Standard);  // due 24h
  clock_.Advance(absl::Minutes(1));
  const std::string urgent_1 = Submit(Urgent);  // due 4h01
  clock_.Advance(absl::Minutes(1));
  const std::string immediate_2 = Submit(Immediate);  // due 1h02, queue "immediate"
  clock_.Advance(absl::Minutes(1));
  const std::string urgent_parent_3 = Submit([](auto& s) {  // due 4h03, another queue
    Urgent(s);
    FromParent(s);
  });
  clock_.Advance(absl::Minutes(1));
  const std::string immediate_4 = Submit(Immediate);        // due 1h04
  const std::string standard_same_time = Submit(Standard);  // due 24h04, after standard_0

  std::vector<std::string> order;
  for (std::string id = ClaimId(alice_); !id.empty(); id = ClaimId(alice_)) order.push_back(id);
  EXPECT_THAT(order, ElementsAreArray({immediate_2, immediate_4, urgent_1, urgent_parent_3,
                                       standard_0, standard_same_time}));
}

TEST_F(DeskTest, WithinOneQueueOnlyThatQueueIsClaimedAndAnUnknownQueueIsRefused) {
  const std::string child = Submit(Standard);
  const std::string parent = Submit(FromParent);
  EXPECT_EQ(ClaimId(alice_, "parent-carer"), parent);
  EXPECT_EQ(ClaimId(alice_, "parent-carer"), "") << "nothing else waits there";
  EXPECT_EQ(ClaimId(alice_, "professional"), "") << "a declared queue with nothing in it";
  EXPECT_EQ(Claim(alice_, "nowhere").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ClaimId(alice_, "child"), child);

  // The refusal repeats the caller's name escaped, so a line break in it cannot forge a line.
  const absl::Status forged = Claim(alice_, "x\nAUDIT ok").status();
  EXPECT_EQ(forged.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(safeguarding::testing::ViolationOf(forged, "queue"), "no queue named \"x\\nAUDIT ok\"");
}

// A request naming queues stays cheap to refuse: past 64 names it is refused whole, and of
// its unknown names only the first 10 are repeated.
TEST_F(DeskTest, CheckingQueueNamesIsBoundedInWhatItEchoes) {
  EXPECT_TRUE(desk_->CheckQueues({"child", "parent-carer"}).ok());
  std::vector<std::string> unknown;
  for (int i = 0; i < 15; ++i) unknown.push_back(absl::StrCat("nowhere-", i));
  const std::optional<google::rpc::BadRequest> some =
      safeguarding::testing::BadRequestOf(desk_->CheckQueues(unknown));
  ASSERT_TRUE(some.has_value());
  ASSERT_EQ(some->field_violations_size(), 11);
  EXPECT_EQ(some->field_violations(9).description(), "no queue named \"nowhere-9\"");
  EXPECT_EQ(some->field_violations(10).description(), "and 5 more unknown queues");

  const std::vector<std::string> many(65, "child");
  EXPECT_EQ(safeguarding::testing::ViolationOf(desk_->CheckQueues(many), "queues"),
            "at most 64 queues, not 65");
}

TEST_F(DeskTest, ALongWaitingStandardReportOvertakesAFreshUrgentOneOnceDueSooner) {
  const std::string standard = Submit(Standard);  // due at 24h
  clock_.Advance(absl::Hours(21));
  const std::string urgent_later = Submit(Urgent);  // due at 25h: after the standard one
  clock_.Advance(absl::Hours(-2));  // (an URGENT report received at 19h would be due at 23h)
  const std::string urgent_sooner = Submit(Urgent);
  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(ClaimId(alice_), urgent_sooner);
  EXPECT_EQ(ClaimId(alice_), standard) << "due at 24h, before the URGENT report due at 25h";
  EXPECT_EQ(ClaimId(alice_), urgent_later);
}

TEST_F(DeskTest, AClaimIsALeaseThatCanBeRenewedAndThatExpiresBackIntoItsPlace) {
  const std::string first = Submit(Standard);
  const std::string second = Submit(Standard);
  auto claim = Claim(alice_, "", absl::Minutes(5));
  ASSERT_TRUE(claim.ok()) << claim.status();
  EXPECT_EQ(claim->report().id(), first);
  EXPECT_EQ(claim->claim().holder(), "alice");
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(claim->claim().expire_time()),
            absl::ToUnixMicros(clock_.Now() + absl::Minutes(5)));
  EXPECT_TRUE(claim->report().claim().claim_id().empty()) << "the claim id is the holder's";
  EXPECT_EQ(Read(first).state(), v1::REPORT_STATE_CLAIMED);

  clock_.Advance(absl::Minutes(4));
  auto renewed = Renew(alice_, claim->claim(), absl::Minutes(10));
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(renewed->expire_time()),
            absl::ToUnixMicros(clock_.Now() + absl::Minutes(10)));
  clock_.Advance(absl::Minutes(9));
  ExpireAndWait(0);  // still held
  EXPECT_EQ(Read(first).state(), v1::REPORT_STATE_CLAIMED);

  clock_.Advance(absl::Minutes(2));
  EXPECT_EQ(Renew(alice_, claim->claim()).status().code(), absl::StatusCode::kFailedPrecondition)
      << "an ended lease cannot be renewed, even before the keeper has passed";
  ExpireAndWait(1);
  EXPECT_EQ(Read(first).state(), v1::REPORT_STATE_QUEUED);
  EXPECT_EQ(History(first).back().type(), v1::REPORT_EVENT_TYPE_CLAIM_EXPIRED);
  EXPECT_EQ(ClaimId(bob_), first) << "back in its place, ahead of the later report";
  EXPECT_EQ(ClaimId(bob_), second);
}

TEST_F(DeskTest, LeasesAreBoundedByTheServersDefaultMaximumAndMinimum) {
  EXPECT_EQ(*desk_->LeaseFor(nullptr), absl::Minutes(15));
  google::protobuf::Duration d;
  d.set_seconds(5);
  EXPECT_EQ(*desk_->LeaseFor(&d), kMinLease);
  d.set_seconds(24 * 3600);
  EXPECT_EQ(*desk_->LeaseFor(&d), absl::Hours(1));
  d.set_seconds(-1);
  EXPECT_EQ(desk_->LeaseFor(&d).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DeskTest, AReleaseGivesTheReportBackWithItsReasonInTheHistory) {
  const std::string id = Submit(Standard);
  auto claim = Claim(alice_);
  ASSERT_TRUE(claim.ok());
  EXPECT_EQ(Release(alice_, id, claim->claim().claim_id(), "").status().code(),
            absl::StatusCode::kInvalidArgument)
      << "a reason is required";
  auto released = Release(alice_, id, claim->claim().claim_id());
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_EQ(released->state(), v1::REPORT_STATE_QUEUED);
  EXPECT_FALSE(released->has_claim());
  const v1::ReportEvent last = History(id).back();
  EXPECT_EQ(last.type(), v1::REPORT_EVENT_TYPE_RELEASED);
  EXPECT_EQ(last.text(), "needs a Welsh speaker");
  EXPECT_EQ(last.actor(), "alice");
  EXPECT_EQ(ClaimId(bob_), id);
}

TEST_F(DeskTest, ADecisionByTheHolderClosesTheReportWithItsOutcome) {
  const std::string id = Submit(Standard);
  auto claim = Claim(alice_);
  ASSERT_TRUE(claim.ok());
  clock_.Advance(absl::Minutes(3));
  auto decided = Decide(alice_, id, claim->claim().claim_id());
  ASSERT_TRUE(decided.ok()) << decided.status();
  EXPECT_EQ(decided->state(), v1::REPORT_STATE_CLOSED);
  EXPECT_EQ(decided->outcome(), v1::OUTCOME_REFERRED_TO_POLICE);
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(decided->closed_time()),
            absl::ToUnixMicros(clock_.Now()));
  const v1::Report stored = Read(id);
  EXPECT_EQ(stored.state(), v1::REPORT_STATE_CLOSED);
  EXPECT_EQ(stored.event_count(), 3u);
  std::vector<v1::ReportEvent> history = History(id);
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[1].type(), v1::REPORT_EVENT_TYPE_CLAIMED);
  EXPECT_EQ(history[2].type(), v1::REPORT_EVENT_TYPE_DECIDED);
  EXPECT_EQ(history[2].text(), "police informed; ref 4411");
  EXPECT_EQ(history[2].outcome(), v1::OUTCOME_REFERRED_TO_POLICE);
  EXPECT_EQ(ClaimId(bob_), "") << "a closed report is in no queue";
}

TEST_F(DeskTest, EveryTransitionTheWorkflowForbidsIsRefusedWithItsState) {
  // Arrival order is claim order here: claim the first, decide the second, leave the third.
  const std::string claimed = Submit(Standard);
  const std::string closed = Submit(Standard);
  const std::string queued = Submit(Standard);
  auto first = Claim(alice_);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->report().id(), claimed);
  const std::string claim_id = first->claim().claim_id();
  auto second = Claim(alice_);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->report().id(), closed);
  ASSERT_TRUE(Decide(alice_, closed, second->claim().claim_id()).ok());

  struct Refused {
    const char* what;
    absl::Status status;
    absl::StatusCode code;
    const char* says;
  };
  const Refused refused[] = {
      {"deciding a queued report", Decide(alice_, queued, "clm_x").status(),
       absl::StatusCode::kFailedPrecondition, "is QUEUED"},
      {"deciding a closed report", Decide(alice_, closed, "clm_x").status(),
       absl::StatusCode::kFailedPrecondition, "is CLOSED"},
      {"releasing a queued report", Release(alice_, queued, "clm_x").status(),
       absl::StatusCode::kFailedPrecondition, "is QUEUED"},
      {"a wrong claim id", Decide(alice_, claimed, "clm_wrong").status(),
       absl::StatusCode::kFailedPrecondition, "claim_id is not that claim's id"},
      {"someone else's claim", Release(bob_, claimed, claim_id).status(),
       absl::StatusCode::kFailedPrecondition, "is CLAIMED by alice"},
      {"renewing someone else's claim",
       [&] {
         v1::Claim theirs;
         theirs.set_report_id(claimed);
         theirs.set_claim_id(claim_id);
         return Renew(bob_, theirs).status();
       }(),
       absl::StatusCode::kFailedPrecondition, "is CLAIMED by alice"},
      {"no claim id from a triager", Decide(alice_, claimed, "").status(),
       absl::StatusCode::kInvalidArgument, "claim_id"},
      {"a report that does not exist",
       Decide(alice_, ReportId::Generate(clock_.Now()).ToString(), "clm_x").status(),
       absl::StatusCode::kNotFound, "not found"},
      {"a malformed id", Decide(alice_, "not-an-id", "clm_x").status(),
       absl::StatusCode::kInvalidArgument, "report_id"},
      {"no outcome", Decide(alice_, claimed, claim_id, v1::OUTCOME_UNSPECIFIED).status(),
       absl::StatusCode::kInvalidArgument, "outcome"},
      {"a duplicate without its original",
       Decide(alice_, claimed, claim_id, v1::OUTCOME_DUPLICATE).status(),
       absl::StatusCode::kInvalidArgument, "duplicate_of"},
      {"a duplicate of a report that does not exist",
       Decide(alice_, claimed, claim_id, v1::OUTCOME_DUPLICATE,
              ReportId::Generate(clock_.Now()).ToString())
           .status(),
       absl::StatusCode::kNotFound, "duplicate_of"},
      {"a duplicate of itself",
       Decide(alice_, claimed, claim_id, v1::OUTCOME_DUPLICATE, claimed).status(),
       absl::StatusCode::kInvalidArgument, "duplicate_of"},
  };
  for (const Refused& r : refused) {
    EXPECT_EQ(r.status.code(), r.code) << r.what << ": " << r.status;
    EXPECT_THAT(std::string(r.status.message()), HasSubstr(r.says)) << r.what;
  }
  EXPECT_EQ(Read(claimed).state(), v1::REPORT_STATE_CLAIMED) << "nothing changed";

  auto duplicate = Decide(alice_, claimed, claim_id, v1::OUTCOME_DUPLICATE, closed);
  ASSERT_TRUE(duplicate.ok()) << duplicate.status();
  EXPECT_EQ(duplicate->duplicate_of(), closed);
}

TEST_F(DeskTest, ASupervisorMayReleaseAndDecideOthersClaimsButNotRenewThem) {
  const std::string first = Submit(Standard);
  const std::string second = Submit(Standard);
  auto a = Claim(alice_);
  auto b = Claim(alice_);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(Decide(sam_, first, "").ok()) << "no claim id needed";
  auto released = Release(sam_, second, "", "alice is off sick");
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_EQ(History(second).back().actor(), "sam");
  auto mine = Claim(alice_);
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(Renew(sam_, mine->claim()).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(DeskTest, ClaimsSurviveARestartAndAnExpiredOneComesBack) {
  const std::string long_lease = Submit(Standard);
  const std::string short_lease = Submit(Standard);
  auto held = Claim(alice_, "", absl::Hours(1));
  auto lapsing = Claim(bob_, "", absl::Minutes(1));
  ASSERT_TRUE(held.ok() && lapsing.ok());
  ASSERT_EQ(held->report().id(), long_lease);
  Reopen();
  clock_.Advance(absl::Minutes(2));
  EXPECT_EQ(store_->queue().Snapshot().claims.size(), 2u) << "both claims were reloaded";
  ExpireAndWait(1);
  EXPECT_EQ(Read(short_lease).state(), v1::REPORT_STATE_QUEUED);
  EXPECT_EQ(Read(long_lease).state(), v1::REPORT_STATE_CLAIMED);
  EXPECT_TRUE(Renew(alice_, held->claim()).ok()) << "the live claim's id still works";
  EXPECT_EQ(ClaimId(bob_), short_lease);
}

TEST_F(DeskTest, ReprioritisingRecomputesTheDueTimeAndThePlaceInTheQueue) {
  const std::string first = Submit(Standard);
  const std::string second = Submit(Standard);
  EXPECT_EQ(Reprioritise(alice_, second, v1::PRIORITY_URGENT, "").status().code(),
            absl::StatusCode::kInvalidArgument)
      << "a reason is required";
  EXPECT_EQ(Reprioritise(alice_, second, v1::PRIORITY_STANDARD).status().code(),
            absl::StatusCode::kFailedPrecondition)
      << "already STANDARD";
  auto changed = Reprioritise(alice_, second, v1::PRIORITY_URGENT);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(changed->triage().priority(), v1::PRIORITY_URGENT);
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(changed->triage().due_time()),
            TimeUtil::TimestampToMicroseconds(changed->received_time()) +
                absl::ToInt64Microseconds(absl::Hours(4)));
  const v1::ReportEvent event = History(second).back();
  EXPECT_EQ(event.type(), v1::REPORT_EVENT_TYPE_REPRIORITISED);
  EXPECT_EQ(event.previous_priority(), v1::PRIORITY_STANDARD);
  EXPECT_EQ(event.priority(), v1::PRIORITY_URGENT);
  EXPECT_EQ(event.text(), "the child is 9, not 13");
  EXPECT_EQ(ClaimId(bob_), second) << "due sooner now";
  EXPECT_EQ(ClaimId(bob_), first);
}

TEST_F(DeskTest, AReprioritisedClaimKeepsItsNewPlaceWhenItComesBack) {
  const std::string first = Submit(Standard);
  const std::string second = Submit(Standard);
  auto mine = Claim(alice_);
  ASSERT_EQ(mine->report().id(), first);
  auto theirs = Claim(bob_);
  ASSERT_EQ(theirs->report().id(), second);
  EXPECT_EQ(Reprioritise(alice_, second, v1::PRIORITY_URGENT).status().code(),
            absl::StatusCode::kFailedPrecondition)
      << "bob holds it";
  EXPECT_TRUE(Reprioritise(sam_, second, v1::PRIORITY_IMMEDIATE).ok()) << "a supervisor may";
  EXPECT_TRUE(Reprioritise(alice_, first, v1::PRIORITY_ROUTINE).ok()) << "her own claim";
  ASSERT_TRUE(Release(alice_, first, mine->claim().claim_id()).ok());
  ASSERT_TRUE(Release(bob_, second, theirs->claim().claim_id()).ok());
  EXPECT_EQ(ClaimId(alice_), second) << "IMMEDIATE first";
  EXPECT_EQ(Read(first).triage().priority(), v1::PRIORITY_ROUTINE);
}

TEST_F(DeskTest, NotesAreSealedAtRestAndShownInTheHistory) {
  const std::string id = Submit(Standard);
  EXPECT_EQ(Note(alice_, id, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Note(alice_, ReportId::Generate(clock_.Now()).ToString(), "x").status().code(),
            absl::StatusCode::kNotFound);
  auto note = Note(alice_, id, "rang the school: the DSL knows the family");
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_EQ(note->type(), v1::REPORT_EVENT_TYPE_NOTE_ADDED);
  EXPECT_EQ(note->sequence(), 2u);
  std::string raw;
  ASSERT_TRUE(store_->engine()
                  .db()
                  ->Get(rocksdb::ReadOptions(),
                        store_->engine().handle(storage::ColumnFamily::kEvents),
                        storage::EventKey(*ReportId::Parse(id), 2), &raw)
                  .ok());
  EXPECT_EQ(raw.find("the DSL knows"), std::string::npos) << "sealed at rest";

  auto claim = Claim(bob_);
  ASSERT_TRUE(claim.ok());
  EXPECT_EQ(Note(alice_, id, "me too").status().code(), absl::StatusCode::kFailedPrecondition)
      << "bob holds it";
  ASSERT_TRUE(Decide(bob_, id, claim->claim().claim_id()).ok());
  EXPECT_TRUE(Note(alice_, id, "the family moved away").ok()) << "a closed report takes notes";

  auto history = HistoryOf(sam_, id);
  ASSERT_TRUE(history.ok()) << history.status();
  std::vector<v1::ReportEventType> types;
  for (const auto& e : history->events()) types.push_back(e.type());
  EXPECT_THAT(types,
              ElementsAreArray({v1::REPORT_EVENT_TYPE_SUBMITTED, v1::REPORT_EVENT_TYPE_NOTE_ADDED,
                                v1::REPORT_EVENT_TYPE_CLAIMED, v1::REPORT_EVENT_TYPE_DECIDED,
                                v1::REPORT_EVENT_TYPE_NOTE_ADDED}));
  EXPECT_EQ(history->events(1).text(), "rang the school: the DSL knows the family");
  EXPECT_EQ(history->events(4).actor(), "alice");
  EXPECT_EQ(HistoryOf(sam_, ReportId::Generate(clock_.Now()).ToString()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(HistoryOf(sam_, "nope").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DeskTest, QueueSummariesCountPrioritiesClaimsTheOldestWaitAndWhatIsPastDue) {
  const std::string urgent = Submit(Urgent);  // child queue, due 4h
  clock_.Advance(absl::Minutes(10));
  Submit(Standard);
  Submit(Standard);
  Submit(FromParent);
  Submit(Immediate);  // immediate queue, due 1h
  ASSERT_EQ(ClaimId(alice_, "child"), urgent);
  clock_.Advance(absl::Minutes(90));  // the IMMEDIATE report is past due
  Answer<v1::ListQueuesResponse> answer;
  desk_->ListQueues(alice_, answer.Callback());
  absl::StatusOr<v1::ListQueuesResponse> queues = answer.Get();
  ASSERT_TRUE(queues.ok()) << queues.status();
  std::map<std::string, v1::QueueSummary> by_name;
  for (const auto& q : queues->queues()) by_name[q.queue()] = q;
  ASSERT_EQ(by_name.size(), 4u) << "every queue of the policy, empty ones too";
  const v1::QueueSummary& child = by_name["child"];
  EXPECT_EQ(child.depth(), 2u);
  EXPECT_EQ(child.claimed(), 1u);
  EXPECT_EQ(child.by_priority(2).priority(), v1::PRIORITY_STANDARD);
  EXPECT_EQ(child.by_priority(2).depth(), 2u);
  EXPECT_EQ(child.oldest_wait().seconds(), 90 * 60);
  EXPECT_EQ(child.sla_breaches(), 0u);
  EXPECT_EQ(by_name["immediate"].depth(), 1u);
  EXPECT_EQ(by_name["immediate"].sla_breaches(), 1u);
  EXPECT_EQ(by_name["parent-carer"].depth(), 1u);
  EXPECT_EQ(by_name["professional"].depth(), 0u);
}

TEST_F(DeskTest, ListingsAreNewestFirstFilteredPagedAndCarryNoContents) {
  std::vector<std::string> ids;  // oldest first
  for (int i = 0; i < 12; ++i) {
    clock_.Advance(absl::Minutes(1));
    ids.push_back(Submit(i % 3 == 0 ? FromParent : (i % 4 == 0 ? Urgent : Standard)));
  }
  auto claim = Claim(alice_);
  ASSERT_TRUE(claim.ok());
  const std::string claimed = claim->report().id();

  v1::ListReportsRequest all;
  all.set_page_size(5);
  std::vector<std::string> listed;
  for (int page = 0; page < 5; ++page) {
    auto response = List(all);
    ASSERT_TRUE(response.ok()) << response.status();
    for (const v1::Report& r : response->reports()) {
      listed.push_back(r.id());
      EXPECT_TRUE(r.submission().description().empty()) << "no contents in a listing";
      EXPECT_FALSE(r.submission().reporter().has_contact());
      EXPECT_TRUE(r.claim().claim_id().empty());
      if (r.id() == claimed) {
        EXPECT_EQ(r.state(), v1::REPORT_STATE_CLAIMED);
      }
    }
    if (response->next_page_token().empty()) break;
    all.set_page_token(response->next_page_token());
  }
  EXPECT_THAT(listed, ElementsAreArray(std::vector<std::string>(ids.rbegin(), ids.rend())));

  v1::ListReportsRequest parents;
  parents.set_reporter_type(v1::REPORTER_TYPE_PARENT_CARER);
  auto from_parents = List(parents);
  ASSERT_TRUE(from_parents.ok());
  EXPECT_EQ(from_parents->reports_size(), 4);  // i = 0, 3, 6, 9
  v1::ListReportsRequest claimed_only;
  claimed_only.set_state(v1::REPORT_STATE_CLAIMED);
  auto held = List(claimed_only);
  ASSERT_TRUE(held.ok());
  ASSERT_EQ(held->reports_size(), 1);
  EXPECT_EQ(held->reports(0).id(), claimed);
  v1::ListReportsRequest window;
  *window.mutable_received_after() = Read(ids[2]).received_time();
  *window.mutable_received_before() = Read(ids[6]).received_time();
  auto between = List(window);
  ASSERT_TRUE(between.ok());
  EXPECT_THAT(std::vector<std::string>(
                  {between->reports(0).id(), between->reports(1).id(), between->reports(2).id()}),
              ElementsAreArray({ids[5], ids[4], ids[3]}));
  EXPECT_EQ(between->reports_size(), 3) << "both ends exclusive";

  v1::ListReportsRequest bad;
  bad.set_page_token("zz");
  EXPECT_EQ(List(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad.clear_page_token();
  bad.set_page_size(-1);
  EXPECT_EQ(List(bad).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace safeguarding::triage::desk_testing
