#include "tools/triagectl/enum_names.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace safeguarding::tools {
namespace {

// ReporterType -> "REPORTER_TYPE_"
std::string ValuePrefix(const google::protobuf::EnumDescriptor* type) {
  std::string prefix;
  for (char c : type->name()) {
    if (absl::ascii_isupper(static_cast<unsigned char>(c)) && !prefix.empty()) prefix += '_';
    prefix += absl::ascii_toupper(static_cast<unsigned char>(c));
  }
  return prefix + "_";
}

}  // namespace

std::optional<int> ParseEnumFlag(const google::protobuf::EnumDescriptor* type,
                                 absl::string_view text) {
  std::string name = absl::StrCat(ValuePrefix(type),
                                  absl::AsciiStrToUpper(absl::StrReplaceAll(text, {{"-", "_"}})));
  const auto* value = type->FindValueByName(name);
  if (value == nullptr || value->number() == 0) return std::nullopt;
  return value->number();
}

std::string EnumFlagName(const google::protobuf::EnumDescriptor* type, int number) {
  const auto* value = type->FindValueByNumber(number);
  if (value == nullptr) return absl::StrCat(number);
  std::string name = value->name();
  const std::string prefix = ValuePrefix(type);
  if (absl::StartsWith(name, prefix)) name = name.substr(prefix.size());
  return absl::AsciiStrToLower(absl::StrReplaceAll(name, {{"_", "-"}}));
}

std::vector<std::string> EnumFlagNames(const google::protobuf::EnumDescriptor* type) {
  std::vector<std::string> names;
  for (int i = 0; i < type->value_count(); ++i) {
    if (type->value(i)->number() != 0)
      names.push_back(EnumFlagName(type, type->value(i)->number()));
  }
  return names;
}

}  // namespace safeguarding::tools
