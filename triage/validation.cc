#include "triage/validation.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"
#include "google/rpc/error_details.pb.h"

namespace safeguarding::triage {

std::string QuotedName(absl::string_view name) {
  constexpr size_t kMaxShown = 64;
  if (name.size() <= kMaxShown) return absl::StrCat("\"", absl::CEscape(name), "\"");
  return absl::StrCat("\"", absl::CEscape(name.substr(0, kMaxShown)), "...\" (", name.size(),
                      " bytes)");
}

bool IsValidTimestamp(const google::protobuf::Timestamp& t) {
  using google::protobuf::util::TimeUtil;
  return t.seconds() >= TimeUtil::kTimestampMinSeconds &&
         t.seconds() <= TimeUtil::kTimestampMaxSeconds && t.nanos() >= 0 && t.nanos() <= 999999999;
}

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    uint8_t c = static_cast<uint8_t>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      uint8_t cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

namespace {

bool HasControlChars(absl::string_view s, bool allow_newlines) {
  return std::any_of(s.begin(), s.end(), [&](char ch) {
    uint8_t c = static_cast<uint8_t>(ch);
    if (allow_newlines && (c == '\n' || c == '\r' || c == '\t')) return false;
    return c < 0x20 || c == 0x7F;
  });
}

bool IsPrintableAscii(absl::string_view s, bool allow_space) {
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return (c > 0x20 && c < 0x7F) || (allow_space && c == ' '); });
}

std::string Path(absl::string_view prefix, absl::string_view field) {
  return prefix.empty() ? std::string(field) : absl::StrCat(prefix, ".", field);
}

// A short free-text field: optional, bounded, valid UTF-8 without control characters.
void CheckShortText(absl::string_view value, size_t max_bytes, const std::string& field,
                    FieldViolations& v) {
  if (value.size() > max_bytes) {
    v.Add(field, absl::StrCat("must be at most ", max_bytes, " bytes (got ", value.size(), ")"));
  } else if (!IsValidUtf8(value)) {
    v.Add(field, "must be valid UTF-8");
  } else if (HasControlChars(value, /*allow_newlines=*/false)) {
    v.Add(field, "must not contain control characters");
  }
}

void CheckContact(const v1::ContactDetails& contact, const std::string& prefix,
                  FieldViolations& v) {
  CheckShortText(contact.name(), kMaxContactNameBytes, Path(prefix, "name"), v);

  const std::string& email = contact.email();
  if (!email.empty()) {
    size_t at = email.find('@');
    if (email.size() > kMaxEmailBytes) {
      v.Add(Path(prefix, "email"), absl::StrCat("must be at most ", kMaxEmailBytes, " bytes"));
    } else if (!IsPrintableAscii(email, /*allow_space=*/false) || at == std::string::npos ||
               at == 0 || at + 1 == email.size() || email.find('@', at + 1) != std::string::npos) {
      v.Add(Path(prefix, "email"), "must be an e-mail address like name@example.org");
    }
  }

  const std::string& phone = contact.phone();
  if (phone.size() > kMaxPhoneBytes) {
    v.Add(Path(prefix, "phone"), absl::StrCat("must be at most ", kMaxPhoneBytes, " bytes"));
  } else if (!std::all_of(phone.begin(), phone.end(),
                          [](char c) {
                            return absl::ascii_isdigit(static_cast<unsigned char>(c)) ||
                                   absl::string_view(" +-()").find(c) != absl::string_view::npos;
                          }) ||
             (!phone.empty() && std::none_of(phone.begin(), phone.end(), [](char c) {
               return absl::ascii_isdigit(static_cast<unsigned char>(c));
             }))) {
    v.Add(Path(prefix, "phone"), "must be digits, spaces and + - ( ) only");
  }
}

// Checks a repeated enum field: count bounds, every value valid, no repeats.
template <typename Enum>
void CheckEnumList(const google::protobuf::RepeatedField<int>& values, bool (*is_valid)(int),
                   size_t min_count, size_t max_count, const std::string& field,
                   FieldViolations& v) {
  if (values.size() < static_cast<int>(min_count)) {
    v.Add(field, absl::StrCat("must have at least ", min_count, " value"));
    return;
  }
  if (values.size() > static_cast<int>(max_count)) {
    v.Add(field, absl::StrCat("must have at most ", max_count, " values"));
    return;
  }
  for (int i = 0; i < values.size(); ++i) {
    std::string element = absl::StrCat(field, "[", i, "]");
    if (values[i] == 0 || !is_valid(values[i])) {
      v.Add(element, "must be a known value, not UNSPECIFIED");
    } else if (std::find(values.begin(), values.begin() + i, values[i]) != values.begin() + i) {
      v.Add(element, "is a repeat of an earlier value");
    }
  }
}

}  // namespace

void FieldViolations::Add(std::string field, std::string description) {
  violations_.emplace_back(std::move(field), std::move(description));
}

absl::Status FieldViolations::ToStatus() const {
  if (violations_.empty()) return absl::OkStatus();
  google::rpc::BadRequest bad_request;
  std::vector<std::string> fields;
  for (const auto& [field, description] : violations_) {
    auto* fv = bad_request.add_field_violations();
    fv->set_field(field);
    fv->set_description(description);
    fields.push_back(field);
  }
  absl::Status status =
      absl::InvalidArgumentError(absl::StrCat("invalid fields: ", absl::StrJoin(fields, ", ")));
  status.SetPayload(kBadRequestTypeUrl, absl::Cord(bad_request.SerializeAsString()));
  return status;
}

void ValidateSubmission(const v1::ReportSubmission& s, absl::string_view prefix,
                        FieldViolations& v) {
  // Reporter.
  const std::string reporter = Path(prefix, "reporter");
  if (!s.has_reporter()) {
    v.Add(reporter, "is required");
  } else {
    const v1::Reporter& r = s.reporter();
    const bool is_professional = r.type() == v1::REPORTER_TYPE_PROFESSIONAL;
    if (r.type() == v1::REPORTER_TYPE_UNSPECIFIED || !v1::ReporterType_IsValid(r.type())) {
      v.Add(Path(reporter, "type"),
            "is required: CHILD, PARENT_CARER, PROFESSIONAL or OTHER_ADULT");
    }
    const std::string role = Path(reporter, "professional_role");
    if (!v1::ProfessionalRole_IsValid(r.professional_role())) {
      v.Add(role, "must be a known value");
    } else if (is_professional && r.professional_role() == v1::PROFESSIONAL_ROLE_UNSPECIFIED) {
      v.Add(role, "is required for a PROFESSIONAL reporter");
    } else if (!is_professional && r.professional_role() != v1::PROFESSIONAL_ROLE_UNSPECIFIED) {
      v.Add(role, "must be unset unless the reporter is a PROFESSIONAL");
    }
    if (r.has_contact()) CheckContact(r.contact(), Path(reporter, "contact"), v);
  }

  if (s.has_child_age() && (s.child_age() < 0 || s.child_age() > kMaxChildAge)) {
    v.Add(Path(prefix, "child_age"),
          absl::StrCat("must be between 0 and ", kMaxChildAge, " (got ", s.child_age(), ")"));
  }

  constexpr size_t kCategoryCount = v1::ConcernCategory_MAX;
  constexpr size_t kChannelCount = v1::Channel_MAX;
  CheckEnumList<v1::ConcernCategory>(s.categories(), &v1::ConcernCategory_IsValid, 1,
                                     kCategoryCount, Path(prefix, "categories"), v);
  CheckEnumList<v1::Channel>(s.channels(), &v1::Channel_IsValid, 0, kChannelCount,
                             Path(prefix, "channels"), v);

  CheckShortText(s.platform(), kMaxPlatformBytes, Path(prefix, "platform"), v);

  const std::string region = Path(prefix, "region");
  if (s.region().size() > kMaxRegionBytes) {
    v.Add(region, absl::StrCat("must be at most ", kMaxRegionBytes, " bytes"));
  } else if (!IsPrintableAscii(s.region(), /*allow_space=*/true)) {
    v.Add(region, "must be printable ASCII");
  }

  const std::string description = Path(prefix, "description");
  const std::string& d = s.description();
  if (absl::StripAsciiWhitespace(d).empty()) {
    v.Add(description, "is required: describe what happened");
  } else if (d.size() > kMaxDescriptionBytes) {
    v.Add(description,
          absl::StrCat("must be at most ", kMaxDescriptionBytes, " bytes (got ", d.size(), ")"));
  } else if (!IsValidUtf8(d)) {
    v.Add(description, "must be valid UTF-8");
  } else if (HasControlChars(d, /*allow_newlines=*/true)) {
    v.Add(description, "must not contain control characters other than newlines and tabs");
  }
}

absl::Status ValidateSubmitReport(const v1::SubmitReportRequest& request) {
  FieldViolations v;
  const std::string& id = request.request_id();
  if (id.empty() || id.size() > kMaxRequestIdBytes) {
    v.Add("request_id", absl::StrCat("is required: 1 to ", kMaxRequestIdBytes,
                                     " printable ASCII characters (a UUID is ideal)"));
  } else if (!IsPrintableAscii(id, /*allow_space=*/false)) {
    v.Add("request_id", "must be printable ASCII without spaces");
  }
  if (!request.has_report()) {
    v.Add("report", "is required");
  } else {
    ValidateSubmission(request.report(), "report", v);
  }
  return v.ToStatus();
}

void ValidateText(absl::string_view field, absl::string_view text, size_t max_bytes, bool required,
                  FieldViolations& violations) {
  if (text.empty()) {
    if (required) violations.Add(std::string(field), "required");
  } else if (text.size() > max_bytes) {
    violations.Add(std::string(field), absl::StrCat("at most ", max_bytes, " bytes"));
  } else if (!IsValidUtf8(text)) {
    violations.Add(std::string(field), "must be valid UTF-8");
  }
}

}  // namespace safeguarding::triage
