#include "tests/fuzz/sample_submissions.h"

#include "tests/support/sample_reports.h"

namespace safeguarding::fuzz {
namespace {

// The tests' valid sample: a 13-year-old child reporting grooming in an online game.
v1::ReportSubmission Child13Grooming() { return testing::ValidSubmission(); }

v1::ReportSubmission ImmediateDanger() {
  v1::ReportSubmission s = Child13Grooming();
  s.set_child_age(9);
  s.set_immediate_danger(true);
  s.set_planned_meeting(true);
  s.set_description("He says he will meet her after school today.");
  return s;
}

v1::ReportSubmission Professional() {
  v1::ReportSubmission s;
  s.mutable_reporter()->set_type(v1::REPORTER_TYPE_PROFESSIONAL);
  s.mutable_reporter()->set_professional_role(v1::PROFESSIONAL_ROLE_TEACHER);
  s.mutable_reporter()->mutable_contact()->set_name("A. Teacher");
  s.mutable_reporter()->mutable_contact()->set_email("safeguarding@school.example.org");
  s.mutable_reporter()->mutable_contact()->set_phone("+44 (0)1234 567890");
  s.add_categories(v1::CONCERN_CATEGORY_SEXUAL_EXTORTION);
  s.add_categories(v1::CONCERN_CATEGORY_GROOMING);
  s.add_channels(v1::CHANNEL_SOCIAL_MEDIA);
  s.add_channels(v1::CHANNEL_MESSAGING);
  s.set_region("Cumbria");
  s.set_description("A pupil told me\nshe is being threatened\twith her photos.");
  return s;
}

v1::ReportSubmission AdultNoAge() {
  v1::ReportSubmission s;
  s.mutable_reporter()->set_type(v1::REPORTER_TYPE_OTHER_ADULT);
  s.add_categories(v1::CONCERN_CATEGORY_OTHER);
  s.set_description("I saw something worrying on a forum. \xE2\x9A\xA0");  // a warning sign
  return s;
}

v1::ReportSubmission ParentYoungChild() {
  v1::ReportSubmission s;
  s.mutable_reporter()->set_type(v1::REPORTER_TYPE_PARENT_CARER);
  s.set_child_age(0);
  s.add_categories(v1::CONCERN_CATEGORY_INDECENT_IMAGES);
  s.set_region("Greater Manchester");
  s.set_description("Pictures of my baby were shared without my consent.");
  return s;
}

}  // namespace

const std::vector<v1::ReportSubmission>& SampleSubmissions() {
  static const auto* samples = new std::vector<v1::ReportSubmission>{
      Child13Grooming(), ImmediateDanger(), Professional(), AdultNoAge(), ParentYoungChild()};
  return *samples;
}

absl::Time FuzzNow() {
  return absl::FromCivil(absl::CivilHour(2026, 12, 7, 12), absl::UTCTimeZone());
}

}  // namespace safeguarding::fuzz
